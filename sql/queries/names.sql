-- The team, stream and flow item type names the store holds, so the Slack bot can check what a
-- person typed (team:PAYMENTS, stream:orders, a type) against them instead of answering zero.
-- One pass over work_items, whose name columns are LowCardinality (a few dictionary entries).
SELECT
    arraySort(groupUniqArrayIf(toString(team), team != '')) AS team,
    arraySort(groupUniqArrayIf(toString(stream), stream != '')) AS stream,
    arraySort(groupUniqArrayIf(toString(flow_type), flow_type != '')) AS type
FROM work_items
