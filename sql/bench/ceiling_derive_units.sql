-- The units ceiling_derive_queue.sql queued, in order.
SELECT DISTINCT batch_id
FROM refresh_queue
WHERE startsWith(batch_id, {prefix:String})
ORDER BY batch_id
