-- Distribution ceiling: per type, items finished in the window and items in WIP now.
SELECT flow_type,
       countIf(outcome = 'done' AND finished_at >= {since:DateTime64(3, 'UTC')} AND finished_at < {until:DateTime64(3, 'UTC')}) AS completed,
       countIf(outcome = 'open' AND current_flow_state IN ('active', 'waiting')) AS wip
FROM item_flow FINAL
WHERE deleted = 0
GROUP BY flow_type
