-- Queues every item a stage's records touch under the unit of work, before the records land.
INSERT INTO refresh_queue (batch_id, item_id)
SELECT {batch_id:String}, item_id FROM {stage:Identifier} GROUP BY item_id
