-- The items in progress now (issue 18): one row per item whose current stay is in an active or
-- waiting state, with that stay. Flow load, growing queues, cumulative flow, distribution and the
-- aging charts need the open stays of every item however old, and on item_flow those are spread
-- over every granule (an item still open a year on sits among items long done), so no index can
-- skip any; here they are a small table of their own, and item_flow is read only for stays that
-- ended in the window (found by its state_left_window index).
-- The table follows item_flow through a materialized view: every row written to item_flow (every
-- derive, whatever writes it) writes the item's row here in the same insert, with the same
-- version, so FINAL on both tables keeps the same write of each item and the two never disagree,
-- however derives of one item race. An item with no open active or waiting stay (finished, new,
-- deleted) gets a row with is_deleted = 1, which hides its earlier open rows in FINAL; compaction
-- drops those rows once no derive older than them can still land (pipeline/compact.ts).
CREATE TABLE IF NOT EXISTS open_wip
(
    item_id    String,
    stream     LowCardinality(String),
    team       LowCardinality(String),
    flow_type  LowCardinality(String),
    -- What the aging charts list of each item, as item_flow has it.
    key        String,
    title      String,
    url        String,
    created_at DateTime64(3, 'UTC'),
    started_at Nullable(DateTime64(3, 'UTC')),
    state      LowCardinality(String),
    entered_at DateTime64(3, 'UTC'),
    -- The stay's place among the item's active and waiting stays (1 = first), as the cumulative
    -- flow diagram orders states by it.
    position   UInt32,
    is_deleted UInt8,
    version    UInt64
)
ENGINE = ReplacingMergeTree(version, is_deleted)
ORDER BY item_id;

-- The open stay is the one without an end (at most one per item: the current state's).
CREATE MATERIALIZED VIEW IF NOT EXISTS open_wip_from_item_flow TO open_wip AS
SELECT
    item_id,
    stream,
    team,
    flow_type,
    key,
    title,
    url,
    created_at,
    started_at,
    if(open_at = 0, '', wip_stay_states[open_at]) AS state,
    if(open_at = 0, toDateTime64(0, 3, 'UTC'), wip_stay_entered_at[open_at]) AS entered_at,
    toUInt32(open_at) AS position,
    toUInt8(open_at = 0 OR deleted = 1) AS is_deleted,
    version
FROM
(
    SELECT item_id, stream, team, flow_type, key, title, url, created_at, started_at,
           wip_stay_states, wip_stay_entered_at, deleted, version,
           arrayFirstIndex(left_at -> left_at IS NULL, wip_stay_left_at) AS open_at
    FROM item_flow
);

-- The items already derived: their current rows, open ones only (the table is new, so there is
-- no earlier open row to hide).
INSERT INTO open_wip
    (item_id, stream, team, flow_type, key, title, url, created_at, started_at, state, entered_at, position, is_deleted, version)
SELECT item_id, stream, team, flow_type, key, title, url, created_at, started_at,
       wip_stay_states[open_at], wip_stay_entered_at[open_at], toUInt32(open_at), 0, version
FROM
(
    SELECT item_id, stream, team, flow_type, key, title, url, created_at, started_at, wip_stay_states, wip_stay_entered_at, version,
           arrayFirstIndex(left_at -> left_at IS NULL, wip_stay_left_at) AS open_at
    FROM item_flow FINAL
    WHERE deleted = 0
)
WHERE open_at > 0;
