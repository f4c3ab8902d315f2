-- Queue rows of units of work derived more than a day ago: nothing reads them again. (The queue
-- has no TTL: a unit of work never derived must keep its rows until it is.)
DELETE FROM refresh_queue WHERE batch_id IN (
    SELECT batch_id FROM refresh_batches
    GROUP BY batch_id
    HAVING argMax(state, (version, state = 'derived')) = 'derived' AND max(updated_at) < now64(3) - INTERVAL 1 DAY
)
