-- Rebuilds the state intervals of the items queued under {batch_id}. Each transition opens an
-- interval that the next transition closes. History is ordered by time; at equal times the
-- creation event comes first, then event id, so ties resolve the same way on every rebuild.
-- Items of forward-only streams (lifecycle_ranks, see schema/0006_lifecycles.sql) are left to the
-- next step (0002_state_intervals_forward_only.sql), so every other item keeps this single pass
-- over its history.
INSERT INTO state_intervals
    (item_id, event_id, seq, state, flow_state, prev_flow_state, after_start, final_terminal, entered_at, left_at,
     stream, team, flow_type, deleted, version, out_of_sequence_after)
SETTINGS optimize_on_insert = 0
SELECT
    t.item_id,
    t.event_id,
    toUInt32(row_number() OVER w) AS seq,
    t.to_state AS state,
    t.to_flow_state AS flow_state,
    lagInFrame(toString(t.to_flow_state), 1, '') OVER w AS prev_flow_state,
    toUInt8(max(t.to_flow_state IN ('active', 'waiting')) OVER (
        PARTITION BY t.item_id ORDER BY t.at, t.is_creation DESC, t.event_id
        ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)) AS after_start,
    -- 1 for the trailing run of done/canceled stays: nothing open follows, so the item is finished.
    toUInt8(NOT max(t.to_flow_state NOT IN ('done', 'canceled')) OVER (
        PARTITION BY t.item_id ORDER BY t.at, t.is_creation DESC, t.event_id
        ROWS BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING)) AS final_terminal,
    t.at AS entered_at,
    leadInFrame(toNullable(t.at), 1, NULL) OVER w AS left_at,
    i.stream,
    i.team,
    if(i.item_id = '', 'unknown', i.flow_type) AS flow_type,
    i.deleted,
    {version:UInt64} AS version,
    '' AS out_of_sequence_after
FROM
(
    SELECT item_id, event_id, to_state, to_flow_state, at, from_state = '' AS is_creation
    FROM transitions FINAL
    WHERE item_id IN (SELECT item_id FROM refresh_queue WHERE batch_id = {batch_id:String})
      -- Not even read for the items the next step derives (the stream's orders are all of them).
      -- The count comes first: with no forward-only stream at all, work_items is not read here.
      AND item_id NOT IN (
          SELECT item_id FROM work_items FINAL
          WHERE (SELECT count() FROM lifecycle_ranks) > 0
            AND item_id IN (SELECT item_id FROM refresh_queue WHERE batch_id = {batch_id:String})
            AND stream IN (SELECT stream FROM lifecycle_ranks))
) AS t
LEFT JOIN
(
    SELECT item_id, stream, team, flow_type, deleted
    FROM work_items FINAL
    WHERE item_id IN (SELECT item_id FROM refresh_queue WHERE batch_id = {batch_id:String})
) AS i ON i.item_id = t.item_id
WHERE i.stream NOT IN (SELECT stream FROM lifecycle_ranks)
WINDOW w AS (
    PARTITION BY t.item_id ORDER BY t.at, t.is_creation DESC, t.event_id
    ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
