-- Marks of units of work derived more than ten minutes ago, so the recovery scan
-- (pending_batches.sql, every few seconds in serve) reads only recent and pending units: a busy
-- stream leaves hundreds of thousands of units a day. Only marks that old go: a mark a late
-- writer makes meanwhile stays and reopens its unit.
DELETE FROM refresh_batches
WHERE updated_at < now64(3) - INTERVAL 10 MINUTE
  AND batch_id IN (
    SELECT batch_id FROM refresh_batches
    GROUP BY batch_id
    HAVING argMax(state, (version, state = 'derived')) = 'derived' AND max(updated_at) < now64(3) - INTERVAL 10 MINUTE
  )
