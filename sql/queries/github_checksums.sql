-- Row counts and content checksums of one GitHub API's rows ({prefix} = 'github:<api-host>:'), with
-- the host (in item and event ids) and the ingestion bookkeeping (version, ingested_at) left out,
-- so two syncs of the same data compare equal even from two servers. Proves syncs idempotent.
SELECT * FROM
(
SELECT 'work_items' AS table_name, count() AS rows,
       toString(sum(cityHash64(replaceOne(item_id, {prefix:String}, ''), key, title, url, flow_type, team, labels, created_at, source_type, deleted, stream))) AS checksum
FROM work_items FINAL WHERE startsWith(item_id, {prefix:String})
UNION ALL
SELECT 'transitions', count(),
       toString(sum(cityHash64(replaceOne(item_id, {prefix:String}, ''), replaceOne(event_id, {prefix:String}, ''), from_state, to_state, toString(to_flow_state), at)))
FROM transitions FINAL WHERE startsWith(item_id, {prefix:String})
UNION ALL
SELECT 'state_intervals', count(),
       toString(sum(cityHash64(replaceOne(item_id, {prefix:String}, ''), replaceOne(event_id, {prefix:String}, ''), seq, state, toString(flow_state), prev_flow_state, after_start, final_terminal, entered_at, left_at, team, flow_type, deleted)))
FROM state_intervals FINAL WHERE startsWith(item_id, {prefix:String})
UNION ALL
SELECT 'item_flow', count(),
       toString(sum(cityHash64(replaceOne(item_id, {prefix:String}, ''), key, url, started_at, finished_at, toString(outcome), current_state, active_seconds, wait_seconds, pre_start_seconds, reopen_count, transition_count, deleted)))
FROM item_flow FINAL WHERE startsWith(item_id, {prefix:String})
UNION ALL
SELECT 'raw_items', count(), toString(sum(cityHash64(replaceOne(key, {prefix:String}, ''), JSONExtractRaw(payload, 'issue'))))
FROM raw_payloads FINAL WHERE source = 'github' AND kind = 'item' AND startsWith(key, {prefix:String})
)
ORDER BY table_name
