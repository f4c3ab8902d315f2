-- Dashboard overview: the WIP per flow item type at one instant, {until} (the previous window's
-- end), with load.sql's definitions: an item is WIP when one of its active or waiting stays began
-- before the instant and had not ended before it (entered_at < until <= left_at). The rows are the
-- types load.sql lists for the one local day (zone {tz}) ending at {until}: those with a stay
-- begun before {until} and not ended before that day began, WIP or not at the instant.
-- One row per item, no stay expanded: only the count at one instant is needed, which load.sql
-- would find by adding up a whole day's changes. Items that never started, or finished before the
-- day began, have no stay to count (a stay begins at or after started_at and a finished item's
-- stays ended by finished_at; derive/0003_item_flow.sql), so they are left out before the stays
-- are looked at.
WITH
    toDateTime64(toDate32({until:DateTime64(3, 'UTC')} - toIntervalMillisecond(1), {tz:String}), 3, {tz:String}) AS day_start
SELECT
    flow_type,
    toUInt32(sum(arrayCount((entered_at, left_at) -> entered_at < {until:DateTime64(3, 'UTC')} AND (left_at IS NULL OR left_at >= {until:DateTime64(3, 'UTC')}),
                            wip_stay_entered_at, wip_stay_left_at))) AS wip
FROM item_flow FINAL
WHERE deleted = 0
  AND started_at < {until:DateTime64(3, 'UTC')}
  AND (finished_at IS NULL OR finished_at >= day_start)
  AND ({stream:String} = '' OR stream = {stream:String})
  AND ({team:String} = '' OR team = {team:String})
  AND ({flow_type:String} = '' OR flow_type = {flow_type:String})
GROUP BY flow_type
HAVING sum(arrayCount((entered_at, left_at) -> entered_at < {until:DateTime64(3, 'UTC')} AND (left_at IS NULL OR left_at >= day_start),
                      wip_stay_entered_at, wip_stay_left_at)) > 0
ORDER BY flow_type
