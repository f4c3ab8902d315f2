-- Alert state: one row per alert rule saying whether it is tripped, so an alert posts once when it
-- trips and once when it recovers, and a restarted bot does not post it again. The latest version
-- (epoch microseconds of the change) is the current state.
CREATE TABLE IF NOT EXISTS alert_state
(
    rule       String,
    tripped    UInt8,
    summary    String,
    changed_at DateTime64(3, 'UTC'),
    version    UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY rule;
