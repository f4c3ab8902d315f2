-- Flow load: WIP at the end of each local day (zone {tz}) in the window, per flow item type.
-- An item is WIP at an instant when it is in an active or waiting state then: the stay began
-- before the instant and had not ended before it (entered_at < instant <= left_at). The instant
-- of a day is the next local midnight, or `until` for the last, unfinished day, so the last row
-- is the WIP as of `until`.
-- One pass over the WIP spans overlapping the window: each adds +1 on the day it began and -1 on
-- the day it ended; a running sum over the days gives the WIP, and days without change read as
-- the sum so far (zero-filled when nothing was in progress). A span is a run of an item's ended
-- active and waiting stays, each beginning when the one before ended (In progress -> Review ->
-- Testing is one span): the -1 and +1 where two such stays meet cancel on the same day, so the
-- run counts as one, and the window's items have about a third as many spans as stays to group.
-- Ended spans come from item_flow's wip_span_* arrays (schema/0010, worked out from the item's
-- wip_stay_* arrays when its row is written: at 1M items, 37 against 95 ms p50 when this query
-- worked them out itself), read only for items that left some state since the window's first day
-- (as in the wip_stays view, views/0006, whose index this uses);
-- open stays come from open_wip, each on its own: where one follows an ended stay, that stay's
-- span ends (-1) on the day the open one begins (+1). Not every item ever stored is read.
-- Days are Date32 and instants DateTime64, which hold every date the store does (1900..2299);
-- Date and DateTime would wrap outside 1970..2149 and 1970..2106.
-- From the same pass, wip_at_since: the WIP at `since` (on every row of its type), which the
-- dashboard's overview sets beside the figure as the previous window's end, so that view reads
-- every item once, not twice. Every span or stay WIP at `since` is among those read here: it ends at or
-- after `since`, which is on the window's first day, and began before `until`.
WITH
    toDate32({since:DateTime64(3, 'UTC')}, {tz:String}) AS first_day,
    toDate32({until:DateTime64(3, 'UTC')} - toIntervalMillisecond(1), {tz:String}) AS last_day,
    toInt64(dateDiff('day', first_day, last_day) + 1) AS n_days,
    toTimeZone(toDateTime64(first_day, 3, {tz:String}), 'UTC') AS first_instant
SELECT
    toString(first_day + (position - 1)) AS day,
    flow_type,
    toUInt32(wip) AS wip,
    toUInt32(at_since) AS wip_at_since
FROM
(
    SELECT
        flow_type,
        sumMap([from_index, to_index], [stays, -stays]) AS changes,
        arrayCumSum(arrayMap(i -> changes.2[indexOf(changes.1, i)], range(n_days))) AS per_day,
        sum(stays_at_since) AS at_since
    FROM
    (
        SELECT
            flow_type,
            greatest(toInt64(0), toInt64(dateDiff('day', first_day, toDate32(entered_at, {tz:String})))) AS from_index,
            if(left_at IS NULL OR left_at >= {until:DateTime64(3, 'UTC')},
               n_days,
               greatest(toInt64(0), toInt64(dateDiff('day', first_day, toDate32(assumeNotNull(left_at), {tz:String}))))) AS to_index,
            toInt64(count()) AS stays,
            toInt64(countIf(entered_at < {since:DateTime64(3, 'UTC')} AND (left_at IS NULL OR left_at >= {since:DateTime64(3, 'UTC')}))) AS stays_at_since
        FROM
        (
            -- The spans of each item's ended stays, kept with the item (schema/0010): one starts
            -- where a stay does not begin as the one before it ended, and ends where the next does
            -- not begin as it ends.
            SELECT flow_type, entered_at, CAST(left_at AS Nullable(DateTime64(3, 'UTC'))) AS left_at
            FROM item_flow FINAL
            ARRAY JOIN wip_span_entered_at AS entered_at, wip_span_left_at AS left_at
            WHERE deleted = 0
              AND arrayMax(state_last_left) >= first_instant
              AND ({stream:String} = '' OR stream = {stream:String})
              AND ({team:String} = '' OR team = {team:String})
              AND ({flow_type:String} = '' OR flow_type = {flow_type:String})
              AND left_at >= first_instant
              AND entered_at < {until:DateTime64(3, 'UTC')}
            UNION ALL
            -- The stays still open, read as views/0006 reads them. Not taken from that view: its
            -- ended stays would be read a second time (185 against 120 ms p50 at 1M items).
            SELECT flow_type, entered_at, CAST(NULL AS Nullable(DateTime64(3, 'UTC'))) AS left_at
            FROM open_wip FINAL
            WHERE entered_at < {until:DateTime64(3, 'UTC')}
              AND ({stream:String} = '' OR stream = {stream:String})
              AND ({team:String} = '' OR team = {team:String})
              AND ({flow_type:String} = '' OR flow_type = {flow_type:String})
        )
        GROUP BY flow_type, from_index, to_index
    )
    GROUP BY flow_type
)
ARRAY JOIN per_day AS wip, arrayEnumerate(per_day) AS position
ORDER BY day, flow_type
