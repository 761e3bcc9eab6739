-- Foreign keys that the channel's key already keeps (the reasoning of 0010, one step further).
-- Contacts and videos are deleted only with their channel, and a channel only when it holds no
-- message (`connectors::channels::remove`): its threads go with it, and a thread that a batch
-- is writing meanwhile holds the channel through its own key (kept), as each message holds its
-- thread (kept). So a thread's contact and video, and a message's author and video, all of the
-- same channel, cannot dangle. Each of these keys cost every inserted message and thread (and
-- a thread grown in the transaction that inserted it, again) a query and a row lock: six of
-- the twelve checks a rule's answered comment made. Bulk ingest of 200,000 messages (`cargo
-- bench --bench load`, two rounds in turns): 7,627 and 7,573 messages/s without them, 6,599 and
-- 6,116 with. The reply benchmark's PostgreSQL CPU per comment could not be told apart.
ALTER TABLE messages DROP CONSTRAINT messages_video_id_fkey;
ALTER TABLE messages DROP CONSTRAINT messages_author_id_fkey;
ALTER TABLE threads DROP CONSTRAINT threads_video_id_fkey;
ALTER TABLE threads DROP CONSTRAINT threads_contact_id_fkey;
