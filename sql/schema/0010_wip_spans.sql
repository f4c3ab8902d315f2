-- Each item's ended WIP spans (issue 18), for flow load: a span is a run of the item's ended
-- active and waiting stays, each beginning as the one before it ended (In progress -> Review ->
-- Testing is one span). Load counts items, not stays, so where one stay ends as the next begins
-- nothing changes; reading spans instead of stays, load reads about a third of the elements and
-- works out no runs per query. Computed by the engine from the wip_stay_* arrays whenever a row
-- is written (MATERIALIZED: every derive, whatever writes it, and not part of SELECT *), and for
-- the rows already stored by the MATERIALIZE COLUMN below; until that finishes a stored part
-- computes them as it is read, so they are always the stays' spans.
ALTER TABLE item_flow ADD COLUMN IF NOT EXISTS wip_span_entered_at Array(DateTime64(3, 'UTC')) MATERIALIZED
    arrayFilter(
        (e, i) -> i = 1 OR e != arrayFilter(l -> l IS NOT NULL, wip_stay_left_at)[i - 1],
        arrayFilter((e, l) -> l IS NOT NULL, wip_stay_entered_at, wip_stay_left_at),
        arrayEnumerate(arrayFilter(l -> l IS NOT NULL, wip_stay_left_at)));

ALTER TABLE item_flow ADD COLUMN IF NOT EXISTS wip_span_left_at Array(DateTime64(3, 'UTC')) MATERIALIZED
    arrayFilter(
        (l, i) -> i = length(arrayFilter(x -> x IS NOT NULL, wip_stay_left_at))
            OR l != arrayFilter((e, x) -> x IS NOT NULL, wip_stay_entered_at, wip_stay_left_at)[i + 1],
        arrayMap(l -> assumeNotNull(l), arrayFilter(l -> l IS NOT NULL, wip_stay_left_at)),
        arrayEnumerate(arrayFilter(l -> l IS NOT NULL, wip_stay_left_at)));

ALTER TABLE item_flow MATERIALIZE COLUMN wip_span_entered_at SETTINGS mutations_sync = 2;

ALTER TABLE item_flow MATERIALIZE COLUMN wip_span_left_at SETTINGS mutations_sync = 2;
