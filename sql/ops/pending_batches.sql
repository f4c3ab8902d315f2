-- Units of work stored but not yet derived (their process stopped in between).
SELECT batch_id FROM refresh_batches FINAL WHERE state = 'queued' ORDER BY updated_at
