-- An author's inbound messages by id, for rules with a "first message" condition: each batch
-- asks for the first inbound message of each of its authors (`automation::decide`), which with
-- no index on the author read every message of the table, once per batch.
CREATE INDEX messages_by_author ON messages (author_id, id) WHERE direction = 'inbound';
