-- Flow time ceiling: percentiles of first-active-to-done days of the items finished in the window.
SELECT toMonday(toDate32(assumeNotNull(finished_at))) AS week, flow_type, count() AS items,
       quantilesExactInclusive(0.5, 0.85, 0.95)((active_seconds + wait_seconds) / 86400) AS q,
       avg((active_seconds + wait_seconds) / 86400) AS mean_days
FROM item_flow FINAL
WHERE deleted = 0 AND outcome = 'done' AND started_at IS NOT NULL
  AND finished_at >= {since:DateTime64(3, 'UTC')} AND finished_at < {until:DateTime64(3, 'UTC')}
GROUP BY week, flow_type
