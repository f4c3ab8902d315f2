-- Bottlenecks, time in state: for each workflow state, how long items stayed in it. An item's
-- closed stays in a state are added up (a backward move that comes back counts once, with its
-- total time) and the total counts in the window in which the item last left that state, as an
-- item's flow time counts where it finished (stays still open are covered by the aging signal).
-- Then the median and 85th percentile are taken over items (quantileExactInclusive). Only stays
-- inside the flow time count: after the start (first move into active/waiting), or also before
-- it under the 'created' rule. Done/canceled stays are never counted.
-- The totals come precomputed on each item's last closed stay in the state (last_in_state; see
-- derive/0001_state_intervals.sql). Narrowing by item_id first lets FINAL merge only the items
-- concerned (a condition on a non-key column cannot go before FINAL: it could pick a stale
-- version); the inner scan, without FINAL, returns a superset of them.
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
        if({flow_time_start:String} = 'created', state_seconds_all, state_seconds) / 86400 AS days
    FROM state_intervals FINAL
    WHERE item_id IN (
            SELECT item_id FROM state_intervals
            WHERE last_in_state = 1
              AND left_at >= {since:DateTime64(3, 'UTC')} AND left_at < {until:DateTime64(3, 'UTC')})
      AND last_in_state = 1
      AND deleted = 0
      AND flow_state IN ('new', 'active', 'waiting')
      AND (after_start = 1 OR {flow_time_start:String} = 'created')
      AND left_at >= {since:DateTime64(3, 'UTC')}
      AND left_at < {until:DateTime64(3, 'UTC')}
      AND ({stream:String} = '' OR stream = {stream:String})
      AND ({team:String} = '' OR team = {team:String})
      AND ({flow_type:String} = '' OR flow_type = {flow_type:String})
)
GROUP BY state, flow_state
ORDER BY total_days DESC, state
