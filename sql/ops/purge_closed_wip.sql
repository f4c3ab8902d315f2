-- Drops every row of the items whose latest row in open_wip is a closing one (is_deleted = 1)
-- written before {cutoff}. Those rows only hide older ones in FINAL, and all of an item's rows go
-- together, so no older open row is left to show again. Rows from {cutoff} on are kept, and the
-- caller picks a cutoff no derive still running can write under (pipeline/compact.ts).
ALTER TABLE open_wip DELETE
WHERE version < {cutoff:UInt64}
  AND item_id IN
  (
      SELECT item_id
      FROM open_wip
      GROUP BY item_id
      HAVING argMax(is_deleted, version) = 1 AND max(version) < {cutoff:UInt64}
  )
SETTINGS mutations_sync = 2
