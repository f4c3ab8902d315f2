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
        toDate(assumeNotNull(finished_at), {tz:String}) AS local_day,
        multiIf({period:String} = 'day', local_day,
                {period:String} = 'month', toStartOfMonth(local_day),
                toMonday(local_day)) AS period_start,
        if({flow_time_start:String} = 'created', flow_seconds_from_created, flow_seconds) / 86400 AS days
    FROM flow_items
    WHERE outcome = 'done'
      AND finished_at >= {since:DateTime64(3, 'UTC')}
      AND finished_at < {until:DateTime64(3, 'UTC')}
      AND ({stream:String} = '' OR stream = {stream:String})
      AND ({team:String} = '' OR team = {team:String})
      AND ({flow_type:String} = '' OR flow_type = {flow_type:String})
)
WHERE days IS NOT NULL
GROUP BY period_start, flow_type
ORDER BY period_start, flow_type
