-- Queues every item of one stream under {batch_id}: its lifecycle ranks changed, so each item's
-- stays must be derived again (an out-of-sequence event may now apply, or no longer).
INSERT INTO refresh_queue (batch_id, item_id)
SELECT {batch_id:String}, item_id
FROM work_items FINAL
WHERE stream = {stream:String}
