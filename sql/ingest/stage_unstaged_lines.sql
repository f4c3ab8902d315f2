-- The lines of a chunk the stage holds no record of: blank, refused by the engine, or never
-- offered to it. The importer maps each of them itself.
SELECT groupArray(number) AS lines
FROM numbers({first_line:UInt64}, {line_count:UInt64})
WHERE number NOT IN (SELECT line FROM {stage:Identifier})
