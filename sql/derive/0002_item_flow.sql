-- Rebuilds item_flow for the items queued under {batch_id} from their state intervals.
-- The trailing run of terminal states (done or canceled) finishes an item at its first entry;
-- done/canceled stays before a reopen are pauses and count toward no duration.
-- The state_* arrays hold, per state the item has left at least once (new/active/waiting only),
-- its closed stays there added up, so the time in state signal reads one row per item.
INSERT INTO item_flow
    (item_id, source, stream, team, flow_type, key, title, url, created_at, started_at, finished_at,
     outcome, current_state, current_flow_state, current_state_since, active_seconds, wait_seconds,
     pre_start_seconds, reopen_count, transition_count, deleted, version,
     state_names, state_flow_states, state_seconds, state_seconds_all, state_stays_after_start, state_last_left,
     wip_stay_states, wip_stay_entered_at, wip_stay_left_at)
-- open_wip's materialized view (schema/0009) runs on this insert. Copying 1M items' rows with the
-- view took ~1.3-2.4 s longer than without it; with two insert threads and the view processed in
-- parallel, about as long as without the view (and the import as fast as before 0009).
SETTINGS optimize_on_insert = 0, max_insert_threads = 2, parallel_view_processing = 1
SELECT
    s.item_id,
    i.source,
    if(i.item_id = '', '', i.stream) AS stream,
    i.team,
    if(i.item_id = '', 'unknown', i.flow_type) AS flow_type,
    i.key,
    i.title,
    i.url,
    -- An item known only by its history was created when that history began. An item cannot move
    -- before it exists, so a recorded move before created_at shows created_at is wrong: the
    -- history's start wins, and every 'created'-rule figure (flow time, aging) starts there.
    if(i.item_id = '', s.first_entered_at, least(i.created_at, s.first_entered_at)) AS created_at,
    s.started_at,
    if(s.current_flow_state IN ('done', 'canceled'), s.terminal_entered_at, NULL) AS finished_at,
    multiIf(s.current_flow_state = 'done', 'done', s.current_flow_state = 'canceled', 'canceled', 'open') AS outcome,
    s.current_state,
    s.current_flow_state,
    s.current_state_since,
    s.active_seconds,
    s.wait_seconds,
    s.pre_start_seconds
        + greatest(0, dateDiff('millisecond', if(i.item_id = '', s.first_entered_at, i.created_at), s.first_entered_at) / 1000) AS pre_start_seconds,
    s.reopen_count,
    s.transition_count,
    i.deleted,
    {version:UInt64} AS version,
    arraySort(arrayDistinct(s.closed_states)) AS state_names,
    CAST(arrayMap(n -> arrayMax(arrayFilter((v, k) -> k = n, s.closed_flow_states, s.closed_states)), state_names) AS Array(Enum8('new' = 1, 'active' = 2, 'waiting' = 3, 'done' = 4, 'canceled' = 5))) AS state_flow_states,
    arrayMap(n -> arraySum(arrayFilter((v, k) -> k = n, s.closed_seconds, s.closed_states)), state_names) AS state_seconds,
    arrayMap(n -> arraySum(arrayFilter((v, k) -> k = n, s.closed_seconds_all, s.closed_states)), state_names) AS state_seconds_all,
    arrayMap(n -> toUInt32(arrayCount((v, k) -> k = n AND v = 1, s.closed_after_start, s.closed_states)), state_names) AS state_stays_after_start,
    arrayMap(n -> fromUnixTimestamp64Milli(arrayMax(arrayFilter((v, k) -> k = n, s.closed_left_ms, s.closed_states)), 'UTC'), state_names) AS state_last_left,
    arraySort((x, k) -> k, s.wip_states, s.wip_seq) AS wip_stay_states,
    arrayMap(x -> fromUnixTimestamp64Milli(x, 'UTC'), arraySort((x, k) -> k, s.wip_entered_ms, s.wip_seq)) AS wip_stay_entered_at,
    arrayMap(x -> if(x = -9000000000000000, NULL, fromUnixTimestamp64Milli(x, 'UTC')), arraySort((x, k) -> k, s.wip_left_ms, s.wip_seq)) AS wip_stay_left_at
