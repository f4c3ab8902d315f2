-- Queue rows more than a day old whose unit of work has no mark left: its marks were purged once
-- it was derived (purge_refresh_batches.sql), and nothing reads these rows again. The queue has no
-- TTL: a unit never derived keeps its marks, so its rows stay until it is.
DELETE FROM refresh_queue
WHERE queued_at < now64(3) - INTERVAL 1 DAY
  AND batch_id NOT IN (SELECT batch_id FROM refresh_batches)
