-- The stored bundles (issue or pull request with its timeline) of the given GitHub item ids: the
-- sync reads a page's worth before asking for their timelines, to send their ETags and to reuse a
-- timeline GitHub says is unchanged (304).
SELECT key, payload
FROM raw_payloads FINAL
WHERE source = 'github' AND kind = 'item' AND key IN {keys:Array(String)}
