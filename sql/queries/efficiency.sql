-- Flow efficiency: sum(active time) / sum(flow time) over the items finished 'done' in
-- [since, until), per period of finished_at (zone {tz}) and flow item type. A ratio of sums
-- weighs each item by its flow time, so a one-hour item that was all active cannot outweigh a
-- month-long item that mostly waited (a mean of ratios would). Items with no or zero flow time
-- are left out (their ratio is undefined).
SELECT
    toString(period_start) AS period_start,
    flow_type,
    toUInt32(count()) AS items,
    round(sum(active) / sum(flow), 4) AS efficiency,
    round(sum(active) / 86400, 4) AS active_days,
    round((sum(flow) - sum(active)) / 86400, 4) AS wait_days
FROM
(
    SELECT
        flow_type,
        period_start,
        active_seconds AS active,
        flow_seconds_by_rule AS flow
    FROM delivered_items(
        since = {since:DateTime64(3, 'UTC')}, until = {until:DateTime64(3, 'UTC')},
        stream = {stream:String}, team = {team:String}, flow_type = {flow_type:String},
        tz = {tz:String}, period = {period:String}, flow_time_start = {flow_time_start:String})
)
WHERE flow > 0
GROUP BY period_start, flow_type
ORDER BY period_start, flow_type
