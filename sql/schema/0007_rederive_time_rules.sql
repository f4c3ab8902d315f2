-- Two derive rules changed in this release (sql/derive/0002_item_flow.sql): an open stay's missing
-- end no longer travels as -1 ms, a real instant in 1969, so a stay that ended before 1970 no
-- longer reads as open; and an item's created_at on item_flow is the earlier of its recorded
-- creation and its first move. Only items with a move before 1970 or before their recorded
-- creation derive differently, so only they are queued for a rebuild (in 16 units of work).
INSERT INTO refresh_queue (batch_id, item_id)
SELECT concat('schema-0007-', toString(cityHash64(item_id) % 16)) AS batch_id, item_id
FROM
(
    SELECT DISTINCT t.item_id AS item_id
    FROM transitions AS t
    LEFT JOIN (SELECT item_id, created_at FROM work_items FINAL) AS w ON w.item_id = t.item_id
    WHERE t.at < toDateTime64('1970-01-01 00:00:00', 3, 'UTC') OR (w.item_id != '' AND t.at < w.created_at)
);

INSERT INTO refresh_batches (batch_id, state, version, owner)
SELECT DISTINCT batch_id, 'queued', toUInt64(toUnixTimestamp64Micro(now64(6))), ''
FROM refresh_queue WHERE startsWith(batch_id, 'schema-0007-');
