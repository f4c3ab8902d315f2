-- The stored bundle of the GitHub item with the given key ("owner/name#number"): a webhook for a
-- pull request names it by repository and number (its issue id is not in the payload).
SELECT r.key AS key, r.payload AS payload
FROM raw_payloads AS r FINAL
WHERE r.source = 'github' AND r.kind = 'item'
  AND r.key IN (SELECT item_id FROM work_items FINAL WHERE source = 'github' AND key = {key:String} AND startsWith(item_id, {prefix:String}))
LIMIT 1
