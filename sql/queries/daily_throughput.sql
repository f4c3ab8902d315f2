-- Daily throughput for forecasts (metrics/forecast-query.ts): items finished 'done' per local day
-- (zone {tz}) of finished_at in [since, until), the same items velocity counts (delivered_items),
-- plus the first day of any recorded activity in the scope. Days before that are unknown, not
-- days on which nothing was finished, so the forecast does not sample them. One row always;
-- days without deliveries are absent here and filled with zeros by the caller.
WITH (
    SELECT minOrNull(toDate32(created_at, {tz:String}))
    FROM item_flow FINAL
    WHERE deleted = 0
      AND ({stream:String} = '' OR stream = {stream:String})
      AND ({team:String} = '' OR team = {team:String})
      AND ({flow_type:String} = '' OR flow_type = {flow_type:String})
) AS first_activity
SELECT
    toString(first_activity) AS first_day,
    groupArray(toString(local_day)) AS days,
    groupArray(items) AS items
FROM
(
    SELECT
        local_day,
        toUInt32(count()) AS items
    FROM delivered_items(
        since = {since:DateTime64(3, 'UTC')}, until = {until:DateTime64(3, 'UTC')},
        stream = {stream:String}, team = {team:String}, flow_type = {flow_type:String},
        tz = {tz:String}, period = 'day', flow_time_start = 'first_active')
    GROUP BY local_day
)
