-- Stored GitHub item bundles for a re-map, paged by item id.
SELECT key, payload
FROM raw_payloads FINAL
WHERE source = 'github' AND kind = 'item' AND key > {after:String}
ORDER BY key
LIMIT {limit:UInt32}
