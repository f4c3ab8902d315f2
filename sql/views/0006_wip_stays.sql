-- wip_stays(...): the active and waiting stays that overlap [since, until), the one definition flow
-- load, growing queues and the cumulative flow diagram share. A parameterized view:
--   SELECT * FROM wip_stays(since = '2026-01-01 00:00:00', until = '2026-02-01 00:00:00',
--       stream = '', team = '', flow_type = '')
-- A stay overlaps when it began before `until` and had not ended before `since`; '' in a filter
-- means all. position is the stay's place among its item's active and waiting stays (1 = first);
-- left_at is NULL for a stay still open. Pass since and until in UTC (toTimeZone(x, 'UTC')): a
-- parameterized view takes an argument by its text, so a zoned instant would be read as that wall
-- time in UTC (test/open-wip.test.ts caught a Kolkata window shifted by 5.5 hours).
-- Stays that ended come from item_flow's wip_stay_* arrays, read only for items that left some
-- state since `since` (implied by such a stay; it lets the state_left_window index of schema 0008
-- skip the other granules). Stays still open come from open_wip (schema 0009), which holds only
-- the items in progress now. So a read follows the window and the current WIP, not the history.
CREATE OR REPLACE VIEW wip_stays AS
SELECT item_id, stream, team, flow_type, state, entered_at, left_at, position
FROM item_flow FINAL
ARRAY JOIN wip_stay_states AS state, wip_stay_entered_at AS entered_at, wip_stay_left_at AS left_at,
           arrayEnumerate(wip_stay_states) AS position
WHERE deleted = 0
  AND arrayMax(state_last_left) >= {since:DateTime64(3, 'UTC')}
  AND left_at IS NOT NULL
  AND left_at >= {since:DateTime64(3, 'UTC')}
  AND entered_at < {until:DateTime64(3, 'UTC')}
  AND ({stream:String} = '' OR stream = {stream:String})
  AND ({team:String} = '' OR team = {team:String})
  AND ({flow_type:String} = '' OR flow_type = {flow_type:String})
UNION ALL
SELECT item_id, stream, team, flow_type, state, entered_at, CAST(NULL AS Nullable(DateTime64(3, 'UTC'))) AS left_at, position
FROM open_wip FINAL
WHERE entered_at < {until:DateTime64(3, 'UTC')}
  AND ({stream:String} = '' OR stream = {stream:String})
  AND ({team:String} = '' OR team = {team:String})
  AND ({flow_type:String} = '' OR flow_type = {flow_type:String})
