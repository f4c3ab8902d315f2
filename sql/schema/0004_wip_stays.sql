-- Active and waiting stays on item_flow (see derive/0002_item_flow.sql): flow load and growing
-- queues read them from one row per item instead of reading state_intervals with FINAL. In a live
-- store each derive leaves a small part spread over the whole key range, and FINAL over ten stays
-- per item then merges nearly every granule (measured at 10M transitions: ~570 ms against ~180 ms
-- from these arrays).
ALTER TABLE item_flow ADD COLUMN IF NOT EXISTS wip_stay_states Array(LowCardinality(String));
ALTER TABLE item_flow ADD COLUMN IF NOT EXISTS wip_stay_entered_at Array(DateTime64(3, 'UTC'));
ALTER TABLE item_flow ADD COLUMN IF NOT EXISTS wip_stay_left_at Array(Nullable(DateTime64(3, 'UTC')));

-- Rows derived before this migration lack the stays: queue every item for a rebuild, as 0003 does.
INSERT INTO refresh_queue (batch_id, item_id)
SELECT concat('schema-0004-', toString(cityHash64(item_id) % 64)) AS batch_id, item_id
FROM (SELECT DISTINCT item_id FROM transitions);

INSERT INTO refresh_batches (batch_id, state)
SELECT DISTINCT batch_id, 'queued' FROM refresh_queue WHERE startsWith(batch_id, 'schema-0004-');
