-- Metric ceilings (bench/sections/scale.ts): each metric as one direct, hand-written query on the
-- derived table, without the views and parameters the metric API goes through. Velocity: items
-- finished in the window, per week and type.
SELECT toMonday(toDate32(assumeNotNull(finished_at))) AS week, flow_type, count() AS items
FROM item_flow FINAL
WHERE deleted = 0 AND outcome = 'done' AND finished_at >= {since:DateTime64(3, 'UTC')} AND finished_at < {until:DateTime64(3, 'UTC')}
GROUP BY week, flow_type
