-- Where defects wait longest: their closed stays in waiting states after they started, by state.
SELECT
    state,
    count() AS stays,
    round(sum(dateDiff('second', entered_at, assumeNotNull(left_at))) / 86400, 2) AS total_days,
    round(avg(dateDiff('second', entered_at, assumeNotNull(left_at))) / 86400, 2) AS mean_days
FROM state_intervals FINAL
WHERE flow_type = 'defect' AND flow_state = 'waiting' AND after_start = 1
  AND left_at IS NOT NULL AND deleted = 0
GROUP BY state
ORDER BY total_days DESC, state
