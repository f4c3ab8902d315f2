-- Recorded rejections (imports and connectors), newest first; {source} = '' means every source.
-- Source `lifecycle` lists transitions kept but not applied (views/0004_out_of_sequence.sql):
-- stored, yet they did not move their item back.
SELECT
    toString(rejected_at) AS rejected_at,
    source,
    reference,
    reason,
    payload
FROM
(
    SELECT rejected_at, toString(source) AS source, reference, reason, payload
    FROM rejected_records
    WHERE {source:String} = '' OR source = {source:String}
    UNION ALL
    SELECT toDateTime64(derived_at, 3, 'UTC') AS rejected_at, 'lifecycle' AS source, concat(item_id, '@', event_id) AS reference, reason,
        concat('{"item_id":', toJSONString(item_id), ',"event_id":', toJSONString(event_id), ',"state":', toJSONString(state),
               ',"at":', toJSONString(toString(at)), '}') AS payload
    FROM out_of_sequence_transitions
    WHERE {source:String} IN ('', 'lifecycle')
)
-- Rows of one batch share rejected_at; length first keeps `f:9` before `f:10`.
ORDER BY rejected_at DESC, length(reference), reference
LIMIT {limit:UInt32}
