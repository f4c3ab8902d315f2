-- Analyst views of the flow metrics: the same definitions as sql/queries/ (see docs/metrics.md),
-- bucketed by UTC calendar (weeks start Monday), the 'first_active' flow-time rule, and the
-- default aging (85th percentile, 90 days) and queue (3 weeks) settings. No parameters.
-- Days are Date32 (Mondays and month starts by day arithmetic) and instants DateTime64: Date,
-- DateTime, toMonday and toStartOfMonth wrap outside 1970..2149 (DateTime: 2106), and the store
-- holds 1900..2299.

-- Items finished 'done' per UTC day of finished_at. Sum rows for weeks or months.
CREATE OR REPLACE VIEW flow_velocity AS
SELECT
    toDate32(assumeNotNull(finished_at), 'UTC') AS day,
    day - (toDayOfWeek(day) - 1) AS week_start,
    day - (toDayOfMonth(day) - 1) AS month_start,
    stream,
    team,
    flow_type,
    toUInt32(count()) AS items
FROM flow_items
WHERE outcome = 'done'
GROUP BY day, stream, team, flow_type;

-- Flow time (days) of the items finished 'done', per UTC week of finished_at.
CREATE OR REPLACE VIEW flow_time AS
SELECT
    toDate32(assumeNotNull(finished_at), 'UTC') - (toDayOfWeek(toDate32(assumeNotNull(finished_at), 'UTC')) - 1) AS week_start,
    stream,
    team,
    flow_type,
    toUInt32(count()) AS items,
    round(quantileExactInclusive(0.5)(flow_seconds / 86400), 4) AS p50_days,
    round(quantileExactInclusive(0.85)(flow_seconds / 86400), 4) AS p85_days,
    round(quantileExactInclusive(0.95)(flow_seconds / 86400), 4) AS p95_days,
    round(avg(flow_seconds / 86400), 4) AS mean_days
FROM flow_items
WHERE outcome = 'done' AND flow_seconds IS NOT NULL
GROUP BY week_start, stream, team, flow_type;

-- Flow efficiency per UTC week of finished_at. active_days and flow_days add up across rows,
-- so any roll-up's efficiency is sum(active_days) / sum(flow_days).
CREATE OR REPLACE VIEW flow_efficiency AS
SELECT
    toDate32(assumeNotNull(finished_at), 'UTC') - (toDayOfWeek(toDate32(assumeNotNull(finished_at), 'UTC')) - 1) AS week_start,
    stream,
    team,
    flow_type,
    toUInt32(count()) AS items,
    round(sum(active_seconds) / sum(flow_seconds), 4) AS efficiency,
    round(sum(active_seconds) / 86400, 4) AS active_days,
    round((sum(flow_seconds) - sum(active_seconds)) / 86400, 4) AS wait_days,
    round(sum(flow_seconds) / 86400, 4) AS flow_days
FROM flow_items
WHERE outcome = 'done' AND flow_seconds > 0
GROUP BY week_start, stream, team, flow_type;

-- WIP at the end of each UTC day (the next midnight; today: now) over the last 365 days.
CREATE OR REPLACE VIEW flow_load_daily AS
WITH
    toDate32(today()) - 364 AS first_day,
    toInt64(365) AS n_days
SELECT
    first_day + (position - 1) AS day,
    stream,
    team,
    flow_type,
    toUInt32(wip) AS wip
FROM
(
    SELECT
        stream,
        team,
        flow_type,
        sumMap([from_index, to_index], [toInt64(1), toInt64(-1)]) AS changes,
        arrayCumSum(arrayMap(i -> changes.2[indexOf(changes.1, i)], range(n_days))) AS per_day
    FROM
    (
        SELECT
            stream,
            team,
            flow_type,
            greatest(toInt64(0), toInt64(dateDiff('day', first_day, toDate32(entered_at, 'UTC')))) AS from_index,
            if(left_at IS NULL, n_days,
               greatest(toInt64(0), toInt64(dateDiff('day', first_day, toDate32(assumeNotNull(left_at), 'UTC'))))) AS to_index
        FROM
        (
            -- WIP spans that ended since the first day (schema/0010: runs of back-to-back stays,
            -- whose -1 and +1 would cancel on the day one stay ends as the next begins), read only
            -- for items that left some state since then (implied by such a span; the
            -- state_left_window index of schema 0008 skips the rest), and the stays still open
            -- from open_wip: as flow load reads them (queries/load.sql), so the view follows the
            -- year and the current WIP, not every item ever stored.
            SELECT stream, team, flow_type, entered_at, CAST(left_at AS Nullable(DateTime64(3, 'UTC'))) AS left_at
            FROM item_flow FINAL
            ARRAY JOIN wip_span_entered_at AS entered_at, wip_span_left_at AS left_at
            WHERE deleted = 0
              AND arrayMax(state_last_left) >= toDateTime64(first_day, 3, 'UTC')
              AND left_at >= toDateTime64(first_day, 3, 'UTC')
            UNION ALL
            SELECT stream, team, flow_type, entered_at, CAST(NULL AS Nullable(DateTime64(3, 'UTC'))) AS left_at
            FROM open_wip FINAL
        )
    )
    GROUP BY stream, team, flow_type
)
ARRAY JOIN per_day AS wip, arrayEnumerate(per_day) AS position;

-- Share of each type per stream among the items finished 'done' in the last 90 days
-- (scope 'completed') and among the WIP now (scope 'wip').
CREATE OR REPLACE VIEW flow_distribution AS
SELECT
    scope,
    stream,
    flow_type,
    items,
    round(items / sum(items) OVER (PARTITION BY scope, stream), 4) AS share
