-- Rules act. Each decision (a rule fired for a message) is a durable row written in the
-- transaction that stores the message; automated replies are messages with the new states
-- `suggested` (waiting for a person), `dry_run` (recorded, never sent) and `rejected`.

ALTER TABLE workspaces ADD COLUMN automation_paused BOOLEAN NOT NULL DEFAULT FALSE;
-- Bumped by every change of the workspace's rules: each instance recompiles on a change.
ALTER TABLE workspaces ADD COLUMN rules_version BIGINT NOT NULL DEFAULT 0;
-- The workspace's local time (greetings by time of day), an IANA name.
ALTER TABLE workspaces ADD COLUMN time_zone TEXT NOT NULL DEFAULT 'UTC';
-- Why a rule was switched off by unibox itself (a platform's spam warning), for the page.
ALTER TABLE rules ADD COLUMN paused_reason TEXT;

CREATE TABLE rule_runs (
    id            INTEGER PRIMARY KEY,
    workspace_id  INTEGER NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    rule_id       BIGINT NOT NULL,
    message_id    BIGINT NOT NULL,
    thread_id     BIGINT NOT NULL,
    channel_id    BIGINT NOT NULL,
    author_id     BIGINT,
    video_id      BIGINT,
    mode          TEXT NOT NULL CHECK (mode IN ('auto', 'suggest', 'dry_run')),
    outcome       TEXT NOT NULL CHECK (outcome IN ('due', 'suggested', 'dry_run', 'done', 'approved', 'rejected', 'suppressed', 'skipped')),
    reason        TEXT,
    actions       TEXT NOT NULL DEFAULT '[]', -- what it does, replies rendered
    reply_text    TEXT,
    due_at        TEXT NOT NULL,
    decided_at    TEXT NOT NULL,
    acted_at      TEXT,
    UNIQUE (message_id, rule_id)
);
CREATE INDEX rule_runs_due ON rule_runs (due_at) WHERE outcome = 'due';
CREATE INDEX rule_runs_by_rule_author ON rule_runs (rule_id, author_id, decided_at);
-- The hourly cap counts automated actions that are due or done on a channel.
CREATE INDEX rule_runs_hourly ON rule_runs (channel_id, decided_at) WHERE mode = 'auto' AND outcome IN ('due', 'done');
CREATE INDEX rule_runs_by_author ON rule_runs (author_id, id);
CREATE INDEX rule_runs_by_video ON rule_runs (video_id, id);

-- SQLite cannot change a CHECK constraint: the messages table is rebuilt with its ids, so
-- the search index (keyed by message id) stays true.
DROP TRIGGER message_search_insert;
DROP TRIGGER message_search_delete;
DROP TRIGGER message_search_update;
CREATE TABLE messages_new (
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
    state               TEXT NOT NULL CHECK (state IN ('received', 'queued', 'sending', 'sent', 'failed', 'suggested', 'dry_run', 'rejected')),
    error               TEXT,
    text                TEXT NOT NULL,
    created_at          TEXT NOT NULL,
    received_at         TEXT NOT NULL,
    sent_at             TEXT,
    rule_run_id         BIGINT,
    rule_variant        INTEGER,
    UNIQUE (channel_id, external_id)
);
INSERT INTO messages_new (id, workspace_id, channel_id, thread_id, kind, external_id,
    parent_external_id, video_id, author_id, author_name, direction, source, rule_id, state,
    error, text, created_at, received_at, sent_at)
SELECT id, workspace_id, channel_id, thread_id, kind, external_id, parent_external_id,
    video_id, author_id, author_name, direction, source, rule_id, state, error, text,
    created_at, received_at, sent_at FROM messages;
DROP TABLE messages;
ALTER TABLE messages_new RENAME TO messages;
CREATE INDEX messages_by_thread ON messages (thread_id, created_at);
CREATE INDEX messages_outbox ON messages (state, created_at) WHERE direction = 'outbound';
CREATE INDEX messages_suggested ON messages (workspace_id, id) WHERE state = 'suggested';
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
