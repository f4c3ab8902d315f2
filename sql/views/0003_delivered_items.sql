-- delivered_items(...): the items that count as delivered in a window, the one definition that
-- velocity, flow time, efficiency and the flow-time summary share. A parameterized view:
--   SELECT * FROM delivered_items(since = '2026-01-01 00:00:00', until = '2026-02-01 00:00:00',
--       stream = '', team = '', flow_type = '', tz = 'UTC', period = 'week', flow_time_start = 'first_active')
-- An item is delivered when its outcome is 'done' and it finished in [since, until); '' in a
-- filter means all. period_start is its finish's local day, Monday or month start in zone tz;
-- flow_seconds_by_rule is its flow time under the start rule (NULL when it never started and the
-- rule is first_active).
CREATE OR REPLACE VIEW delivered_items AS
SELECT
    *,
    toDate(assumeNotNull(finished_at), {tz:String}) AS local_day,
    multiIf({period:String} = 'day', local_day,
            {period:String} = 'month', toStartOfMonth(local_day),
            toMonday(local_day)) AS period_start,
    if({flow_time_start:String} = 'created', flow_seconds_from_created, flow_seconds) AS flow_seconds_by_rule
FROM flow_items
WHERE outcome = 'done'
  AND finished_at >= {since:DateTime64(3, 'UTC')}
  AND finished_at < {until:DateTime64(3, 'UTC')}
  AND ({stream:String} = '' OR stream = {stream:String})
  AND ({team:String} = '' OR team = {team:String})
  AND ({flow_type:String} = '' OR flow_type = {flow_type:String})
