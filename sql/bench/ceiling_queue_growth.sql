-- Queue-growth ceiling: per state, the WIP stays open at each of the last 13 Mondays: stays that
-- ended since the first of them from item_flow (its state_left_window index), stays still open
-- from open_wip.
WITH
    toMonday(toDate32({until:DateTime64(3, 'UTC')})) AS last_monday,
    arrayMap(k -> toDateTime64(last_monday - 7 * (12 - k), 3, 'UTC'), range(13)) AS instants
SELECT state, sumForEach(arrayMap(i -> toUInt64(entered_at < i AND (left_at IS NULL OR assumeNotNull(left_at) >= i)), instants)) AS per_week
FROM
(
    SELECT state, entered_at, left_at
    FROM item_flow FINAL
    ARRAY JOIN wip_stay_states AS state, wip_stay_entered_at AS entered_at, wip_stay_left_at AS left_at
    WHERE deleted = 0 AND arrayMax(state_last_left) >= instants[1]
      AND entered_at < instants[13] AND left_at >= instants[1]
    UNION ALL
    SELECT state, entered_at, CAST(NULL AS Nullable(DateTime64(3, 'UTC'))) AS left_at
    FROM open_wip FINAL
    WHERE entered_at < instants[13]
)
GROUP BY state
