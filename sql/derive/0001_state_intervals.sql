-- Rebuilds the state intervals of the items queued under {batch_id}. Each transition opens an
-- interval that the next transition closes. History is ordered by time; at equal times the
-- creation event comes first, then event id, so ties resolve the same way on every rebuild.
--
-- Forward-only streams (lifecycle_ranks, see schema/0006_lifecycles.sql): a transition into a
-- state ranked below the highest rank the item already reached, in history order, is out of
-- sequence. It is written with out_of_sequence_after naming the state that reached that rank
-- (the first to, on a tie), seq 0 and no stay: it neither closes the stay before it nor opens one,
-- and the item's stays are numbered and linked without it. An unranked state (rank 0), and every
-- state of a stream without ranks, is never out of sequence.
--
-- One pass per item over its history as arrays (grouped by item, sorted, then unrolled): window
-- functions need a sort per window level, and the out-of-sequence rule needs two levels (which rows
-- are out of sequence, then the links between the others), which cost twice the time of this pass.
INSERT INTO state_intervals
    (item_id, event_id, seq, state, flow_state, prev_flow_state, after_start, final_terminal, entered_at, left_at,
     stream, team, flow_type, deleted, version, out_of_sequence_after)
SETTINGS optimize_on_insert = 0
WITH
    -- Every rank as 'stream NUL state' -> rank: a lookup per transition, instead of a join.
    (SELECT (groupArray(concat(stream, '\0', state)), groupArray(rank), groupUniqArray(stream)) FROM lifecycle_ranks FINAL) AS rank_table
SELECT
    item_id,
    row.1 AS event_id,
    row_seq AS seq,
    row.4 AS state,
    row.5 AS flow_state,
    row_prev AS prev_flow_state,
    row_after_start AS after_start,
    row_final AS final_terminal,
    row.2 AS entered_at,
    row_left AS left_at,
    stream,
    team,
    flow_type,
    deleted,
    {version:UInt64} AS version,
    row_out_of_sequence AS out_of_sequence_after
FROM
(
    SELECT
        h.item_id AS item_id,
        i.stream AS stream,
        i.team AS team,
        if(i.item_id = '', 'unknown', i.flow_type) AS flow_type,
        i.deleted AS deleted,
        -- (event_id, at, 0 for the creation event else 1, to_state, to_flow_state), in history order.
        h.history AS history,
        -- The items of streams without ranks (most of them) skip the lookup.
        if(has(rank_table.3, i.stream),
           arrayMap(x -> transform(concat(i.stream, '\0', x.4), rank_table.1, rank_table.2, toUInt16(0)), history),
           arrayWithConstant(length(history), toUInt16(0))) AS ranks,
        -- The highest rank reached before each transition (0 before the first).
        arrayReduceInRanges('max', arrayMap(n -> (1, toUInt32(n - 1)), arrayEnumerate(ranks)), ranks) AS reached,
        arrayMap((rank, before) -> rank > 0 AND rank < before, ranks, reached) AS skipped,
        arrayFilter((x, s) -> NOT s, history, skipped) AS stays,
        arrayFilter((x, s) -> s, history, skipped) AS out_of_sequence,
        -- For each out-of-sequence transition, the state that first reached the rank it came after.
        arrayMap(before -> history[indexOf(ranks, before)].4, arrayFilter((before, s) -> s, reached, skipped)) AS reached_states,
        arrayWithConstant(length(out_of_sequence), 0) AS no_stay_numbers
    FROM
    (
        SELECT item_id, arraySort(x -> (x.2, x.3, x.1), groupArray((event_id, at, toUInt8(from_state != ''), to_state, to_flow_state))) AS history
        FROM transitions FINAL
        WHERE item_id IN (SELECT item_id FROM refresh_queue WHERE batch_id = {batch_id:String})
        GROUP BY item_id
    ) AS h
    LEFT JOIN
    (
        SELECT item_id, stream, team, flow_type, deleted
        FROM work_items FINAL
        WHERE item_id IN (SELECT item_id FROM refresh_queue WHERE batch_id = {batch_id:String})
    ) AS i ON i.item_id = h.item_id
)
-- Stays first, in history order, then the out-of-sequence transitions: parallel arrays of one length.
ARRAY JOIN
    arrayConcat(stays, out_of_sequence) AS row,
    arrayConcat(arrayEnumerate(stays), no_stay_numbers) AS row_seq,
    arrayConcat(arrayPushFront(arrayPopBack(arrayMap(x -> toString(x.5), stays)), ''), arrayMap(n -> '', no_stay_numbers)) AS row_prev,
    -- Started once any stay so far was active or waiting.
    arrayConcat(arrayMap(c -> toUInt8(c > 0), arrayCumSum(arrayMap(x -> x.5 IN ('active', 'waiting'), stays))), no_stay_numbers) AS row_after_start,
    -- 1 for the trailing run of done/canceled stays: nothing open follows, so the item is finished.
    arrayConcat(arrayMap(c -> toUInt8(c = 0), arrayReverse(arrayCumSum(arrayReverse(arrayMap(x -> x.5 NOT IN ('done', 'canceled'), stays))))), no_stay_numbers) AS row_final,
    arrayConcat(arrayPushBack(arrayPopFront(arrayMap(x -> toNullable(x.2), stays)), NULL), arrayMap(n -> NULL, no_stay_numbers)) AS row_left,
    arrayConcat(arrayMap(x -> '', stays), reached_states) AS row_out_of_sequence
