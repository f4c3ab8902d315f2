-- Stored status changes of one Jira site's items ({prefix} = 'jira:<site-host>:'), in history order.
SELECT t.key AS key, event_id, from_state, to_state, toString(to_flow_state) AS to_flow_state, at
FROM transitions AS tr FINAL
LEFT JOIN (SELECT item_id, key FROM work_items FINAL) AS t ON t.item_id = tr.item_id
WHERE startsWith(tr.item_id, {prefix:String})
ORDER BY key, at, from_state != '', event_id
