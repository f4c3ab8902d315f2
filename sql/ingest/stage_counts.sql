-- What a stage holds: records per kind, and how many repeat an earlier record of the same stage
-- (the same item; the same item and change): stored once, so not counted as stored twice.
SELECT
    countIf(kind = 'item') AS items,
    countIf(kind = 'transition') AS transitions,
    items - uniqExactIf(item_id, kind = 'item') AS repeated_items,
    transitions - uniqExactIf((item_id, event_id), kind = 'transition') AS repeated_transitions
FROM {stage:Identifier}
