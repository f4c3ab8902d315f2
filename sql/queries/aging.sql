-- Bottlenecks, aging WIP: items in WIP now (open, in an active or waiting state) whose age
-- exceeds the {percentile} (quantileExactInclusive) of the flow time of their type's items
-- finished 'done' in the last {baseline_days} days. Age and flow time use the same start rule.
-- Types with no finished item in the baseline have no threshold, so their items are not listed.
-- The stream/team filters apply to both the WIP and the baseline. Listed most overdue first
-- (age / threshold), at most {limit} items. The items in WIP come from open_wip (schema/0009),
-- the baseline from flow_items through item_flow's finished_window index, so neither part reads
-- every item.
SELECT
    w.item_id AS item_id,
    w.key AS key,
    w.title AS title,
    w.url AS url,
    w.flow_type AS flow_type,
    w.team AS team,
    w.current_state AS current_state,
    round(w.age_days, 4) AS age_days,
    round(t.threshold_days, 4) AS threshold_days
FROM
(
    SELECT
        item_id, key, title, url, flow_type, team, toString(state) AS current_state,
        dateDiff('millisecond',
                 if({flow_time_start:String} = 'created', created_at, assumeNotNull(started_at)),
                 now64(3)) / 86400000 AS age_days
    FROM open_wip FINAL
    WHERE ({stream:String} = '' OR stream = {stream:String})
      AND ({team:String} = '' OR team = {team:String})
      AND ({flow_type:String} = '' OR flow_type = {flow_type:String})
) AS w
INNER JOIN
(
    SELECT
        flow_type,
        quantileExactInclusive({percentile:Float64})(
            if({flow_time_start:String} = 'created', flow_seconds_from_created, flow_seconds)) / 86400 AS threshold_days
    FROM flow_items
    WHERE outcome = 'done'
      AND finished_at >= now64(3) - toIntervalDay({baseline_days:UInt32})
      AND assumeNotNull(finished_at) >= now64(3) - toIntervalDay({baseline_days:UInt32})
      AND if({flow_time_start:String} = 'created', flow_seconds_from_created, flow_seconds) IS NOT NULL
      AND ({stream:String} = '' OR stream = {stream:String})
      AND ({team:String} = '' OR team = {team:String})
      AND ({flow_type:String} = '' OR flow_type = {flow_type:String})
    GROUP BY flow_type
) AS t ON t.flow_type = w.flow_type
WHERE w.age_days > t.threshold_days
ORDER BY w.age_days / t.threshold_days DESC, w.item_id
LIMIT {limit:UInt32}
