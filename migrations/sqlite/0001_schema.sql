-- The whole product's core schema. Timestamps are UTC, stored as RFC 3339 text
-- (always written by the application, never by SQL defaults, so they sort as text).

CREATE TABLE workspaces (
    id          INTEGER PRIMARY KEY,
    slug        TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    created_at  TEXT NOT NULL
);
INSERT INTO workspaces (id, slug, name, created_at)
VALUES (1, 'default', 'Default workspace', '1970-01-01T00:00:00+00:00');

-- A connected account on a platform.
CREATE TABLE channels (
    id             INTEGER PRIMARY KEY,
    workspace_id   INTEGER NOT NULL REFERENCES workspaces(id),
    platform       TEXT NOT NULL,
    platform_id    TEXT NOT NULL,
    handle         TEXT NOT NULL,
    own_author_id  TEXT,
    display_name   TEXT,
    created_at     TEXT NOT NULL,
    UNIQUE (workspace_id, platform, platform_id)
);
CREATE INDEX channels_by_handle ON channels (workspace_id, platform, handle);

-- Videos and posts that comments belong to.
CREATE TABLE videos (
    id            INTEGER PRIMARY KEY,
    workspace_id  INTEGER NOT NULL REFERENCES workspaces(id),
    channel_id    INTEGER NOT NULL REFERENCES channels(id),
    external_id   TEXT NOT NULL,
    title         TEXT,
    url           TEXT,
    published_at  TEXT,
    created_at    TEXT NOT NULL,
    UNIQUE (channel_id, external_id)
);

-- Authors, as each connected account sees them (platform user ids are scoped per account).
CREATE TABLE contacts (
    id            INTEGER PRIMARY KEY,
    workspace_id  INTEGER NOT NULL REFERENCES workspaces(id),
    channel_id    INTEGER NOT NULL REFERENCES channels(id),
    external_id   TEXT NOT NULL,
    username      TEXT,
    display_name  TEXT,
    created_at    TEXT NOT NULL,
    UNIQUE (channel_id, external_id)
);

-- A comment thread (key: the top-level comment's id) or a DM conversation (key: the contact's id).
CREATE TABLE threads (
    id               INTEGER PRIMARY KEY,
    workspace_id     INTEGER NOT NULL REFERENCES workspaces(id),
    channel_id       INTEGER NOT NULL REFERENCES channels(id),
    kind             TEXT NOT NULL CHECK (kind IN ('comment', 'dm')),
    thread_key       TEXT NOT NULL,
    video_id         INTEGER REFERENCES videos(id),
    contact_id       INTEGER REFERENCES contacts(id),
    subject          TEXT NOT NULL DEFAULT '',
    preview          TEXT NOT NULL DEFAULT '',
    status           TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'done')),
    unread           BOOLEAN NOT NULL DEFAULT TRUE,
    message_count    BIGINT NOT NULL DEFAULT 0,
    last_message_at  TEXT NOT NULL,
    last_inbound_at  TEXT,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    UNIQUE (channel_id, kind, thread_key)
);
CREATE INDEX threads_by_activity ON threads (workspace_id, last_message_at DESC, id DESC);
CREATE INDEX threads_by_status ON threads (workspace_id, status, last_message_at DESC, id DESC);
CREATE INDEX threads_by_video ON threads (video_id, last_message_at DESC);

-- Every inbound and outbound message.
CREATE TABLE messages (
    id                  INTEGER PRIMARY KEY,
    workspace_id        INTEGER NOT NULL REFERENCES workspaces(id),
    channel_id          INTEGER NOT NULL REFERENCES channels(id),
    thread_id           INTEGER NOT NULL REFERENCES threads(id),
    kind                TEXT NOT NULL CHECK (kind IN ('comment', 'dm')),
    external_id         TEXT,
    parent_external_id  TEXT,
    video_id            INTEGER REFERENCES videos(id),
    author_id           INTEGER REFERENCES contacts(id),
    author_name         TEXT NOT NULL DEFAULT '',
    direction           TEXT NOT NULL CHECK (direction IN ('inbound', 'outbound')),
    source              TEXT NOT NULL CHECK (source IN ('platform', 'manual', 'rule')),
    rule_id             BIGINT,
    state               TEXT NOT NULL CHECK (state IN ('received', 'queued', 'sending', 'sent', 'failed')),
    error               TEXT,
    text                TEXT NOT NULL,
    created_at          TEXT NOT NULL,
    received_at         TEXT NOT NULL,
    sent_at             TEXT,
    UNIQUE (channel_id, external_id)
);
CREATE INDEX messages_by_thread ON messages (thread_id, created_at);
CREATE INDEX messages_outbox ON messages (state, created_at) WHERE direction = 'outbound';

CREATE VIRTUAL TABLE message_search USING fts5(
    text, author_name,
    content = 'messages', content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2'
);
CREATE TRIGGER message_search_insert AFTER INSERT ON messages BEGIN
    INSERT INTO message_search (rowid, text, author_name) VALUES (new.id, new.text, new.author_name);
END;
CREATE TRIGGER message_search_delete AFTER DELETE ON messages BEGIN
    INSERT INTO message_search (message_search, rowid, text, author_name)
    VALUES ('delete', old.id, old.text, old.author_name);
END;
CREATE TRIGGER message_search_update AFTER UPDATE OF text, author_name ON messages BEGIN
    INSERT INTO message_search (message_search, rowid, text, author_name)
    VALUES ('delete', old.id, old.text, old.author_name);
    INSERT INTO message_search (rowid, text, author_name) VALUES (new.id, new.text, new.author_name);
END;

CREATE TABLE labels (
    id            INTEGER PRIMARY KEY,
    workspace_id  INTEGER NOT NULL REFERENCES workspaces(id),
    name          TEXT NOT NULL,
    color         TEXT,
    created_at    TEXT NOT NULL,
    UNIQUE (workspace_id, name)
);

CREATE TABLE thread_labels (
    thread_id  INTEGER NOT NULL REFERENCES threads(id) ON DELETE CASCADE,
    label_id   INTEGER NOT NULL REFERENCES labels(id) ON DELETE CASCADE,
    PRIMARY KEY (thread_id, label_id)
);
CREATE INDEX thread_labels_by_label ON thread_labels (label_id, thread_id);

CREATE TABLE video_stats (
    id           INTEGER PRIMARY KEY,
    video_id     INTEGER NOT NULL REFERENCES videos(id),
    captured_at  TEXT NOT NULL,
    views        BIGINT NOT NULL,
    likes        BIGINT NOT NULL,
    comments     BIGINT NOT NULL,
    shares       BIGINT NOT NULL,
    saves        BIGINT,
    received_at  TEXT NOT NULL,
    UNIQUE (video_id, captured_at)
);

CREATE TABLE channel_stats (
    id           INTEGER PRIMARY KEY,
    channel_id   INTEGER NOT NULL REFERENCES channels(id),
    captured_at  TEXT NOT NULL,
    followers    BIGINT NOT NULL,
    following    BIGINT,
    likes        BIGINT,
    posts        BIGINT,
    received_at  TEXT NOT NULL,
    UNIQUE (channel_id, captured_at)
);
