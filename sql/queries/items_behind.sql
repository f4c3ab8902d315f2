-- The items behind a figure, for links: {which} = 'slowest' lists the items finished 'done' in
-- [since, until) with the longest flow time; 'oldest' lists the items in WIP now by age. Days use
-- the configured start rule, as the flow time and aging metrics do.
SELECT item_id, key, title, url, flow_type, round(days, 4) AS days
FROM
(
    SELECT item_id, key, title, url, flow_type,
           if({flow_time_start:String} = 'created', flow_seconds_from_created, flow_seconds) / 86400 AS days
    FROM flow_items
    WHERE {which:String} = 'slowest'
      AND outcome = 'done'
      AND finished_at >= {since:DateTime64(3, 'UTC')}
      AND finished_at < {until:DateTime64(3, 'UTC')}
      AND ({stream:String} = '' OR stream = {stream:String})
      AND ({team:String} = '' OR team = {team:String})
      AND ({flow_type:String} = '' OR flow_type = {flow_type:String})
    UNION ALL
    SELECT item_id, key, title, url, flow_type,
           dateDiff('millisecond',
                    if({flow_time_start:String} = 'created', created_at, assumeNotNull(started_at)),
                    now64(3)) / 86400000 AS days
    FROM flow_items
    WHERE {which:String} = 'oldest'
      AND status = 'wip'
      AND ({stream:String} = '' OR stream = {stream:String})
      AND ({team:String} = '' OR team = {team:String})
      AND ({flow_type:String} = '' OR flow_type = {flow_type:String})
)
WHERE days IS NOT NULL
ORDER BY days DESC, item_id
LIMIT {limit:UInt32}
