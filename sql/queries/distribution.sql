-- Flow distribution: the share of each flow item type among the items finished 'done' in
-- [since, until) (scope 'completed') and among the items in WIP now (scope 'wip': open and in
-- an active or waiting state). The finished items come from item_flow through its finished_window
-- index, the items in progress from open_wip (schema/0009), so neither reads every item.
SELECT
    scope,
    flow_type,
    items,
    round(items / sum(items) OVER (PARTITION BY scope), 4) AS share
FROM
(
    SELECT 'completed' AS scope, flow_type, toUInt32(count()) AS items
    FROM item_flow FINAL
    WHERE deleted = 0
      AND outcome = 'done'
      AND finished_at >= {since:DateTime64(3, 'UTC')}
      AND finished_at < {until:DateTime64(3, 'UTC')}
      -- The window again on the finished_window index's expression (schema 0008).
      AND assumeNotNull(finished_at) >= {since:DateTime64(3, 'UTC')}
      AND assumeNotNull(finished_at) < {until:DateTime64(3, 'UTC')}
      AND ({stream:String} = '' OR stream = {stream:String})
      AND ({team:String} = '' OR team = {team:String})
      AND ({flow_type:String} = '' OR flow_type = {flow_type:String})
    GROUP BY flow_type
    UNION ALL
    SELECT 'wip' AS scope, flow_type, toUInt32(count()) AS items
    FROM open_wip FINAL
    WHERE ({stream:String} = '' OR stream = {stream:String})
      AND ({team:String} = '' OR team = {team:String})
      AND ({flow_type:String} = '' OR flow_type = {flow_type:String})
    GROUP BY flow_type
)
WHERE items > 0
ORDER BY scope, items DESC, flow_type
