-- Reply rules. `definition` holds the rule as the API shows it (scope, conditions, actions,
-- mode, delay, safeguards), checked before it is written.
CREATE TABLE rules (
    id            INTEGER PRIMARY KEY,
    workspace_id  INTEGER NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    enabled       BOOLEAN NOT NULL,
    position      INTEGER NOT NULL,
    definition    TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);
CREATE INDEX rules_by_position ON rules (workspace_id, position, id);

-- API tokens may now manage a workspace's settings (rules): scope `admin`. SQLite cannot
-- change a CHECK constraint, so the table is rebuilt (nothing refers to it).
CREATE TABLE api_tokens_new (
    id            INTEGER PRIMARY KEY,
    workspace_id  INTEGER NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    scope         TEXT NOT NULL CHECK (scope IN ('read', 'write', 'admin')),
    token_hash    TEXT NOT NULL UNIQUE,
    prefix        TEXT NOT NULL,
    created_by    INTEGER REFERENCES users(id) ON DELETE SET NULL,
    created_at    TEXT NOT NULL,
    last_used_at  TEXT,
    revoked_at    TEXT
);
INSERT INTO api_tokens_new SELECT id, workspace_id, name, scope, token_hash, prefix, created_by,
    created_at, last_used_at, revoked_at FROM api_tokens;
DROP TABLE api_tokens;
ALTER TABLE api_tokens_new RENAME TO api_tokens;
CREATE INDEX api_tokens_by_workspace ON api_tokens (workspace_id, id);
