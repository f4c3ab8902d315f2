-- Load ceiling: per type, the day each WIP stay overlapping the window starts and stops counting
-- (the running sum over those changes is the WIP of each day): stays that ended in the window from
-- item_flow (its state_left_window index), stays still open from open_wip.
WITH
    toDate32({since:DateTime64(3, 'UTC')}) AS first_day,
    toInt64(dateDiff('day', first_day, toDate32({until:DateTime64(3, 'UTC')}))) AS n_days
SELECT flow_type,
       sumMap([greatest(toInt64(0), toInt64(dateDiff('day', first_day, toDate32(entered_at)))),
               if(left_at IS NULL OR left_at >= {until:DateTime64(3, 'UTC')}, n_days,
                  greatest(toInt64(0), toInt64(dateDiff('day', first_day, toDate32(assumeNotNull(left_at))))))],
              [toInt64(1), toInt64(-1)]) AS changes
FROM
(
    SELECT flow_type, entered_at, left_at
    FROM item_flow FINAL
    ARRAY JOIN wip_stay_entered_at AS entered_at, wip_stay_left_at AS left_at
    WHERE deleted = 0 AND arrayMax(state_last_left) >= toDateTime64(first_day, 3, 'UTC')
      AND entered_at < {until:DateTime64(3, 'UTC')} AND left_at >= toDateTime64(first_day, 3, 'UTC')
    UNION ALL
    SELECT flow_type, entered_at, CAST(NULL AS Nullable(DateTime64(3, 'UTC'))) AS left_at
    FROM open_wip FINAL
    WHERE entered_at < {until:DateTime64(3, 'UTC')}
)
GROUP BY flow_type
