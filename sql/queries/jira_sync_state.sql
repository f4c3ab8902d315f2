-- The stored progress (watermark, resume cursor) of one Jira sync scope.
SELECT state
FROM sync_state FINAL
WHERE source = 'jira' AND scope = {scope:String}
