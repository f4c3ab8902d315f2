-- Stored Jira issue payloads for a re-map, one per issue id (the most recently fetched, so a
-- moved issue's payload under its new key wins over the old key's), paged by issue id.
SELECT id, payload
FROM
(
    SELECT JSONExtractString(payload, 'id') AS id, payload, fetched_at
    FROM raw_payloads FINAL
    WHERE source = 'jira' AND kind = 'issue'
)
WHERE id > {after:String}
ORDER BY id, fetched_at DESC
LIMIT 1 BY id
LIMIT {limit:UInt32}
