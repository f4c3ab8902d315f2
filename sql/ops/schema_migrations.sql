-- The register of applied schema migrations; created before any migration runs.
CREATE TABLE IF NOT EXISTS schema_migrations
(
    name       String,
    applied_at DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree
ORDER BY name
