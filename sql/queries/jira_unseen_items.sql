-- Live Jira items of one site that a full sync started at {since} (a sink version, microseconds)
-- did not write again: deleted at the source or moved out of the synced projects/JQL.
SELECT item_id, source, stream, key, title, url, flow_type, team, labels,
       toUnixTimestamp64Milli(created_at) AS created_ms, source_type
FROM work_items FINAL
WHERE source = 'jira' AND startsWith(item_id, {prefix:String}) AND deleted = 0 AND version < {since:UInt64}
ORDER BY item_id