FROM
(
    WITH
        left_at IS NOT NULL AND flow_state IN ('new', 'active', 'waiting') AS closed,
        flow_state IN ('active', 'waiting') AS in_progress
    SELECT
        item_id,
        min(entered_at) AS first_entered_at,
        minIfOrNull(entered_at, flow_state IN ('active', 'waiting')) AS started_at,
        argMax(state, seq) AS current_state,
        argMax(flow_state, seq) AS current_flow_state,
        argMax(entered_at, seq) AS current_state_since,
        minIf(entered_at, final_terminal = 1) AS terminal_entered_at,
        sumIf(dateDiff('millisecond', entered_at, assumeNotNull(left_at)) / 1000,
              left_at IS NOT NULL AND flow_state = 'active') AS active_seconds,
        sumIf(dateDiff('millisecond', entered_at, assumeNotNull(left_at)) / 1000,
              left_at IS NOT NULL AND after_start AND flow_state IN ('waiting', 'new')) AS wait_seconds,
        sumIf(dateDiff('millisecond', entered_at, assumeNotNull(left_at)) / 1000,
              left_at IS NOT NULL AND NOT after_start AND flow_state = 'new') AS pre_start_seconds,
        toUInt16(countIf(flow_state NOT IN ('done', 'canceled') AND prev_flow_state IN ('done', 'canceled'))) AS reopen_count,
        toUInt32(count()) AS transition_count,
        -- Closed stays in new/active/waiting, totalled per state above, and the active/waiting
        -- stays, put in history order above. Each is a set of parallel arrays: all aggregates of
        -- one item see its rows in the same order, so the arrays line up. Plain numbers and
        -- strings, not tuples: with tuples (the one way groupArray keeps a NULL) this derive cost
        -- ~15% more, so the open stay's missing end travels as -9e15 ms: below any instant the
        -- store holds (1900 is -2.2e12), where -1 would be 1969-12-31 23:59:59.999, a real end.
        groupArrayIf(toString(state), closed) AS closed_states,
        groupArrayIf(toUInt8(flow_state), closed) AS closed_flow_states,
        groupArrayIf(if(after_start = 1, dateDiff('millisecond', entered_at, assumeNotNull(left_at)) / 1000, 0), closed) AS closed_seconds,
        groupArrayIf(dateDiff('millisecond', entered_at, assumeNotNull(left_at)) / 1000, closed) AS closed_seconds_all,
        groupArrayIf(after_start, closed) AS closed_after_start,
        groupArrayIf(toUnixTimestamp64Milli(assumeNotNull(left_at)), closed) AS closed_left_ms,
        groupArrayIf(seq, in_progress) AS wip_seq,
        groupArrayIf(toString(state), in_progress) AS wip_states,
        groupArrayIf(toUnixTimestamp64Milli(entered_at), in_progress) AS wip_entered_ms,
        groupArrayIf(ifNull(toUnixTimestamp64Milli(left_at), toInt64(-9000000000000000)), in_progress) AS wip_left_ms
    FROM state_intervals FINAL
    -- A transition kept out of sequence (derive/0001) is no stay.
    WHERE item_id IN (SELECT item_id FROM refresh_queue WHERE batch_id = {batch_id:String}) AND out_of_sequence_after = ''
    GROUP BY item_id
) AS s
LEFT JOIN
(
    SELECT item_id, source, stream, team, flow_type, key, title, url, created_at, deleted
    FROM work_items FINAL
    WHERE item_id IN (SELECT item_id FROM refresh_queue WHERE batch_id = {batch_id:String})
) AS i ON i.item_id = s.item_id
