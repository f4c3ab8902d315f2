-- Core tables of the canonical flow model. Every statement can run twice.
-- Timestamps are UTC with millisecond precision. ReplacingMergeTree collapses the same record
-- delivered twice; readers use FINAL (or the views below, which do).

-- One row per work item; the row with the highest version (ingestion time, ms) is the current one.
CREATE TABLE IF NOT EXISTS work_items
(
    item_id     String,
    source      LowCardinality(String),
    stream      LowCardinality(String),
    key         String,
    title       String,
    url         String,
    flow_type   LowCardinality(String),
    team        LowCardinality(String),
    labels      Array(String),
    created_at  DateTime64(3, 'UTC'),
    source_type LowCardinality(String),
    deleted     UInt8,
    version     UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY item_id;

-- Every state change of every item. (item_id, event_id) identifies a change, so a replayed or
-- re-fetched change collapses into one row.
CREATE TABLE IF NOT EXISTS transitions
(
    event_id      String,
    item_id       String,
    from_state    String,
    to_state      LowCardinality(String),
    to_flow_state Enum8('new' = 1, 'active' = 2, 'waiting' = 3, 'done' = 4, 'canceled' = 5),
    at            DateTime64(3, 'UTC'),
    ingested_at   DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree
ORDER BY (item_id, event_id);

-- Items whose derived rows must be recomputed, grouped by the batch that touched them.
CREATE TABLE IF NOT EXISTS refresh_queue
(
    batch_id  String,
    item_id   String,
    queued_at DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = MergeTree
ORDER BY (batch_id, item_id)
TTL toDateTime(queued_at) + INTERVAL 1 DAY;

-- Derived: one row per stay of an item in a state, in history order (seq). left_at is NULL while
-- the item is still in that state. Rebuilt for an item whenever its item row or history changes.
CREATE TABLE IF NOT EXISTS state_intervals
(
    item_id         String,
    event_id        String,
    seq             UInt32,
    state           LowCardinality(String),
    flow_state      Enum8('new' = 1, 'active' = 2, 'waiting' = 3, 'done' = 4, 'canceled' = 5),
    prev_flow_state LowCardinality(String),
    after_start     UInt8,
    final_terminal  UInt8,
    entered_at      DateTime64(3, 'UTC'),
    left_at         Nullable(DateTime64(3, 'UTC')),
    stream          LowCardinality(String),
    team            LowCardinality(String),
    flow_type       LowCardinality(String),
    deleted         UInt8,
    version         UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (item_id, event_id);

-- Derived: one row per item with the facts every flow metric needs. Durations cover closed
-- intervals only; the views add the still-open interval up to now().
CREATE TABLE IF NOT EXISTS item_flow
(
    item_id             String,
    source              LowCardinality(String),
    stream              LowCardinality(String),
    team                LowCardinality(String),
    flow_type           LowCardinality(String),
    key                 String,
    title               String,
    url                 String,
    created_at          DateTime64(3, 'UTC'),
    started_at          Nullable(DateTime64(3, 'UTC')),
    finished_at         Nullable(DateTime64(3, 'UTC')),
    outcome             Enum8('open' = 1, 'done' = 2, 'canceled' = 3),
    current_state       LowCardinality(String),
    current_flow_state  Enum8('new' = 1, 'active' = 2, 'waiting' = 3, 'done' = 4, 'canceled' = 5),
    current_state_since DateTime64(3, 'UTC'),
    active_seconds      Float64,
    wait_seconds        Float64,
    pre_start_seconds   Float64,
    reopen_count        UInt16,
    transition_count    UInt32,
    deleted             UInt8,
    version             UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY item_id;

-- Dead letters of imports and connectors: what was refused, where it came from, and why.
CREATE TABLE IF NOT EXISTS rejected_records
(
    source      LowCardinality(String),
    reference   String,
    reason      String,
    payload     String,
    rejected_at DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = MergeTree
ORDER BY (source, rejected_at);

-- Raw API payloads exactly as fetched, so a mapping fix is replayed from here, not re-fetched.
CREATE TABLE IF NOT EXISTS raw_payloads
(
    source     LowCardinality(String),
    kind       LowCardinality(String),
    key        String,
    payload    String,
    fetched_at DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(fetched_at)
ORDER BY (source, kind, key);

-- Progress of incremental syncs (watermarks, resume cursors), one row per source and scope.
CREATE TABLE IF NOT EXISTS sync_state
(
    source     LowCardinality(String),
    scope      String,
    state      String,
    updated_at DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(updated_at)
ORDER BY (source, scope);

-- Units of work whose derived rows are pending ('queued') or rebuilt ('derived'). A process that
-- stops between storing rows and deriving leaves 'queued' batches, which the next start derives.
CREATE TABLE IF NOT EXISTS refresh_batches
(
    batch_id   String,
    state      Enum8('queued' = 1, 'derived' = 2),
    updated_at DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(updated_at)
ORDER BY batch_id;
