-- New messages go straight into the search index instead of through its pending list (0008).
-- The list was merged into the index by whichever insert found it full: at 500 replies a
-- second such an insert (a reply's, holding its channel's lock) took up to 16 ms, and the
-- writers queued behind it. Replies benchmark, three runs each way: inserts of messages over
-- 4 ms 2-4 a run with the list, 0-2 (at most 7 ms) without; waits for a channel's lock over
-- 4 ms 4-11 a run (21-136 ms in all) against 1-8 (9-90 ms); the database's CPU per comment
-- the same. Searches no longer read a list at all. Bulk ingest pays about a tenth (200,000
-- messages: 9,127 and 9,533 messages/s with the list, 8,210 and 8,412 without).
ALTER INDEX messages_search SET (fastupdate = off);
-- What the list still holds moves into the index now, not at the next vacuum.
SELECT gin_clean_pending_list('messages_search'::regclass);
