-- Flow facts of one Jira site's items ({prefix} = 'jira:<site-host>:'), by issue key.
SELECT key, flow_type, team, status, current_state, started_at, finished_at,
       flow_seconds, flow_seconds_from_created, active_seconds, wait_seconds, reopen_count
FROM flow_items
WHERE startsWith(item_id, {prefix:String})
ORDER BY key
