-- Cumulative flow: at the end of each local day (zone {tz}) of the window, how many items are in
-- each active or waiting state (band 'wip', one row per state), and how many items finished
-- 'done' from `since` up to then (band 'done', state ''). The end of a day is the next local
-- midnight, or `until` for the last day, as in load.sql: an item is in a state at that instant
-- when its stay began before it and had not ended (entered_at < instant <= left_at), so the 'wip'
-- rows of a day add up to load.sql's WIP that day, and the last 'done' row equals the window's
-- velocity (delivered_items' rule: outcome 'done', finished in [since, until)).
-- rank orders the states as items move through them: the mean position of the state's stays in
-- their items' histories (wip_stays' position), over the stays in the window.
WITH
    toDate32({since:DateTime64(3, 'UTC')}, {tz:String}) AS first_day,
    toDate32({until:DateTime64(3, 'UTC')} - toIntervalMillisecond(1), {tz:String}) AS last_day,
    toInt64(dateDiff('day', first_day, last_day) + 1) AS n_days
SELECT
    toString(first_day + (position - 1)) AS day,
    band,
    state,
    round(rank, 4) AS rank,
    toUInt32(count_then) AS items
FROM
(
    SELECT
        'wip' AS band,
        toString(state) AS state,
        sum(position_sum) / sum(stays) AS rank,
        sumMap([from_index, to_index], [stays, -stays]) AS changes,
        arrayCumSum(arrayMap(i -> changes.2[indexOf(changes.1, i)], range(n_days))) AS per_day
    FROM
    (
        SELECT
            state,
            greatest(toInt64(0), toInt64(dateDiff('day', first_day, toDate32(entered_at, {tz:String})))) AS from_index,
            if(left_at IS NULL OR left_at >= {until:DateTime64(3, 'UTC')},
               n_days,
               greatest(toInt64(0), toInt64(dateDiff('day', first_day, toDate32(assumeNotNull(left_at), {tz:String}))))) AS to_index,
            toInt64(count()) AS stays,
            toFloat64(sum(position)) AS position_sum
        FROM wip_stays(
            since = toTimeZone(toDateTime64(first_day, 3, {tz:String}), 'UTC'), until = {until:DateTime64(3, 'UTC')},
            stream = {stream:String}, team = {team:String}, flow_type = {flow_type:String})
        GROUP BY state, from_index, to_index
    )
    GROUP BY state
    UNION ALL
    SELECT
        'done' AS band,
        '' AS state,
        toFloat64(1e9) AS rank,
        sumMap([day_index], [finished]) AS changes,
        arrayCumSum(arrayMap(i -> changes.2[indexOf(changes.1, i)], range(n_days))) AS per_day
    FROM
    (
        SELECT
            toInt64(dateDiff('day', first_day, toDate32(assumeNotNull(finished_at), {tz:String}))) AS day_index,
            toInt64(count()) AS finished
        FROM item_flow FINAL
        WHERE deleted = 0
          AND outcome = 'done'
          AND finished_at >= {since:DateTime64(3, 'UTC')}
          AND finished_at < {until:DateTime64(3, 'UTC')}
          AND ({stream:String} = '' OR stream = {stream:String})
          AND ({team:String} = '' OR team = {team:String})
          AND ({flow_type:String} = '' OR flow_type = {flow_type:String})
        GROUP BY day_index
    )
)
ARRAY JOIN per_day AS count_then, arrayEnumerate(per_day) AS position
ORDER BY day, rank, state
