-- delivered_items(...): the items that count as delivered in a window, the one definition that
-- velocity, flow time, efficiency and the flow-time summary share. A parameterized view:
--   SELECT * FROM delivered_items(since = '2026-01-01 00:00:00', until = '2026-02-01 00:00:00',
--       stream = '', team = '', flow_type = '', tz = 'UTC', period = 'week', flow_time_start = 'first_active')
-- An item is delivered when its outcome is 'done' and it finished in [since, until); '' in a
-- filter means all. period_start is its finish's local day, Monday or month start in zone tz;
-- flow_seconds_by_rule is its flow time under the start rule (NULL when it never started and the
-- rule is first_active).
-- Days are Date32 and weeks/months are found by day arithmetic: Date and toMonday/toStartOfMonth
-- hold only 1970..2149 and wrap anything else (a 1965 finish would land in 2144), while the store
-- holds 1900..2299.
CREATE OR REPLACE VIEW delivered_items AS
SELECT
    *,
    toDate32(assumeNotNull(finished_at), {tz:String}) AS local_day,
    multiIf({period:String} = 'day', local_day,
            {period:String} = 'month', local_day - (toDayOfMonth(local_day) - 1),
            local_day - (toDayOfWeek(local_day) - 1)) AS period_start,
    if({flow_time_start:String} = 'created', flow_seconds_from_created, flow_seconds) AS flow_seconds_by_rule
FROM flow_items
WHERE outcome = 'done'
  AND finished_at >= {since:DateTime64(3, 'UTC')}
  AND finished_at < {until:DateTime64(3, 'UTC')}
  -- The same window on the expression item_flow's finished_window index holds (schema 0008), so
  -- granules of items finished outside it are skipped; a NULL finish is already out above.
  AND assumeNotNull(finished_at) >= {since:DateTime64(3, 'UTC')}
  AND assumeNotNull(finished_at) < {until:DateTime64(3, 'UTC')}
  AND ({stream:String} = '' OR stream = {stream:String})
  AND ({team:String} = '' OR team = {team:String})
  AND ({flow_type:String} = '' OR flow_type = {flow_type:String})
