-- Marks of units of work derived more than a day ago whose queue rows are gone (purge_refresh_queue.sql runs first).
DELETE FROM refresh_batches WHERE batch_id IN (
    SELECT batch_id FROM refresh_batches
    GROUP BY batch_id
    HAVING argMax(state, (version, state = 'derived')) = 'derived' AND max(updated_at) < now64(3) - INTERVAL 1 DAY
)
