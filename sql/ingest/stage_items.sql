-- The items of the stages named by {stages} (a pattern), versioned by their line: the later line of
-- the same item wins. The stages are of one file, so one base version serves them all.
INSERT INTO work_items (item_id, source, stream, key, title, url, flow_type, team, labels, created_at, source_type, deleted, version)
SETTINGS optimize_on_insert = 0
SELECT item_id, source, stream, key, title, url, flow_type, team, labels, created_at, source_type, deleted, {first_version:UInt64} + line
FROM merge(currentDatabase(), {stages:String})
WHERE kind = 'item'
