-- A stage: canonical records of one import chunk, held in memory between being read and being
-- stored. The engine fills it from the file (stage_jsonl.sql), the importer adds the lines only
-- it can map, and the sink copies it into work_items, transitions and the refresh queue with
-- versions from each record's line (pipeline/sink.ts writeStaged). Dropped once stored.
CREATE TABLE IF NOT EXISTS {stage:Identifier}
(
    line          UInt64,
    kind          LowCardinality(String),
    item_id       String,
    event_id      String,
    source        String,
    stream        String,
    key           String,
    title         String,
    url           String,
    flow_type     String,
    team          String,
    labels        Array(String),
    created_at    DateTime64(3, 'UTC'),
    source_type   String,
    deleted       UInt8,
    from_state    String,
    to_state      String,
    to_flow_state String,
    at            DateTime64(3, 'UTC')
)
ENGINE = Memory
