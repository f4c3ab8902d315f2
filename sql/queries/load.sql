-- Flow load: WIP at the end of each local day (zone {tz}) in the window, per flow item type.
-- An item is WIP at an instant when it is in an active or waiting state then: the stay began
-- before the instant and had not ended before it (entered_at < instant <= left_at). The instant
-- of a day is the next local midnight, or `until` for the last, unfinished day, so the last row
-- is the WIP as of `until`.
-- One pass over the stays overlapping the window: each adds +1 on the day it began and -1 on the
-- day it ended; a running sum over the days gives the WIP, and days without change read as the
-- sum so far (zero-filled when nothing was in progress). The stays come from the wip_stays view
-- (views/0006): the window's ended stays and the open ones, not every item ever stored.
-- Days are Date32 and instants DateTime64, which hold every date the store does (1900..2299);
-- Date and DateTime would wrap outside 1970..2149 and 1970..2106.
-- From the same pass, wip_at_since: the WIP at `since` (on every row of its type), which the
-- dashboard's overview sets beside the figure as the previous window's end, so that view reads
-- every item once, not twice. Every stay WIP at `since` is among those read here: it ends at or
-- after `since`, which is on the window's first day, and began before `until`.
WITH
    toDate32({since:DateTime64(3, 'UTC')}, {tz:String}) AS first_day,
    toDate32({until:DateTime64(3, 'UTC')} - toIntervalMillisecond(1), {tz:String}) AS last_day,
    toInt64(dateDiff('day', first_day, last_day) + 1) AS n_days
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
        -- Stays with the same first and last day are counted together: few distinct pairs.
        SELECT
            flow_type,
            greatest(toInt64(0), toInt64(dateDiff('day', first_day, toDate32(entered_at, {tz:String})))) AS from_index,
            if(left_at IS NULL OR left_at >= {until:DateTime64(3, 'UTC')},
               n_days,
               greatest(toInt64(0), toInt64(dateDiff('day', first_day, toDate32(assumeNotNull(left_at), {tz:String}))))) AS to_index,
            toInt64(count()) AS stays,
            toInt64(countIf(entered_at < {since:DateTime64(3, 'UTC')} AND (left_at IS NULL OR left_at >= {since:DateTime64(3, 'UTC')}))) AS stays_at_since
        FROM wip_stays(
            since = toTimeZone(toDateTime64(first_day, 3, {tz:String}), 'UTC'), until = {until:DateTime64(3, 'UTC')},
            stream = {stream:String}, team = {team:String}, flow_type = {flow_type:String})
        GROUP BY flow_type, from_index, to_index
    )
    GROUP BY flow_type
)
ARRAY JOIN per_day AS wip, arrayEnumerate(per_day) AS position
ORDER BY day, flow_type
