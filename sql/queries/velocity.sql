-- Flow velocity: items finished with outcome 'done' per period and flow item type.
-- An item lands in the period (in zone {tz}) of its finished_at, which must fall in [since, until).
-- Never-started items count too: they were delivered, they just have no flow time.
SELECT
    toString(period_start) AS period_start,
    flow_type,
    toUInt32(count()) AS items
FROM
(
    SELECT
        flow_type,
        period_start
    FROM delivered_items(
        since = {since:DateTime64(3, 'UTC')}, until = {until:DateTime64(3, 'UTC')},
        stream = {stream:String}, team = {team:String}, flow_type = {flow_type:String},
        tz = {tz:String}, period = {period:String}, flow_time_start = {flow_time_start:String})
)
GROUP BY period_start, flow_type
ORDER BY period_start, flow_type
