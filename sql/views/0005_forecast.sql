-- Forecasting for analysts (docs/forecasting.md), as parameterized views. Calendar days in zone
-- tz; '' in a filter means all. The same definitions as `flowpulse forecast` (delivered = outcome
-- 'done', counted on the local day of finished_at; days before the scope's first recorded
-- activity are not sampled), but the random draws come from cityHash64(seed, trial, day) rather
-- than the CLI's generator, so the figures agree in distribution, not to the item. Working days
-- only is a CLI and bot option; these views sample every calendar day.

-- Items finished 'done' per local day from first_day to last_day (both included), zero days filled:
--   SELECT * FROM daily_throughput(first_day = '2026-09-01', last_day = '2026-11-30',
--       stream = '', team = 'payments', flow_type = 'feature', tz = 'UTC')
CREATE OR REPLACE VIEW daily_throughput AS
SELECT
    days.day AS day,
    toUInt32(counts.items) AS items
FROM
(
    SELECT {first_day:Date32} + number AS day
    FROM numbers(toUInt64(greatest(0, dateDiff('day', {first_day:Date32}, {last_day:Date32}) + 1)))
) AS days
LEFT JOIN
(
    SELECT
        toDate32(assumeNotNull(finished_at), {tz:String}) AS day,
        count() AS items
    FROM flow_items
    WHERE outcome = 'done'
      AND ({stream:String} = '' OR stream = {stream:String})
      AND ({team:String} = '' OR team = {team:String})
      AND ({flow_type:String} = '' OR flow_type = {flow_type:String})
      AND day BETWEEN {first_day:Date32} AND {last_day:Date32}
    GROUP BY day
) AS counts USING (day)
ORDER BY day;

-- "When will N items be done?" One row per percentile: the fewest days (today = day 1) within
-- which that share of trials finished, and the day that is (NULL: not within max_days).
--   SELECT * FROM forecast_when(items = 30, first_day = today(), history_days = 90, trials = 10000,
--       seed = 1, max_days = 365, stream = '', team = 'payments', flow_type = 'feature', tz = 'UTC')
CREATE OR REPLACE VIEW forecast_when AS
WITH
    greatest({first_day:Date32} - {history_days:UInt32}, ifNull((
        SELECT minOrNull(toDate32(created_at, {tz:String}))
        FROM item_flow FINAL
        WHERE deleted = 0
          AND ({stream:String} = '' OR stream = {stream:String})
          AND ({team:String} = '' OR team = {team:String})
          AND ({flow_type:String} = '' OR flow_type = {flow_type:String})
    ), {first_day:Date32})) AS history_from,
    (
        SELECT groupArray(items) FROM
        (
            SELECT items FROM daily_throughput(first_day = history_from, last_day = {first_day:Date32} - 1,
                stream = {stream:String}, team = {team:String}, flow_type = {flow_type:String}, tz = {tz:String})
            ORDER BY day
        )
    ) AS history,
    length(history) AS sampled_days,
    arraySum(history) AS history_items
SELECT
    percentile,
    sampled_days,
    history_items,
    if(days = 0, NULL, days) AS days,
    if(days = 0, NULL, {first_day:Date32} + (days - 1)) AS done_by
FROM
(
    SELECT arraySort(groupArray(days)) AS sorted
    FROM
    (
        -- 0 when a trial has not finished within max_days; it sorts last below.
        SELECT arrayFirstIndex(total -> total >= {items:UInt32},
                   arrayCumSum(arrayMap(d -> history[1 + cityHash64({seed:UInt64}, trial, d) % sampled_days], range({max_days:UInt32})))) AS found,
               if(found = 0, toUInt32(4294967295), toUInt32(found)) AS days
        FROM (SELECT number AS trial FROM numbers({trials:UInt32}))
        WHERE history_items > 0
    )
)
ARRAY JOIN [50, 70, 85, 95] AS percentile
-- The p-th: the ceil(p% of trials)-th fewest days.
ARRAY JOIN [sorted[toUInt32(ceil(length(sorted) * percentile / 100))]] AS days_raw
ARRAY JOIN [if(days_raw = 4294967295, 0, days_raw)] AS days
WHERE length(sorted) > 0;

-- "How many items will be done from first_day through last_day?" One row per percentile: at least
-- this many items in that share of trials.
--   SELECT * FROM forecast_howmany(first_day = today(), last_day = '2027-03-31', history_days = 90,
--       trials = 10000, seed = 1, stream = '', team = '', flow_type = '', tz = 'UTC')
CREATE OR REPLACE VIEW forecast_howmany AS
WITH
    greatest({first_day:Date32} - {history_days:UInt32}, ifNull((
        SELECT minOrNull(toDate32(created_at, {tz:String}))
        FROM item_flow FINAL
        WHERE deleted = 0
          AND ({stream:String} = '' OR stream = {stream:String})
          AND ({team:String} = '' OR team = {team:String})
          AND ({flow_type:String} = '' OR flow_type = {flow_type:String})
    ), {first_day:Date32})) AS history_from,
    (
        SELECT groupArray(items) FROM
        (
            SELECT items FROM daily_throughput(first_day = history_from, last_day = {first_day:Date32} - 1,
                stream = {stream:String}, team = {team:String}, flow_type = {flow_type:String}, tz = {tz:String})
            ORDER BY day
        )
    ) AS history,
    length(history) AS sampled_days,
    arraySum(history) AS history_items,
    toUInt32(greatest(0, dateDiff('day', {first_day:Date32}, {last_day:Date32}) + 1)) AS horizon
SELECT
    percentile,
    sampled_days,
    history_items,
    horizon AS days,
    -- The p-th: the (floor((100 - p)% of trials) + 1)-th fewest items.
    sorted[toUInt32(floor(length(sorted) * (100 - percentile) / 100)) + 1] AS items
FROM
(
    SELECT arraySort(groupArray(total)) AS sorted
    FROM
    (
        SELECT arraySum(arrayMap(d -> history[1 + cityHash64({seed:UInt64}, trial, d) % sampled_days], range(horizon))) AS total
        FROM (SELECT number AS trial FROM numbers({trials:UInt32}))
        WHERE history_items > 0 AND horizon > 0
    )
)
ARRAY JOIN [50, 70, 85, 95] AS percentile
WHERE length(sorted) > 0;
