-- flow_items: one row per work item with its flow facts as of now(). The base of every metric.
-- Durations are seconds. Time in a state the item is still in counts up to now().
--   flow_seconds              first move into active/waiting -> finish (NULL if never started)
--   created_at                the recorded creation, or the first recorded move if earlier
--   flow_seconds_from_created creation -> finish (the `created` flow-time rule)
--   active_seconds / wait_seconds: split of flow_seconds; wait includes moves back to a new state
--   efficiency                active_seconds / flow_seconds
--   status                    new | wip | done | canceled (wip = open and currently in an
--                             active or waiting state; new = open in a new state)
CREATE OR REPLACE VIEW flow_items AS
SELECT
    item_id, source, stream, team, flow_type, key, title, url, created_at, started_at, finished_at,
    outcome, current_state, current_flow_state, current_state_since, reopen_count, transition_count,
    open_seconds,
    active_seconds,
    wait_seconds,
    if(started_at IS NULL, NULL, active_seconds + wait_seconds) AS flow_seconds,
    active_seconds + wait_seconds + pre_start_seconds AS flow_seconds_from_created,
    if(active_seconds + wait_seconds > 0, active_seconds / (active_seconds + wait_seconds), NULL) AS efficiency,
    multiIf(outcome = 'done', 'done', outcome = 'canceled', 'canceled',
            current_flow_state IN ('active', 'waiting'), 'wip', 'new') AS status,
    if(outcome = 'open' AND started_at IS NOT NULL,
       dateDiff('millisecond', assumeNotNull(started_at), now64(3)) / 1000, NULL) AS age_seconds
FROM
(
    SELECT
        *,
        if(outcome = 'open', greatest(0, dateDiff('millisecond', current_state_since, now64(3)) / 1000), 0) AS open_seconds,
        active_seconds + if(outcome = 'open' AND current_flow_state = 'active', open_seconds, 0) AS active_seconds,
        wait_seconds + if(outcome = 'open' AND started_at IS NOT NULL AND current_flow_state IN ('waiting', 'new'), open_seconds, 0) AS wait_seconds,
        pre_start_seconds + if(outcome = 'open' AND started_at IS NULL, open_seconds, 0) AS pre_start_seconds
    FROM item_flow FINAL
    WHERE deleted = 0
)
