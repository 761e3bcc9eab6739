-- Channels connected with their credentials (access tokens, business ids): stored as a JSON
-- object, written through the channels API, never shown back in full and never logged.
ALTER TABLE channels ADD COLUMN credentials TEXT NOT NULL DEFAULT '{}';
ALTER TABLE channels ADD COLUMN updated_at TIMESTAMPTZ;
