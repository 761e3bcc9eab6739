-- Foreign keys that guard nothing: PostgreSQL checks each one for every inserted row (a query
-- and a row lock on the referenced row), and at a million messages the checks were the
-- largest cost of ingest. Workspaces are never deleted, so a workspace id cannot dangle, and
-- what scopes a row to its workspace is the code that writes it, which no foreign key checks.
-- A message's channel is its thread's: the message's key to its thread (kept) and the
-- thread's to its channel (kept) already stop a channel with messages from being removed.
-- Bulk ingest measured 9,779 and 10,101 messages/s with them, 10,903 and 11,222 without
-- (400,000 messages, `cargo bench --bench load`).
ALTER TABLE messages DROP CONSTRAINT messages_workspace_id_fkey;
ALTER TABLE messages DROP CONSTRAINT messages_channel_id_fkey;
ALTER TABLE threads DROP CONSTRAINT threads_workspace_id_fkey;
ALTER TABLE contacts DROP CONSTRAINT contacts_workspace_id_fkey;
ALTER TABLE videos DROP CONSTRAINT videos_workspace_id_fkey;
