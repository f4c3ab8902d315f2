-- The stored bundle of the GitHub item whose GraphQL node id is given: a projects_v2_item webhook
-- names its issue or pull request only by content_node_id.
SELECT key, payload
FROM raw_payloads FINAL
WHERE source = 'github' AND kind = 'item' AND startsWith(key, {prefix:String})
  AND JSONExtractString(payload, 'issue', 'node_id') = {node:String}
LIMIT 1
