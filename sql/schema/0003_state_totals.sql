-- Per item and state totals on state_intervals (see derive/0001_state_intervals.sql): the time
-- in state signal reads them instead of grouping stays by item.
ALTER TABLE state_intervals ADD COLUMN IF NOT EXISTS state_seconds Float64 DEFAULT 0;
ALTER TABLE state_intervals ADD COLUMN IF NOT EXISTS state_seconds_all Float64 DEFAULT 0;
ALTER TABLE state_intervals ADD COLUMN IF NOT EXISTS last_in_state UInt8 DEFAULT 0;

-- Rows derived before this migration lack the totals: queue every item for a rebuild, in 64
-- units of work so no single derive holds the whole history. The next start (this one, right
-- after migrating) derives them like any unit of work a stopped process left queued.
INSERT INTO refresh_queue (batch_id, item_id)
SELECT concat('schema-0003-', toString(cityHash64(item_id) % 64)) AS batch_id, item_id
FROM (SELECT DISTINCT item_id FROM transitions);

INSERT INTO refresh_batches (batch_id, state)
SELECT DISTINCT batch_id, 'queued' FROM refresh_queue WHERE startsWith(batch_id, 'schema-0003-');
