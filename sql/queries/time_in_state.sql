-- Bottlenecks, time in state: for each workflow state, how long items stayed in it. An item's
-- closed stays in a state are added up (a backward move that comes back counts once, with its
-- total time) and the total counts in the window in which the item last left that state, as an
-- item's flow time counts where it finished (stays still open are covered by the aging signal).
-- Then the median and 85th percentile are taken over items (quantileExactInclusive). Only stays
-- inside the flow time count: after the start (first move into active/waiting), or also before
-- it under the 'created' rule. Done/canceled stays are never counted.
-- The per state totals are precomputed on item_flow (state_* arrays; derive/0002_item_flow.sql),
-- so this reads one row per item. Since after_start never goes back to 0, an item's last exit
-- from a state is after the start whenever any of its stays there is.
SELECT
    state,
    toString(flow_state) AS flow_state,
    toUInt32(count()) AS items,
    quantilesExactInclusive(0.5, 0.85)(days) AS q,
    round(q[1], 4) AS median_days,
    round(q[2], 4) AS p85_days,
    round(sum(days), 4) AS total_days
FROM
(
    SELECT
        state,
        flow_state,
        if({flow_time_start:String} = 'created', seconds_all, seconds) / 86400 AS days
    FROM item_flow FINAL
    ARRAY JOIN
        state_names AS state,
        state_flow_states AS flow_state,
        state_seconds AS seconds,
        state_seconds_all AS seconds_all,
        state_stays_after_start AS stays_after_start,
        state_last_left AS last_left
    WHERE deleted = 0
      -- Implied by last_left >= since below, on the expression item_flow's state_left_window index
      -- holds (schema 0008): granules whose items left every state before the window are skipped.
      AND arrayMax(state_last_left) >= {since:DateTime64(3, 'UTC')}
      AND (stays_after_start > 0 OR {flow_time_start:String} = 'created')
      AND last_left >= {since:DateTime64(3, 'UTC')}
      AND last_left < {until:DateTime64(3, 'UTC')}
      AND ({stream:String} = '' OR stream = {stream:String})
      AND ({team:String} = '' OR team = {team:String})
      AND ({flow_type:String} = '' OR flow_type = {flow_type:String})
)
GROUP BY state, flow_state
ORDER BY total_days DESC, state
