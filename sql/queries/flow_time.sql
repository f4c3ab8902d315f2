-- Flow time: days from the start (first move into active/waiting, or creation under the
-- 'created' rule) to the finish, for items finished 'done' in [since, until), per period of
-- finished_at (zone {tz}) and flow item type. Percentiles are quantileExactInclusive: linear
-- interpolation between the two nearest ranks at position (n - 1) * p, as Excel PERCENTILE.INC.
-- Items without a flow time (never started, first_active rule) are not counted here.
SELECT
    toString(period_start) AS period_start,
    flow_type,
    toUInt32(count()) AS items,
    quantilesExactInclusive(0.5, 0.85, 0.95)(days) AS q,
    round(q[1], 4) AS p50_days,
    round(q[2], 4) AS p85_days,
    round(q[3], 4) AS p95_days,
    round(avg(days), 4) AS mean_days
FROM
(
    SELECT
        flow_type,
        period_start,
        flow_seconds_by_rule / 86400 AS days
    FROM delivered_items(
        since = {since:DateTime64(3, 'UTC')}, until = {until:DateTime64(3, 'UTC')},
        stream = {stream:String}, team = {team:String}, flow_type = {flow_type:String},
        tz = {tz:String}, period = {period:String}, flow_time_start = {flow_time_start:String})
)
WHERE days IS NOT NULL
GROUP BY period_start, flow_type
ORDER BY period_start, flow_type
