-- Daily throughput for forecasts (metrics/forecast-query.ts), in one pass over item_flow: items
-- finished 'done' per local day (zone {tz}) of finished_at in [since, until), the items
-- delivered_items (and so velocity) counts, plus the first day of any recorded activity in the
-- scope. Days before that are unknown, not days on which nothing was finished, so the forecast
-- does not sample them. One row always; days without deliveries are absent and filled with
-- zeros by the caller. (Reading delivered_items and a separate scan for the first day measured
-- twice as slow: two passes over item_flow FINAL.)
SELECT
    toString(minOrNull(first_day)) AS first_day,
    groupArrayIf(toString(day), day IS NOT NULL) AS days,
    groupArrayIf(items, day IS NOT NULL) AS items
FROM
(
    SELECT
        day,
        toUInt32(count()) AS items,
        min(created_day) AS first_day
    FROM
    (
        SELECT
            toDate32(created_at, {tz:String}) AS created_day,
            if(outcome = 'done'
                   AND finished_at >= {since:DateTime64(3, 'UTC')}
                   AND finished_at < {until:DateTime64(3, 'UTC')},
               toDate32(assumeNotNull(finished_at), {tz:String}), NULL) AS day
        FROM item_flow FINAL
        WHERE deleted = 0
          AND ({stream:String} = '' OR stream = {stream:String})
          AND ({team:String} = '' OR team = {team:String})
          AND ({flow_type:String} = '' OR flow_type = {flow_type:String})
    )
    GROUP BY day
)
