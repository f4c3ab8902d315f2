-- The transitions of the stages named by {stages} (a pattern), versioned by their line: the later
-- line of the same change wins. The stages are of one file, so one base version serves them all.
INSERT INTO transitions (event_id, item_id, from_state, to_state, to_flow_state, at, ingested_at, version)
SETTINGS optimize_on_insert = 0
SELECT event_id, item_id, from_state, to_state, to_flow_state, at, fromUnixTimestamp64Milli({ingested_at_ms:Int64}, 'UTC'), {first_version:UInt64} + line
FROM merge(currentDatabase(), {stages:String})
WHERE kind = 'transition'
