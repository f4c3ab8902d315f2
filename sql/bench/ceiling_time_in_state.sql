-- Time-in-state ceiling: per state, the days items spent there after starting, for states last
-- left in the window.
SELECT state, count() AS items, quantilesExactInclusive(0.5, 0.85)(seconds / 86400) AS q, sum(seconds / 86400) AS total_days
FROM item_flow FINAL
ARRAY JOIN state_names AS state, state_seconds AS seconds, state_stays_after_start AS stays, state_last_left AS last_left
WHERE deleted = 0 AND stays > 0 AND last_left >= {since:DateTime64(3, 'UTC')} AND last_left < {until:DateTime64(3, 'UTC')}
GROUP BY state
