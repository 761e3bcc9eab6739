-- When the platform was last asked for the name of a contact it named only by id (a DM's
-- sender): asked again a week later if it gave no name, never once it gave one.
ALTER TABLE contacts ADD COLUMN profile_asked_at TEXT;
-- The contacts still without a name, per channel, newest first.
CREATE INDEX contacts_unnamed ON contacts (channel_id, id)
    WHERE username IS NULL AND display_name IS NULL;
