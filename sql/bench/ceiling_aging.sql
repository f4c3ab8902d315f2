-- Aging ceiling: items in WIP older than their type's 85th percentile flow time over 90 days.
SELECT w.item_id AS item_id, w.age_days / t.threshold_days AS ratio
FROM
(
    SELECT item_id, flow_type, dateDiff('millisecond', assumeNotNull(started_at), now64(3)) / 86400000 AS age_days
    FROM item_flow FINAL
    WHERE deleted = 0 AND outcome = 'open' AND current_flow_state IN ('active', 'waiting') AND started_at IS NOT NULL
) AS w
INNER JOIN
(
    SELECT flow_type, quantileExactInclusive(0.85)((active_seconds + wait_seconds) / 86400) AS threshold_days
    FROM item_flow FINAL
    WHERE deleted = 0 AND outcome = 'done' AND started_at IS NOT NULL AND finished_at >= now64(3) - toIntervalDay(90)
    GROUP BY flow_type
) AS t ON t.flow_type = w.flow_type
WHERE w.age_days > t.threshold_days
ORDER BY ratio DESC, item_id
LIMIT 200
