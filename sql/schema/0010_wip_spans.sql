-- Each item's ended WIP spans (issue 18), for flow load: a span is a run of the item's ended
-- active and waiting stays, each beginning as the one before it ended (In progress -> Review ->
-- Testing is one span). Load counts items, not stays, so where one stay ends as the next begins
-- nothing changes; reading spans instead of stays, load reads about a third of the elements and
-- works out no runs per query. Computed by the engine from the wip_stay_* arrays whenever a row
-- is written (MATERIALIZED: every derive, whatever writes it, and not part of SELECT *), and for
-- the rows already stored by the MATERIALIZE COLUMN below; until that finishes a stored part
-- computes them as it is read, so they are always the stays' spans.
-- A stay begins a span unless it begins as the stay before it ended; it ends one unless the next
-- begins as it ends. The neighbours are lined up as arrays of the same length (the first stay's
-- "before" and the last one's "after" are placeholders its position overrides), and a lambda uses
-- no array from outside it: one that looked the neighbours up in the stays' arrays had them copied
-- for every element, at twice the CPU (0.4 against 0.2 CPU-s per 1M items).
ALTER TABLE item_flow ADD COLUMN IF NOT EXISTS wip_span_entered_at Array(DateTime64(3, 'UTC')) MATERIALIZED
    arrayFilter(
        (e, before, i) -> i = 1 OR e != before,
        arrayFilter((e, l) -> l IS NOT NULL, wip_stay_entered_at, wip_stay_left_at),
        arraySlice(arrayPushFront(arrayMap(l -> assumeNotNull(l), arrayFilter(l -> l IS NOT NULL, wip_stay_left_at)), toDateTime64(0, 3, 'UTC')), 1, length(arrayFilter((e, l) -> l IS NOT NULL, wip_stay_entered_at, wip_stay_left_at))),
        arrayEnumerate(arrayFilter((e, l) -> l IS NOT NULL, wip_stay_entered_at, wip_stay_left_at)));

ALTER TABLE item_flow ADD COLUMN IF NOT EXISTS wip_span_left_at Array(DateTime64(3, 'UTC')) MATERIALIZED
    arrayFilter(
        (l, after, from_end) -> from_end = 1 OR l != after,
        arrayMap(l -> assumeNotNull(l), arrayFilter(l -> l IS NOT NULL, wip_stay_left_at)),
        arraySlice(arrayPushBack(arrayPopFront(arrayFilter((e, l) -> l IS NOT NULL, wip_stay_entered_at, wip_stay_left_at)), toDateTime64(0, 3, 'UTC')), 1, length(arrayFilter((e, l) -> l IS NOT NULL, wip_stay_entered_at, wip_stay_left_at))),
        arrayReverse(arrayEnumerate(arrayMap(l -> assumeNotNull(l), arrayFilter(l -> l IS NOT NULL, wip_stay_left_at)))));

ALTER TABLE item_flow MATERIALIZE COLUMN wip_span_entered_at SETTINGS mutations_sync = 2;

ALTER TABLE item_flow MATERIALIZE COLUMN wip_span_left_at SETTINGS mutations_sync = 2;
