-- The items behind a figure, for links: {which} = 'slowest' lists the items finished 'done' in
-- [since, until) with the longest flow time; 'oldest' lists the items in WIP now by age. Days use
-- the configured start rule, as the flow time and aging metrics do. The items in WIP come from
-- open_wip (schema/0009), as aging's do, so 'oldest' reads the items in progress, not every item.
SELECT item_id, key, title, url, flow_type, round(days, 4) AS days
FROM
(
    SELECT item_id, key, title, url, flow_type, flow_seconds_by_rule / 86400 AS days
    FROM delivered_items(
        since = {since:DateTime64(3, 'UTC')}, until = {until:DateTime64(3, 'UTC')},
        stream = {stream:String}, team = {team:String}, flow_type = {flow_type:String},
        tz = {tz:String}, period = {period:String}, flow_time_start = {flow_time_start:String})
    WHERE {which:String} = 'slowest'
    UNION ALL
    SELECT item_id, key, title, url, flow_type,
           dateDiff('millisecond',
                    if({flow_time_start:String} = 'created', created_at, assumeNotNull(started_at)),
                    now64(3)) / 86400000 AS days
    FROM open_wip FINAL
    WHERE {which:String} = 'oldest'
      AND ({stream:String} = '' OR stream = {stream:String})
      AND ({team:String} = '' OR team = {team:String})
      AND ({flow_type:String} = '' OR flow_type = {flow_type:String})
)
WHERE days IS NOT NULL
ORDER BY days DESC, item_id
LIMIT {limit:UInt32}
