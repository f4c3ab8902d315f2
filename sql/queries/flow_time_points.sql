-- Flow time scatterplot: one point per item finished 'done' in [since, until) with a flow time
-- under the {flow_time_start} rule, the same items as flow_time.sql and flow_time_summary.sql
-- (delivered_items). Newest first, at most {limit}: a browser draws a few thousand points
-- comfortably, and the percentile lines come from flow_time_summary.sql over all the items.
SELECT
    item_id,
    key,
    title,
    url,
    flow_type,
    team,
    toString(finished_at) AS finished_at,
    round(assumeNotNull(flow_seconds_by_rule) / 86400, 4) AS days
FROM delivered_items(
    since = {since:DateTime64(3, 'UTC')}, until = {until:DateTime64(3, 'UTC')},
    stream = {stream:String}, team = {team:String}, flow_type = {flow_type:String},
    tz = {tz:String}, period = {period:String}, flow_time_start = {flow_time_start:String})
WHERE flow_seconds_by_rule IS NOT NULL
ORDER BY finished_at DESC, item_id
LIMIT {limit:UInt32}
