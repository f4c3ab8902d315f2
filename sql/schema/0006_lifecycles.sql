-- Forward-only lifecycles. Some streams never go back: an order that was delivered is not
-- un-delivered, so an earlier-stage event recorded after the delivery (a common recording error in
-- order systems) must not reopen it into WIP. The Kafka connector writes, for each stream whose
-- contract is forward-only, the rank of each state (its place in the lifecycle; done and canceled
-- states share the last rank) at every start; the state_intervals derive keeps a transition into a
-- state ranked below the highest rank the item has already reached, in history order, as a row
-- marked out_of_sequence_after, and leaves it out of the item's stays. Streams without ranks
-- (incidents really are reopened; Jira, files) are derived as before.
CREATE TABLE IF NOT EXISTS lifecycle_ranks
(
    stream  LowCardinality(String),
    state   String,
    rank    UInt16,
    version UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (stream, state);

-- '' for a stay that applied; else the state already reached that this transition came after.
ALTER TABLE state_intervals ADD COLUMN IF NOT EXISTS out_of_sequence_after LowCardinality(String) DEFAULT '';
