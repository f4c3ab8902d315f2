-- Review wait and merge wait of GitHub pull requests (docs/github.md): per pull request, the hours
-- spent in 'awaiting review' (until a person other than the author reviews) and in 'approved'
-- (until the merge), from the derived stays; a stay still open runs to now(). Deleted items are
-- left out, as in every metric.
SELECT
    f.key AS key,
    round(sumIf(dateDiff('millisecond', s.entered_at, coalesce(s.left_at, now64(3))), s.state = 'awaiting review') / 3600000, 4) AS review_wait_hours,
    round(sumIf(dateDiff('millisecond', s.entered_at, coalesce(s.left_at, now64(3))), s.state = 'approved') / 3600000, 4) AS merge_wait_hours
FROM state_intervals AS s FINAL
INNER JOIN (SELECT item_id, key FROM work_items FINAL WHERE source = 'github' AND source_type = 'pull_request' AND NOT deleted) AS f USING (item_id)
WHERE startsWith(s.item_id, {prefix:String}) AND NOT s.deleted
GROUP BY f.key
ORDER BY f.key
