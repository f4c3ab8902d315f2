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
        toDate(assumeNotNull(finished_at), {tz:String}) AS local_day,
        multiIf({period:String} = 'day', local_day,
                {period:String} = 'month', toStartOfMonth(local_day),
                toMonday(local_day)) AS period_start,
        active_seconds AS active,
        if({flow_time_start:String} = 'created', flow_seconds_from_created, flow_seconds) AS flow
    FROM flow_items
    WHERE outcome = 'done'
      AND finished_at >= {since:DateTime64(3, 'UTC')}
      AND finished_at < {until:DateTime64(3, 'UTC')}
      AND ({stream:String} = '' OR stream = {stream:String})
      AND ({team:String} = '' OR team = {team:String})
      AND ({flow_type:String} = '' OR flow_type = {flow_type:String})
)
WHERE flow > 0
GROUP BY period_start, flow_type
ORDER BY period_start, flow_type
