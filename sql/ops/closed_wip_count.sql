-- Items whose latest row in open_wip says they are no longer in progress, written before
-- {cutoff}: the rows purge_closed_wip.sql would drop.
SELECT toUInt64(count()) AS items
FROM
(
    SELECT item_id
    FROM open_wip
    GROUP BY item_id
    HAVING argMax(is_deleted, version) = 1 AND max(version) < {cutoff:UInt64}
)
