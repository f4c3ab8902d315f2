-- Whether the store holds any item bundle of one GitHub API host ({prefix} = 'github:<host>:').
SELECT count() AS n
FROM (SELECT key FROM raw_payloads WHERE source = 'github' AND kind = 'item' AND startsWith(key, {prefix:String}) LIMIT 1)
