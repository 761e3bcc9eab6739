-- New messages reach the search index through its pending list (GIN's fast update), and
-- every search reads that whole list: at its default of 4 MB a search at a million messages
-- spent 12-14 ms there. A list of 512 kB costs a search about a millisecond and is still
-- merged into the index in batches.
ALTER INDEX messages_search SET (gin_pending_list_limit = 512);
