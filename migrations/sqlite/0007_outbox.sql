-- The outbox: every action that must reach a platform (a reply, a private reply, a DM, a like,
-- hiding or deleting a comment) is a durable row, written in the transaction that decides it.
-- Dispatchers lease due rows briefly, call the platform with no database lock held, and record
-- the outcome. `in_doubt` is set while a call is in flight: a row found in doubt (a crash or a
-- timeout mid-request) is reconciled against the platform before it is sent again.
CREATE TABLE outbox (
    id                 INTEGER PRIMARY KEY,
    workspace_id       INTEGER NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    channel_id         BIGINT NOT NULL,
    message_id         BIGINT NOT NULL,
    thread_id          BIGINT NOT NULL,
    action             TEXT NOT NULL CHECK (action IN ('reply', 'private_reply', 'dm', 'like', 'hide', 'unhide', 'delete')),
    -- What the platform acts on: the comment answered or moderated, or the person a DM goes to.
    target             TEXT NOT NULL,
    video              TEXT,
    text               TEXT,
    state              TEXT NOT NULL CHECK (state IN ('queued', 'sending', 'sent', 'failed', 'dead', 'cancelled', 'expired')),
    attempts           BIGINT NOT NULL DEFAULT 0,
    next_attempt_at    TEXT NOT NULL,
    lease_until        TEXT,
    in_doubt           BOOLEAN NOT NULL DEFAULT FALSE,
    last_error         TEXT,
    platform_reply_id  TEXT,
    -- When the platform's window for this action closes (DMs 24 h, private replies 7 days).
    expires_at         TEXT,
    created_at         TEXT NOT NULL,
    updated_at         TEXT NOT NULL,
    sent_at            TEXT,
    UNIQUE (message_id, action)
);
CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE state IN ('queued', 'failed');
CREATE INDEX outbox_leases ON outbox (lease_until) WHERE state = 'sending';
CREATE INDEX outbox_by_state ON outbox (workspace_id, state, id);
CREATE INDEX outbox_sent_by_channel ON outbox (channel_id, sent_at) WHERE state = 'sent';

-- Each channel's health as the dispatcher last saw it.
CREATE TABLE channel_health (
    channel_id       INTEGER PRIMARY KEY,
    last_event_at    TEXT,
    last_sent_at     TEXT,
    last_error       TEXT,
    last_error_at    TEXT,
    -- Set when the platform refused the channel's token; cleared when its credentials change.
    token_problem    TEXT
);

-- YouTube's daily quota units spent by the app (channel_id 0: the quota is the API project's,
-- shared by every channel), by the Pacific date it resets on.
CREATE TABLE platform_quota (
    channel_id  BIGINT NOT NULL,
    day         TEXT NOT NULL,
    units       BIGINT NOT NULL,
    PRIMARY KEY (channel_id, day)
);

-- Where each platform poll stopped (YouTube's comment threads, TikTok's comment lists),
-- so that a restart resumes there.
CREATE TABLE poll_cursors (
    channel_id  BIGINT NOT NULL,
    scope       TEXT NOT NULL,
    page_token  TEXT,
    high_water  TEXT,
    sweep_top   TEXT,
    polled_at   TEXT,
    PRIMARY KEY (channel_id, scope)
);

-- Replies queued before the outbox existed get their rows.
INSERT INTO outbox (workspace_id, channel_id, message_id, thread_id, action, target, video, text,
                    state, next_attempt_at, created_at, updated_at)
SELECT m.workspace_id, m.channel_id, m.id, m.thread_id,
       CASE WHEN m.kind = 'comment' THEN 'reply' WHEN t.kind = 'comment' THEN 'private_reply' ELSE 'dm' END,
       CASE WHEN t.kind = 'dm' AND m.kind = 'dm' THEN COALESCE(c.external_id, t.thread_key) ELSE COALESCE(m.parent_external_id, '') END,
       v.external_id, m.text, 'queued', m.created_at, m.created_at, m.created_at
FROM messages m
JOIN threads t ON t.id = m.thread_id
LEFT JOIN contacts c ON c.id = t.contact_id
LEFT JOIN videos v ON v.id = t.video_id
JOIN channels ch ON ch.id = m.channel_id
WHERE m.direction = 'outbound' AND m.state IN ('queued', 'sending') AND ch.platform <> 'custom';
