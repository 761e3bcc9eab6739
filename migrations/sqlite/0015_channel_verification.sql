-- Which account a channel's token answered for, and when: only a channel whose token the
-- platform said is its account's receives webhooks and polls. Channels from before start
-- `pending` when they hold a token (a worker asks the platform), else `unverified`.
ALTER TABLE channels ADD COLUMN verification TEXT NOT NULL DEFAULT 'unverified';
ALTER TABLE channels ADD COLUMN verified_account TEXT;
ALTER TABLE channels ADD COLUMN verified_name TEXT;
ALTER TABLE channels ADD COLUMN verified_via TEXT;
ALTER TABLE channels ADD COLUMN verified_at TEXT;
ALTER TABLE channels ADD COLUMN verification_problem TEXT;
ALTER TABLE channels ADD COLUMN verification_checked_at TEXT;
UPDATE channels SET verification = 'pending'
 WHERE platform <> 'custom' AND credentials LIKE '%"access_token":%';
-- Webhooks ask which workspaces proved an account: by platform and account, verified only.
CREATE INDEX channels_verified ON channels (platform, platform_id) WHERE verification = 'verified';
