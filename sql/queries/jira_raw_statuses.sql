-- The /status payload stored by the last sync of a site (status id -> category), for a re-map.
SELECT payload
FROM raw_payloads FINAL
WHERE source = 'jira' AND kind = 'statuses' AND key = {key:String}
