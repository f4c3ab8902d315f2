-- What the store already knows of items the stream is about to rewrite. Order and incident events
-- carry only part of an item: creation is the earliest event seen (every stored version counts),
-- and title, team and labels an event leaves out keep their latest stored value.
SELECT
    item_id,
    min(created_at) AS created_at,
    argMax(title, version) AS title,
    argMax(team, version) AS team,
    argMax(labels, version) AS labels
FROM work_items
WHERE item_id IN {ids:Array(String)}
GROUP BY item_id