FROM
(
    SELECT
        stream,
        flow_type,
        toUInt32(countIf(outcome = 'done' AND finished_at >= now64(3) - toIntervalDay(90))) AS completed,
        toUInt32(countIf(status = 'wip')) AS wip
    FROM flow_items
    WHERE outcome = 'done' OR status = 'wip'
    GROUP BY stream, flow_type
)
ARRAY JOIN ['completed', 'wip'] AS scope, [completed, wip] AS items
WHERE items > 0;

-- Time in state per UTC week: an item's closed stays in a state (after the start; done/canceled
-- never) added up, counted in the week in which it last left that state (as time_in_state.sql).
CREATE OR REPLACE VIEW bottleneck_time_in_state AS
SELECT
    week_start,
    stream,
    state,
    toString(flow_state) AS flow_state,
    toUInt32(count()) AS items,
    round(quantileExactInclusive(0.5)(days), 4) AS median_days,
    round(quantileExactInclusive(0.85)(days), 4) AS p85_days,
    round(sum(days), 4) AS total_days
FROM
(
    SELECT
        toDate32(last_left, 'UTC') - (toDayOfWeek(toDate32(last_left, 'UTC')) - 1) AS week_start,
        stream,
        state,
        flow_state,
        seconds / 86400 AS days
    FROM item_flow FINAL
    ARRAY JOIN
        state_names AS state,
        state_flow_states AS flow_state,
        state_seconds AS seconds,
        state_stays_after_start AS stays_after_start,
        state_last_left AS last_left
    WHERE deleted = 0 AND stays_after_start > 0
)
GROUP BY week_start, stream, state, flow_state;

-- WIP now older than the 85th percentile of the flow time of its stream and type's items
-- finished in the last 90 days.
CREATE OR REPLACE VIEW bottleneck_aging_wip AS
SELECT
    w.item_id AS item_id,
    w.key AS key,
    w.title AS title,
    w.url AS url,
    w.stream AS stream,
    w.team AS team,
    w.flow_type AS flow_type,
    w.current_state AS current_state,
    round(w.age_seconds / 86400, 4) AS age_days,
    round(t.threshold_days, 4) AS threshold_days
FROM
(
    SELECT item_id, key, title, url, stream, team, flow_type, current_state, assumeNotNull(age_seconds) AS age_seconds
    FROM flow_items
    WHERE status = 'wip'
) AS w
INNER JOIN
(
    SELECT stream, flow_type, quantileExactInclusive(0.85)(flow_seconds) / 86400 AS threshold_days
    FROM flow_items
    WHERE outcome = 'done' AND finished_at >= now64(3) - toIntervalDay(90) AND flow_seconds IS NOT NULL
    GROUP BY stream, flow_type
) AS t ON t.stream = w.stream AND t.flow_type = w.flow_type
WHERE w.age_seconds / 86400 > t.threshold_days;

-- Active and waiting states per stream with their run of weekly growth up to the last UTC
-- Monday (looking back 12 weeks). The metric API reports a queue as growing at 3 weeks or more.
CREATE OR REPLACE VIEW bottleneck_queue_growth AS
WITH
    toUInt32(12) AS lookback,
    toDate32(today()) - (toDayOfWeek(today()) - 1) AS last_monday,
    arrayMap(k -> toDateTime64(last_monday - 7 * (lookback - k), 3, 'UTC'), range(lookback + 1)) AS instants
SELECT
    stream,
    state,
    toDate32(instants[lookback + 1], 'UTC') AS week_end,
    toUInt32(weeks_growing) AS weeks_growing,
    toUInt32(counts[lookback + 1]) AS queue_now,
    toUInt32(counts[lookback + 1 - weeks_growing]) AS queue_before
FROM
(
    SELECT
        stream,
        state,
        sumMap([week], [toUInt64(1)]) AS per_week,
        arrayMap(k -> per_week.2[indexOf(per_week.1, k)], range(1, lookback + 2)) AS counts,
        arrayReverse(arrayMap(k -> counts[k + 1] > counts[k], range(1, lookback + 1))) AS rises_latest_first,
        if(arrayAll(x -> x, rises_latest_first), lookback, arrayFirstIndex(x -> NOT x, rises_latest_first) - 1) AS weeks_growing
    FROM
    (
        SELECT
            stream,
            state,
            toUInt32(arrayJoin(arrayFilter(
                k -> entered_at < instants[k] AND (left_at IS NULL OR assumeNotNull(left_at) >= instants[k]),
                range(1, lookback + 2)))) AS week
        FROM
        (
            -- Ended stays only of items that left some state since the first week end (the
            -- state_left_window index skips the rest), open stays from open_wip: what the wip_stays
            -- view (views/0006) gives, written out here because views are created in file order
            -- and wip_stays does not exist yet when this one is.
            SELECT stream, state, entered_at, CAST(left_at AS Nullable(DateTime64(3, 'UTC'))) AS left_at
            FROM item_flow FINAL
            ARRAY JOIN wip_stay_states AS state, wip_stay_entered_at AS entered_at, wip_stay_left_at AS left_at
            WHERE deleted = 0
              AND arrayMax(state_last_left) >= instants[1]
              AND entered_at < instants[lookback + 1]
              AND left_at IS NOT NULL
              AND left_at >= instants[1]
            UNION ALL
            SELECT stream, state, entered_at, CAST(NULL AS Nullable(DateTime64(3, 'UTC'))) AS left_at
            FROM open_wip FINAL
            WHERE entered_at < instants[lookback + 1]
        )
    )
    GROUP BY stream, state
);
