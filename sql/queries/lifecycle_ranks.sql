-- The stored ranks of the given forward-only streams (connectors/kafka/lifecycle.ts compares them
-- with the contract's, and derives a stream's items again when they changed).
SELECT stream, state, rank
FROM lifecycle_ranks FINAL
WHERE stream IN {streams:Array(String)}
ORDER BY stream, state
