-- Derived tables stored in more than one active part: what compaction (ops/compact_*.sql) would merge.
SELECT table, count() AS parts
FROM system.parts
WHERE active AND database = currentDatabase() AND table IN ('state_intervals', 'item_flow')
GROUP BY table
HAVING parts > 1
ORDER BY table
