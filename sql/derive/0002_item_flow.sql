-- Rebuilds item_flow for the items queued under {batch_id} from their state intervals.
-- The trailing run of terminal states (done or canceled) finishes an item at its first entry;
-- done/canceled stays before a reopen are pauses and count toward no duration.
INSERT INTO item_flow
SELECT
    s.item_id,
    i.source,
    if(i.item_id = '', '', i.stream) AS stream,
    i.team,
    if(i.item_id = '', 'unknown', i.flow_type) AS flow_type,
    i.key,
    i.title,
    i.url,
    -- An item known only by its history was created when that history began.
    if(i.item_id = '', s.first_entered_at, i.created_at) AS created_at,
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
    {version:UInt64} AS version
FROM
(
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
        toUInt32(count()) AS transition_count
    FROM state_intervals FINAL
    WHERE item_id IN (SELECT item_id FROM refresh_queue WHERE batch_id = {batch_id:String})
    GROUP BY item_id
) AS s
LEFT JOIN
(
    SELECT item_id, source, stream, team, flow_type, key, title, url, created_at, deleted
    FROM work_items FINAL
    WHERE item_id IN (SELECT item_id FROM refresh_queue WHERE batch_id = {batch_id:String})
) AS i ON i.item_id = s.item_id
