-- The newest 'derived' mark of any unit of work: every write that changes what the metrics read
-- (an import, the stream, a sync, recovery) ends with a derive that marks its unit here, so the
-- dashboard pushes an update when this number moves. One small aggregate over refresh_batches.
SELECT toString(max(version)) AS mark, toUInt64(count()) AS marks
FROM refresh_batches
WHERE state = 'derived'
