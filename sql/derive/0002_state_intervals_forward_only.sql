-- Rebuilds the state intervals of the queued items of forward-only streams (lifecycle_ranks, see
-- schema/0006_lifecycles.sql; every other item was derived by 0001). A transition into a state
-- ranked below the highest rank the item already reached, in history order, is out of sequence:
-- it is written with out_of_sequence_after naming that state, seq 0 and no stay (it neither closes
-- the stay before it nor opens one), and the item's stays are numbered and linked without it.
-- Two window passes: the first finds the out-of-sequence rows, the second links the others. The
-- count comes first, as in 0001: with no forward-only stream at all, work_items is not read here.
INSERT INTO state_intervals
    (item_id, event_id, seq, state, flow_state, prev_flow_state, after_start, final_terminal, entered_at, left_at,
     stream, team, flow_type, deleted, version, out_of_sequence_after)
SETTINGS optimize_on_insert = 0
SELECT
    item_id,
    event_id,
    if(skipped, 0, toUInt32(row_number() OVER w)) AS seq,
    to_state AS state,
    to_flow_state AS flow_state,
    if(skipped, '', lagInFrame(toString(to_flow_state), 1, '') OVER w) AS prev_flow_state,
    if(skipped, 0, toUInt8(max(to_flow_state IN ('active', 'waiting')) OVER (
        PARTITION BY item_id, skipped ORDER BY at, is_creation DESC, event_id
        ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW))) AS after_start,
    if(skipped, 0, toUInt8(NOT max(to_flow_state NOT IN ('done', 'canceled')) OVER (
        PARTITION BY item_id, skipped ORDER BY at, is_creation DESC, event_id
        ROWS BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING))) AS final_terminal,
    at AS entered_at,
    if(skipped, NULL, leadInFrame(toNullable(at), 1, NULL) OVER w) AS left_at,
    stream,
    team,
    flow_type,
    deleted,
    {version:UInt64} AS version,
    if(skipped, reached_state, '') AS out_of_sequence_after
FROM
(
    SELECT
        t.item_id AS item_id, t.event_id AS event_id, t.to_state AS to_state, t.to_flow_state AS to_flow_state,
        t.at AS at, t.is_creation AS is_creation, i.stream AS stream, i.team AS team, i.flow_type AS flow_type, i.deleted AS deleted,
        -- The highest rank reached before this transition, and the state that reached it. An
        -- unranked state (rank 0) is never out of sequence.
        r.rank AS rank,
        max(r.rank) OVER before AS reached_rank,
        argMax(t.to_state, r.rank) OVER before AS reached_state,
        rank > 0 AND rank < reached_rank AS skipped
    FROM
    (
        SELECT item_id, event_id, to_state, to_flow_state, at, from_state = '' AS is_creation
        FROM transitions FINAL
        WHERE item_id IN (
            SELECT item_id FROM work_items FINAL
            WHERE (SELECT count() FROM lifecycle_ranks) > 0
              AND item_id IN (SELECT item_id FROM refresh_queue WHERE batch_id = {batch_id:String})
              AND stream IN (SELECT stream FROM lifecycle_ranks))
    ) AS t
    INNER JOIN
    (
        SELECT item_id, stream, team, flow_type, deleted
        FROM work_items FINAL
        WHERE (SELECT count() FROM lifecycle_ranks) > 0
          AND item_id IN (SELECT item_id FROM refresh_queue WHERE batch_id = {batch_id:String})
          AND stream IN (SELECT stream FROM lifecycle_ranks)
    ) AS i ON i.item_id = t.item_id
    LEFT JOIN (SELECT stream, state, rank FROM lifecycle_ranks FINAL) AS r ON r.stream = i.stream AND r.state = t.to_state
    WINDOW before AS (
        PARTITION BY t.item_id ORDER BY t.at, t.is_creation DESC, t.event_id
        ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
)
WINDOW w AS (
    PARTITION BY item_id, skipped ORDER BY at, is_creation DESC, event_id
    ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
