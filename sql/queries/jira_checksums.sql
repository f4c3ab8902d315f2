-- Row counts and content checksums of one Jira site's rows ({prefix} = 'jira:<site-host>:'),
-- with the site (item id prefix, URL host) and the ingestion bookkeeping (version, ingested_at) left out, so two
-- syncs of the same data compare equal even across sites. Used to prove syncs are idempotent.
SELECT * FROM
(
SELECT 'work_items' AS table_name, count() AS rows,
       toString(sum(cityHash64(replaceOne(item_id, {prefix:String}, ''), key, title, replaceRegexpOne(url, '^https?://[^/]+', ''), flow_type, team, labels, created_at, source_type, deleted, stream))) AS checksum
FROM work_items FINAL WHERE startsWith(item_id, {prefix:String})
UNION ALL
SELECT 'transitions', count(),
       toString(sum(cityHash64(replaceOne(item_id, {prefix:String}, ''), event_id, from_state, to_state, toString(to_flow_state), at)))
FROM transitions FINAL WHERE startsWith(item_id, {prefix:String})
UNION ALL
SELECT 'state_intervals', count(),
       toString(sum(cityHash64(replaceOne(item_id, {prefix:String}, ''), event_id, seq, state, toString(flow_state), prev_flow_state, after_start, final_terminal, entered_at, left_at, team, flow_type, deleted)))
FROM state_intervals FINAL WHERE startsWith(item_id, {prefix:String})
UNION ALL
SELECT 'item_flow', count(),
       toString(sum(cityHash64(replaceOne(item_id, {prefix:String}, ''), key, replaceRegexpOne(url, '^https?://[^/]+', ''), started_at, finished_at, toString(outcome), current_state, active_seconds, wait_seconds, pre_start_seconds, reopen_count, transition_count, deleted)))
FROM item_flow FINAL WHERE startsWith(item_id, {prefix:String})
)
ORDER BY table_name
