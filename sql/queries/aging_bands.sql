-- Aging WIP chart's bands: the 50th, 70th, 85th and 95th percentiles (quantileExactInclusive) of
-- the flow time of items finished 'done' in the last {baseline_days} days, the baseline aging.sql
-- takes its threshold from (same start rule, same filters), over all types (flow_type '') and
-- per type. An item above its type's {percentile} band is what aging.sql lists.
SELECT
    if(scope = 'all', '', flow_type) AS group_type,
    toUInt32(count()) AS items,
    quantilesExactInclusive(0.5, 0.7, 0.85, 0.95)(days) AS q,
    round(q[1], 4) AS p50_days,
    round(q[2], 4) AS p70_days,
    round(q[3], 4) AS p85_days,
    round(q[4], 4) AS p95_days
FROM
(
    SELECT
        flow_type,
        assumeNotNull(if({flow_time_start:String} = 'created', flow_seconds_from_created, flow_seconds)) / 86400 AS days
    FROM flow_items
    WHERE outcome = 'done'
      AND finished_at >= now64(3) - toIntervalDay({baseline_days:UInt32})
      AND if({flow_time_start:String} = 'created', flow_seconds_from_created, flow_seconds) IS NOT NULL
      AND ({stream:String} = '' OR stream = {stream:String})
      AND ({team:String} = '' OR team = {team:String})
      AND ({flow_type:String} = '' OR flow_type = {flow_type:String})
)
ARRAY JOIN ['all', 'type'] AS scope
GROUP BY scope, group_type
ORDER BY group_type
