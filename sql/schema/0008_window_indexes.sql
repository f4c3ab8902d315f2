-- Window indexes on item_flow (issue 18). item_flow is sorted by item_id, so without these every
-- 90-day metric read every item ever stored and its cost grew with the history. Each index keeps,
-- per granule (8192 items), the range of one item-level time bound; a query that states the same
-- bound skips the granules whose items all fall outside its window. With FINAL, ClickHouse (since
-- 25.x, use_skip_indexes_if_final with its exact mode, both on by default in chDB) also reads the
-- granules of other parts that overlap a kept one in item_id, so a newer version of an item is
-- never skipped while an older one is read: results are the same with or without the indexes.
-- How much is skipped depends on how well item_id order follows time (sequential keys: well;
-- random ids: little). See docs/architecture.md, "How it scales".
--
-- When the item finished; the NULL of an unfinished item reads as 1970, never inside a window
-- of delivered items (a plain minmax on the Nullable column counts NULL as the top of the range,
-- and every granule holds an unfinished item, so it would skip nothing).
ALTER TABLE item_flow ADD INDEX IF NOT EXISTS finished_window assumeNotNull(finished_at) TYPE minmax GRANULARITY 1;

-- The latest time the item left any state: a state last left before the window is not in it.
ALTER TABLE item_flow ADD INDEX IF NOT EXISTS state_left_window arrayMax(state_last_left) TYPE minmax GRANULARITY 1;

-- Indexes are built for new parts as they are written; build them for the parts already stored.
ALTER TABLE item_flow MATERIALIZE INDEX finished_window SETTINGS mutations_sync = 2;

ALTER TABLE item_flow MATERIALIZE INDEX state_left_window SETTINGS mutations_sync = 2;
