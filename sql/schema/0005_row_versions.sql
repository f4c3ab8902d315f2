-- Row versions and durable queues. ClickHouse cannot change a table's engine in place, so each
-- table is rebuilt: create the new one under a *_0005 name, copy the rows, move the old table
-- aside, move the new one in, drop the old. The migration runner records each statement of a
-- migration as it completes and resumes after the last recorded one, so a crash repeats at most
-- the statement it interrupted; each statement is safe to repeat (IF [NOT] EXISTS, and copies
-- whose repeated rows collapse).

-- transitions: ReplacingMergeTree(version), so of two copies of the same change (item_id,
-- event_id) the later write wins whatever order the writes land in. Before this, equal keys kept
-- whichever row was inserted last. Rows stored before get a version from their ingestion time
-- (microseconds, as store/versions.ts counts); reading FINAL copies the row that won so far.
CREATE TABLE IF NOT EXISTS transitions_0005
(
    event_id      String,
    item_id       String,
    from_state    String,
    to_state      LowCardinality(String),
    to_flow_state Enum8('new' = 1, 'active' = 2, 'waiting' = 3, 'done' = 4, 'canceled' = 5),
    at            DateTime64(3, 'UTC'),
    ingested_at   DateTime64(3, 'UTC'),
    version       UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (item_id, event_id);

INSERT INTO transitions_0005 (event_id, item_id, from_state, to_state, to_flow_state, at, ingested_at, version)
SELECT event_id, item_id, from_state, to_state, to_flow_state, at, ingested_at, toUInt64(toUnixTimestamp64Milli(ingested_at)) * 1000
FROM transitions FINAL;

RENAME TABLE IF EXISTS transitions TO transitions_0004;

RENAME TABLE IF EXISTS transitions_0005 TO transitions;

DROP TABLE IF EXISTS transitions_0004;

-- refresh_queue without its one-day TTL: rows of a unit of work that was never derived expired
-- with it, and their items dropped out of every metric. The queue rows of batches derived long
-- ago are deleted by serve instead (ops/purge_refresh_queue.sql).
CREATE TABLE IF NOT EXISTS refresh_queue_0005
(
    batch_id  String,
    item_id   String,
    queued_at DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = MergeTree
ORDER BY (batch_id, item_id);

INSERT INTO refresh_queue_0005 (batch_id, item_id, queued_at)
SELECT batch_id, item_id, queued_at FROM refresh_queue;

RENAME TABLE IF EXISTS refresh_queue TO refresh_queue_0004;

RENAME TABLE IF EXISTS refresh_queue_0005 TO refresh_queue;

DROP TABLE IF EXISTS refresh_queue_0004;

-- refresh_batches: a unit of work's marks, each with a version and the writer that made it. A
-- writer marks 'writing' before each write and 'queued' once its writes have landed; a derive
-- marks 'derived' with the version of the mark it saw before reading, so any later mark wins and
-- the unit is derived again (store/derive.ts). `owner` names the writing process
-- (host:pid:start), so recovery leaves a live writer's unit alone.
CREATE TABLE IF NOT EXISTS refresh_batches_0005
(
    batch_id   String,
    state      Enum8('queued' = 1, 'derived' = 2, 'writing' = 3),
    version    UInt64,
    owner      String,
    updated_at DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(version)
ORDER BY batch_id;

INSERT INTO refresh_batches_0005 (batch_id, state, version, owner, updated_at)
SELECT batch_id, state, toUInt64(toUnixTimestamp64Milli(updated_at)) * 1000, '', updated_at
FROM refresh_batches FINAL;

RENAME TABLE IF EXISTS refresh_batches TO refresh_batches_0004;

RENAME TABLE IF EXISTS refresh_batches_0005 TO refresh_batches;

DROP TABLE IF EXISTS refresh_batches_0004;
