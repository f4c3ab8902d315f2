-- The team, stream and flow item type names the store holds, so the Slack bot can check what a
-- person typed (team:PAYMENTS, stream:orders, a type) against them instead of answering zero.
-- work_items is small beside the transitions and its name columns are LowCardinality.
SELECT 'team' AS kind, team AS name FROM work_items WHERE team != '' GROUP BY team
UNION ALL
SELECT 'stream' AS kind, stream AS name FROM work_items WHERE stream != '' GROUP BY stream
UNION ALL
SELECT 'type' AS kind, flow_type AS name FROM work_items WHERE flow_type != '' GROUP BY flow_type
