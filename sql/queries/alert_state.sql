-- Current state of the named alert rules (rules never seen have no row and count as not tripped).
SELECT rule, tripped, summary, toString(changed_at) AS changed_at
FROM alert_state FINAL
WHERE has({rules:Array(String)}, rule)
