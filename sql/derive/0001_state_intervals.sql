-- Rebuilds the state intervals of the items queued under {batch_id}. Each transition opens an
-- interval that the next transition closes. History is ordered by time; at equal times the
-- creation event comes first, then event id, so ties resolve the same way on every rebuild.
-- In a forward-only lifecycle (lifecycle_ranks, see schema/0006_lifecycles.sql) a transition into
-- a state ranked below the highest rank the item already reached is out of sequence: it is written
-- with out_of_sequence_after naming that state, seq 0 and no stay (it neither closes the stay
-- before it nor opens one), and the item's stays are numbered and linked without it.
INSERT INTO state_intervals
    (item_id, event_id, seq, state, flow_state, prev_flow_state, after_start, final_terminal, entered_at, left_at,
     stream, team, flow_type, deleted, version, out_of_sequence_after)
WITH o.reached_state != '' AS skipped
SELECT
    t.item_id,
    t.event_id,
    if(skipped, 0, toUInt32(row_number() OVER w)) AS seq,
    t.to_state AS state,
    t.to_flow_state AS flow_state,
    if(skipped, '', lagInFrame(toString(t.to_flow_state), 1, '') OVER w) AS prev_flow_state,
    if(skipped, 0, toUInt8(max(t.to_flow_state IN ('active', 'waiting')) OVER (
        PARTITION BY t.item_id, skipped ORDER BY t.at, t.is_creation DESC, t.event_id
        ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW))) AS after_start,
    -- 1 for the trailing run of done/canceled stays: nothing open follows, so the item is finished.
    if(skipped, 0, toUInt8(NOT max(t.to_flow_state NOT IN ('done', 'canceled')) OVER (
        PARTITION BY t.item_id, skipped ORDER BY t.at, t.is_creation DESC, t.event_id
        ROWS BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING))) AS final_terminal,
    t.at AS entered_at,
    if(skipped, NULL, leadInFrame(toNullable(t.at), 1, NULL) OVER w) AS left_at,
    i.stream,
    i.team,
    if(i.item_id = '', 'unknown', i.flow_type) AS flow_type,
    i.deleted,
    {version:UInt64} AS version,
    o.reached_state AS out_of_sequence_after
FROM
(
    SELECT item_id, event_id, to_state, to_flow_state, at, from_state = '' AS is_creation
    FROM transitions FINAL
    WHERE item_id IN (SELECT item_id FROM refresh_queue WHERE batch_id = {batch_id:String})
) AS t
LEFT JOIN
(
    SELECT item_id, stream, team, flow_type, deleted
    FROM work_items FINAL
    WHERE item_id IN (SELECT item_id FROM refresh_queue WHERE batch_id = {batch_id:String})
) AS i ON i.item_id = t.item_id
LEFT JOIN
(
    -- The out-of-sequence transitions, found among the items of forward-only streams only, so
    -- the history of every other item is read and sorted once, as before.
    SELECT item_id, event_id, reached_state
    FROM
    (
        SELECT
            f.item_id AS item_id,
            f.event_id AS event_id,
            r.rank AS rank,
            max(r.rank) OVER before AS reached_rank,
            argMax(f.to_state, r.rank) OVER before AS reached_state
        FROM
        (
            SELECT item_id, event_id, to_state, at, from_state = '' AS is_creation
            FROM transitions FINAL
            WHERE item_id IN (
                SELECT item_id FROM work_items FINAL
                WHERE item_id IN (SELECT item_id FROM refresh_queue WHERE batch_id = {batch_id:String})
                  AND stream IN (SELECT stream FROM lifecycle_ranks))
        ) AS f
        INNER JOIN
        (
            SELECT item_id, stream FROM work_items FINAL
            WHERE item_id IN (SELECT item_id FROM refresh_queue WHERE batch_id = {batch_id:String})
              AND stream IN (SELECT stream FROM lifecycle_ranks)
        ) AS fi ON fi.item_id = f.item_id
        LEFT JOIN (SELECT stream, state, rank FROM lifecycle_ranks FINAL) AS r ON r.stream = fi.stream AND r.state = f.to_state
        WINDOW before AS (
            PARTITION BY f.item_id ORDER BY f.at, f.is_creation DESC, f.event_id
            ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
    )
    WHERE rank > 0 AND rank < reached_rank
) AS o ON o.item_id = t.item_id AND o.event_id = t.event_id
WINDOW w AS (
    PARTITION BY t.item_id, skipped ORDER BY t.at, t.is_creation DESC, t.event_id
    ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
