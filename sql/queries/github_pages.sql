-- The ETag and next link of every GitHub list page read by a completed sync, keyed by its URL.
SELECT key, payload
FROM raw_payloads FINAL
WHERE source = 'github' AND kind = 'page'
