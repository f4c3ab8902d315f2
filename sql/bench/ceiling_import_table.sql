-- The import ceiling (bench/sections/scale.ts): a plain MergeTree holding every field of the bench
-- file's two record kinds, keyed by item like our tables, so the engine alone parses and sorts the
-- same rows our import writes.
CREATE TABLE IF NOT EXISTS bench_ceiling_import
(
    kind          LowCardinality(String),
    item_id       String,
    source        LowCardinality(String),
    stream        LowCardinality(String),
    key           String,
    title         String,
    url           String,
    flow_type     LowCardinality(String),
    team          LowCardinality(String),
    labels        Array(String),
    created_at    Nullable(DateTime64(3, 'UTC')),
    source_type   LowCardinality(String),
    event_id      String,
    from_state    String,
    to_state      LowCardinality(String),
    to_flow_state LowCardinality(String),
    at            Nullable(DateTime64(3, 'UTC'))
)
ENGINE = MergeTree
ORDER BY (item_id, event_id)
