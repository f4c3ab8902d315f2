-- Bottlenecks, growing queues: active and waiting states whose number of items at each week end
-- has grown (strictly) for at least {growth_weeks} consecutive weeks up to the last week end at
-- or before `until`. A week end is Monday 00:00 in zone {tz}; an item is in a state at that
-- instant when its stay began before it and had not ended (entered_at < instant <= left_at),
-- which on local dates reads: entry day < Monday <= exit day.
-- weeks_growing is the length of the run of increases ending at the last week end (looking back
-- at most max(12, growth_weeks) weeks), queue_now the count at that week end and queue_before
-- the count at the week end where the run began. The stays come from the wip_stays view, as in
-- load.sql. Days are Date32 (the Monday found by day arithmetic) and instants DateTime64, as in
-- load.sql, so every date the store holds is counted where it belongs.
WITH
    greatest(toUInt32(12), {growth_weeks:UInt32}) AS lookback,
    toDate32({until:DateTime64(3, 'UTC')}, {tz:String}) AS until_day,
    until_day - (toDayOfWeek(until_day) - 1) AS last_monday,
    last_monday - 7 * lookback AS first_monday
SELECT
    state,
    toUInt32(weeks_growing) AS weeks_growing,
    toUInt32(counts[lookback + 1]) AS queue_now,
    toUInt32(counts[lookback + 1 - weeks_growing]) AS queue_before
FROM
(
    SELECT
        state,
        groupArray((from_day, to_day, stays)) AS spans,
        -- Week end k (1-based) is day 7 * (k - 1) after first_monday.
        arrayMap(k -> arraySum(arrayMap(s -> if(s.1 < 7 * (k - 1) AND 7 * (k - 1) <= s.2, s.3, 0), spans)),
                 range(1, lookback + 2)) AS counts,
        arrayReverse(arrayMap(k -> counts[k + 1] > counts[k], range(1, lookback + 1))) AS rises_latest_first,
        if(arrayAll(x -> x, rises_latest_first), lookback, arrayFirstIndex(x -> NOT x, rises_latest_first) - 1) AS weeks_growing
    FROM
    (
        -- Stays with the same entry and exit day are counted together: few distinct spans. Only
        -- stays that hold some week end count (a Monday in (from_day, to_day], i.e. their entry and
        -- exit fall in different weeks): most stays begin and end within one week, and leaving
        -- them out before grouping changes no count. A state whose stays all do so has only
        -- zero counts, so no rise: it is not listed either way, as {growth_weeks} is at least 1.
        SELECT
            state,
            greatest(toInt64(-1), toInt64(dateDiff('day', first_monday, toDate32(entered_at, {tz:String})))) AS from_day,
            if(left_at IS NULL, toInt64(7 * lookback + 1),
               least(toInt64(7 * lookback + 1), toInt64(dateDiff('day', first_monday, toDate32(assumeNotNull(left_at), {tz:String}))))) AS to_day,
            toInt64(count()) AS stays
        FROM wip_stays(
            since = toTimeZone(toDateTime64(first_monday, 3, {tz:String}), 'UTC'),
            until = toTimeZone(toDateTime64(last_monday, 3, {tz:String}), 'UTC'),
            stream = {stream:String}, team = {team:String}, flow_type = {flow_type:String})
        -- from_day >= -1, so both sides are whole weeks counted from first_monday - 7 days.
        WHERE intDiv(to_day + 7, 7) > intDiv(from_day + 7, 7)
        GROUP BY state, from_day, to_day
    )
    GROUP BY state
)
WHERE weeks_growing >= {growth_weeks:UInt32}
ORDER BY weeks_growing DESC, queue_now DESC, state
