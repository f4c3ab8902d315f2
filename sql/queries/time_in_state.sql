-- Bottlenecks, time in state: for each workflow state, how long items stayed in it. A stay
-- counts when it ended within [since, until) (stays still open are covered by the aging signal).
-- An item's stays in the same state are added up (a backward move that comes back counts once,
-- with its total time), then the median and 85th percentile are taken over items
-- (quantileExactInclusive). Only stays inside the flow time count: after the start (first move
-- into active/waiting), or also before it under the 'created' rule. Done/canceled stays are
-- never counted.
-- Narrowing by item_id first lets FINAL merge only the items concerned (a condition on a
-- non-key column cannot go before FINAL: it could pick a stale version). The inner scan, without
-- FINAL, returns a superset: an item's current stay row always satisfies it when the item counts.
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
        -- A 64-bit hash groups faster than the id string; a collision among a window's items
        -- is vanishingly unlikely.
        cityHash64(item_id) AS item,
        state,
        flow_state,
        sum(dateDiff('millisecond', entered_at, assumeNotNull(left_at))) / 86400000 AS days
    FROM state_intervals FINAL
    WHERE item_id IN (
            SELECT item_id FROM state_intervals
            WHERE left_at >= {since:DateTime64(3, 'UTC')} AND left_at < {until:DateTime64(3, 'UTC')})
      AND deleted = 0
      AND flow_state IN ('new', 'active', 'waiting')
      AND (after_start = 1 OR {flow_time_start:String} = 'created')
      AND left_at >= {since:DateTime64(3, 'UTC')}
      AND left_at < {until:DateTime64(3, 'UTC')}
      AND ({stream:String} = '' OR stream = {stream:String})
      AND ({team:String} = '' OR team = {team:String})
      AND ({flow_type:String} = '' OR flow_type = {flow_type:String})
    GROUP BY item, state, flow_state
)
GROUP BY state, flow_state
ORDER BY total_days DESC, state
