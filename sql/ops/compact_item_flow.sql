-- Merges item_flow into one part per partition, for the same reason as compact_state_intervals.sql.
OPTIMIZE TABLE item_flow FINAL
