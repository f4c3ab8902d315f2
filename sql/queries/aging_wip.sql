-- Aging WIP chart: every item in WIP now (open, in an active or waiting state: flow_items'
-- status 'wip') with its current state and age, the age by the {flow_time_start} rule as in
-- aging.sql. Oldest first, at most {limit}. state_rank orders the states for the chart's axis:
-- the mean number of active/waiting stays the items in that state have had so far (the current
-- stay's position among them, as open_wip holds it), so states later in the workflow sort later.
-- The items come from open_wip (schema/0009): only those in progress are read.
SELECT
    item_id,
    key,
    title,
    url,
    flow_type,
    team,
    toString(state) AS current_state,
    round(avg(position) OVER (PARTITION BY current_state), 4) AS state_rank,
    round(dateDiff('millisecond',
                   if({flow_time_start:String} = 'created', created_at, assumeNotNull(started_at)),
                   now64(3)) / 86400000, 4) AS age_days
FROM open_wip FINAL
WHERE ({stream:String} = '' OR stream = {stream:String})
  AND ({team:String} = '' OR team = {team:String})
  AND ({flow_type:String} = '' OR flow_type = {flow_type:String})
ORDER BY age_days DESC, item_id
LIMIT {limit:UInt32}
