-- Units of work whose latest mark is not 'derived', with that mark: its state, version and writer,
-- and how long ago it was made by the store's clock. At equal versions 'derived' wins: a derive
-- marks with the version of the mark it saw before reading (store/derive.ts).
SELECT
    batch_id,
    toString(argMax(state, (version, state = 'derived'))) AS mark_state,
    max(version) AS mark_version,
    argMax(owner, (version, state = 'derived')) AS mark_owner,
    toUInt64(dateDiff('millisecond', max(updated_at), now64(3))) AS idle_ms
FROM refresh_batches
GROUP BY batch_id
HAVING mark_state != 'derived'
ORDER BY mark_version
