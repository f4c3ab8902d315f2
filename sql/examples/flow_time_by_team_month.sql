-- Flow time by team per month: items finished 'done', by the UTC month of their finish.
SELECT
    team,
    toStartOfMonth(finished_at) AS month,
    count() AS items,
    round(quantileExactInclusive(0.5)(flow_seconds / 86400), 2) AS median_days,
    round(quantileExactInclusive(0.85)(flow_seconds / 86400), 2) AS p85_days
FROM flow_items
WHERE status = 'done' AND flow_seconds IS NOT NULL
GROUP BY team, month
ORDER BY team, month
