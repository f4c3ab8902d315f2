-- Per state totals on item_flow (see derive/0002_item_flow.sql): the time in state signal reads
-- one row per item instead of grouping every stay by item.
ALTER TABLE item_flow ADD COLUMN IF NOT EXISTS state_names Array(LowCardinality(String));
ALTER TABLE item_flow ADD COLUMN IF NOT EXISTS state_flow_states Array(Enum8('new' = 1, 'active' = 2, 'waiting' = 3, 'done' = 4, 'canceled' = 5));
ALTER TABLE item_flow ADD COLUMN IF NOT EXISTS state_seconds Array(Float64);
ALTER TABLE item_flow ADD COLUMN IF NOT EXISTS state_seconds_all Array(Float64);
ALTER TABLE item_flow ADD COLUMN IF NOT EXISTS state_stays_after_start Array(UInt32);
ALTER TABLE item_flow ADD COLUMN IF NOT EXISTS state_last_left Array(DateTime64(3, 'UTC'));

-- Rows derived before this migration lack the totals: queue every item for a rebuild, in 64
-- units of work so no single derive holds the whole history. The next start (this one, right
-- after migrating) derives them like any unit of work a stopped process left queued.
INSERT INTO refresh_queue (batch_id, item_id)
SELECT concat('schema-0003-', toString(cityHash64(item_id) % 64)) AS batch_id, item_id
FROM (SELECT DISTINCT item_id FROM transitions);

INSERT INTO refresh_batches (batch_id, state)
SELECT DISTINCT batch_id, 'queued' FROM refresh_queue WHERE startsWith(batch_id, 'schema-0003-');
