-- WIP by type last quarter: items in progress at the end of each UTC day of the previous calendar
-- quarter, per type: the peak, the mean over the quarter's days, and the item-days in all.
WITH
    toStartOfQuarter(today()) AS this_quarter,
    toStartOfQuarter(this_quarter - 1) AS last_quarter
SELECT
    flow_type,
    max(wip) AS peak_wip,
    round(sum(wip) / (this_quarter - last_quarter), 2) AS mean_wip,
    sum(wip) AS wip_days
FROM
(
    SELECT day, flow_type, sum(wip) AS wip
    FROM flow_load_daily
    WHERE day >= last_quarter AND day < this_quarter
    GROUP BY day, flow_type
)
GROUP BY flow_type
ORDER BY flow_type
