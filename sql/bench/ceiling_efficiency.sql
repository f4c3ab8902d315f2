-- Efficiency ceiling: active share of the flow time of the items finished in the window.
SELECT toMonday(toDate32(assumeNotNull(finished_at))) AS week, flow_type, count() AS items,
       sum(active_seconds) / sum(active_seconds + wait_seconds) AS efficiency
FROM item_flow FINAL
WHERE deleted = 0 AND outcome = 'done' AND started_at IS NOT NULL AND active_seconds + wait_seconds > 0
  AND finished_at >= {since:DateTime64(3, 'UTC')} AND finished_at < {until:DateTime64(3, 'UTC')}
GROUP BY week, flow_type
