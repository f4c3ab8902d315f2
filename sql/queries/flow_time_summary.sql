-- Flow time over the whole window: the same items and definitions as flow_time.sql (finished
-- 'done' in [since, until), start by the {flow_time_start} rule, items without a flow time left
-- out, quantileExactInclusive), but not split by period. Percentiles do not add up across groups,
-- so the figure over all items cannot be derived from per-type or per-period rows: each item is
-- counted twice here, once in the 'all' group and once in its type's group (ARRAY JOIN), and the
-- groups are aggregated in one pass. Period and zone do not apply.
SELECT
    scope,
    if(scope = 'all', '', flow_type) AS group_type,
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
        assumeNotNull(flow_seconds_by_rule) / 86400 AS days
    FROM delivered_items(
        since = {since:DateTime64(3, 'UTC')}, until = {until:DateTime64(3, 'UTC')},
        stream = {stream:String}, team = {team:String}, flow_type = {flow_type:String},
        tz = {tz:String}, period = {period:String}, flow_time_start = {flow_time_start:String})
    WHERE flow_seconds_by_rule IS NOT NULL
)
ARRAY JOIN ['all', 'type'] AS scope
GROUP BY scope, group_type
ORDER BY scope, group_type
