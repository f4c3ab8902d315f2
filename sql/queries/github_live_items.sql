-- Live GitHub items of one API host ({prefix} = 'github:<host>:'): a full sync marks deleted those
-- of its repositories that no list page showed (deleted at GitHub, or transferred away).
SELECT item_id, source, stream, key, title, url, flow_type, team, labels,
       toUnixTimestamp64Milli(created_at) AS created_ms, source_type
FROM work_items FINAL
WHERE source = 'github' AND startsWith(item_id, {prefix:String}) AND deleted = 0
ORDER BY item_id
