-- Flow distribution: the share of each flow item type among the items finished 'done' in
-- [since, until) (scope 'completed') and among the items in WIP now (scope 'wip': open and in
-- an active or waiting state). One scan serves both scopes.
SELECT
    scope,
    flow_type,
    items,
    round(items / sum(items) OVER (PARTITION BY scope), 4) AS share
FROM
(
    SELECT
        flow_type,
        toUInt32(countIf(outcome = 'done'
                         AND finished_at >= {since:DateTime64(3, 'UTC')}
                         AND finished_at < {until:DateTime64(3, 'UTC')})) AS completed,
        toUInt32(countIf(status = 'wip')) AS wip
    FROM flow_items
    WHERE (outcome = 'done' OR status = 'wip')
      AND ({stream:String} = '' OR stream = {stream:String})
      AND ({team:String} = '' OR team = {team:String})
      AND ({flow_type:String} = '' OR flow_type = {flow_type:String})
    GROUP BY flow_type
)
ARRAY JOIN ['completed', 'wip'] AS scope, [completed, wip] AS items
WHERE items > 0
ORDER BY scope, items DESC, flow_type
