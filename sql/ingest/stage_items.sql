-- A stage's items, versioned by their line: the later line of the same item wins.
INSERT INTO work_items (item_id, source, stream, key, title, url, flow_type, team, labels, created_at, source_type, deleted, version)
SETTINGS optimize_on_insert = 0
SELECT item_id, source, stream, key, title, url, flow_type, team, labels, created_at, source_type, deleted, {first_version:UInt64} + line
FROM {stage:Identifier}
WHERE kind = 'item'
