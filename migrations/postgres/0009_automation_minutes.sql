-- The hourly cap's count, kept as it grows: automated actions (auto runs due or done) per
-- channel and minute (minutes since the Unix epoch), in a ring of 64 slots per channel, so a
-- slot is reused an hour after its minute has left the cap's window. Counting the last hour's
-- runs row by row cost every batch a read of up to the cap's number of runs (thousands on a
-- busy channel) while it held its channels' lock; the slots cost at most 64 rows, and only
-- the minute at the window's edge is counted from the runs themselves.
CREATE TABLE automation_minutes (
    channel_id BIGINT NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
    slot       BIGINT NOT NULL,
    minute     BIGINT NOT NULL,
    actions    BIGINT NOT NULL,
    PRIMARY KEY (channel_id, slot)
);

INSERT INTO automation_minutes (channel_id, slot, minute, actions)
SELECT channel_id, minute % 64, minute, COUNT(*) FROM (
    SELECT channel_id, CAST(floor(extract(epoch FROM decided_at) / 60) AS BIGINT) AS minute
    FROM rule_runs
    WHERE mode = 'auto' AND outcome IN ('due', 'done') AND decided_at > now() - interval '62 minutes'
      AND channel_id IN (SELECT id FROM channels)
) recent
GROUP BY channel_id, minute;
