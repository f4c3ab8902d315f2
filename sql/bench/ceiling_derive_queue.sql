-- The derive alone (bench/sections/scale.ts): every stored item queued once for a rebuild, in
-- units of {items_per_unit} items in item_id order, as many transitions per unit as an import's
-- commit. Each item is derived once here; an import derives an item again when its moves span two
-- commits, so this is the least derive work the imported file needs.
INSERT INTO refresh_queue (batch_id, item_id)
SELECT concat({prefix:String}, leftPad(toString(intDiv(rowNumberInAllBlocks(), {items_per_unit:UInt64})), 6, '0')) AS batch_id, item_id
FROM
(
    SELECT item_id
    FROM work_items
    GROUP BY item_id
    ORDER BY item_id
)
