-- Recorded rejections (imports and connectors), newest first; {source} = '' means every source.
SELECT
    toString(rejected_at) AS rejected_at,
    source,
    reference,
    reason,
    payload
FROM rejected_records
WHERE {source:String} = '' OR source = {source:String}
-- Rows of one batch share rejected_at; length first keeps `f:9` before `f:10`.
ORDER BY rejected_at DESC, length(reference), reference
LIMIT {limit:UInt32}
