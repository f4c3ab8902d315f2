-- Dashboard overview: velocity, flow time and flow efficiency of two windows in one pass, over
-- all types and per type, for each whole window and per period of the current one. The items are
-- those delivered_items gives for [previous_since, until): outcome 'done', finished in the window
-- (the current one from {since}), the filters and the start rule applied, as velocity.sql,
-- flow_time.sql, flow_time_summary.sql and efficiency.sql read them:
--   items            velocity: every delivered item, started or not
--   flow_items, p50_days, p85_days: flow time over the items that have one (quantileExactInclusive)
--   efficiency       sum(active) / sum(flow time) over the items whose flow time is above 0
-- Four grouping sets aggregate each item into its type and into all types ('' ), for the whole
-- window and for its period (period_start '' for the whole window); the previous window's per
-- period groups are dropped. Percentiles do not add up, so every group is aggregated from its
-- items. Grouping sets read each item once; copying every item four times (ARRAY JOIN) first and
-- grouping the copies cost about a third more CPU (measured at 1M items, alternating runs).
SELECT
    window,
    if(grouping(flow_type) = 1, '', flow_type) AS group_type,
    if(grouping(period_start) = 1, '', toString(period_start)) AS group_period,
    toUInt32(count()) AS items,
    toUInt32(count(days)) AS flow_items,
    quantilesExactInclusive(0.5, 0.85)(days) AS q,
    if(flow_items = 0, NULL, round(q[1], 4)) AS p50_days,
    if(flow_items = 0, NULL, round(q[2], 4)) AS p85_days,
    if(sumIf(flow, flow > 0) > 0, round(sumIf(active, flow > 0) / sumIf(flow, flow > 0), 4), NULL) AS efficiency
FROM
(
    SELECT
        if(finished_at >= {since:DateTime64(3, 'UTC')}, 'current', 'previous') AS window,
        flow_type,
        period_start,
        flow_seconds_by_rule / 86400 AS days,
        active_seconds AS active,
        flow_seconds_by_rule AS flow
    FROM delivered_items(
        since = {previous_since:DateTime64(3, 'UTC')}, until = {until:DateTime64(3, 'UTC')},
        stream = {stream:String}, team = {team:String}, flow_type = {flow_type:String},
        tz = {tz:String}, period = {period:String}, flow_time_start = {flow_time_start:String})
)
-- grouping(x) is 1 when x is not among the set's keys (the SQL standard's reading, ClickHouse's
-- default since 22.9: force_grouping_standard_compatibility).
GROUP BY GROUPING SETS ((window, flow_type), (window), (window, flow_type, period_start), (window, period_start))
HAVING window = 'current' OR grouping(period_start) = 1
ORDER BY window, group_type, group_period
