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
        toDate(assumeNotNull(finished_at), {tz:String}) AS local_day,
        multiIf({period:String} = 'day', local_day,
                {period:String} = 'month', toStartOfMonth(local_day),
                toMonday(local_day)) AS period_start
    FROM flow_items
    WHERE outcome = 'done'
      AND finished_at >= {since:DateTime64(3, 'UTC')}
      AND finished_at < {until:DateTime64(3, 'UTC')}
      AND ({stream:String} = '' OR stream = {stream:String})
      AND ({team:String} = '' OR team = {team:String})
      AND ({flow_type:String} = '' OR flow_type = {flow_type:String})
)
GROUP BY period_start, flow_type
ORDER BY period_start, flow_type
