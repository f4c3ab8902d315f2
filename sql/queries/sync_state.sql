-- The stored progress (watermark, resume cursor) of one sync scope of one source.
SELECT state
FROM sync_state FINAL
WHERE source = {source:String} AND scope = {scope:String}
