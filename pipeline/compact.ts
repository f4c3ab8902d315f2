// Compaction of the derived tables. Every derive writes a new part, and reads with FINAL must
// merge a small part whose items are spread over the key range with nearly every granule of the
// big ones; ClickHouse's own merges seldom fold a small part into a large one. The metrics read
// item_flow (one row per item), so they stay within target without this, but `flowpulse serve`
// compacts on a schedule (serve.compact_cron) to bring reads back to their as-imported times and
// keep analysts' FINAL queries on state_intervals fast: a full rewrite, about 3 s for
// state_intervals and 1.3 s for item_flow at 10M transitions, and only when a table has more
// than one part.
import { sqlFile } from "../store/sql.ts";
import type { Store } from "../store/store.ts";

const COMPACT_SQL: Record<string, string> = {
  state_intervals: "ops/compact_state_intervals.sql",
  item_flow: "ops/compact_item_flow.sql",
};

/**
 * How far back a closed item's rows in open_wip may be dropped: before the oldest mark of a unit
 * of work still pending (a derive in flight writes with a version above its unit's marks) and
 * before ten minutes ago (a writer on another host, whose clock may run behind).
 */
const CLOCK_MARGIN_US = 10 * 60 * 1_000_000;

/**
 * Compacts each derived table that has more than one part, and drops open_wip's rows of items no
 * longer in progress (schema/0009): returns the tables compacted.
 */
export async function compactDerived(store: Store, nowMs: number = Date.now()): Promise<string[]> {
  const spread = await store.query<{ table: string }>(sqlFile("ops/derived_parts.sql"));
  const compacted: string[] = [];
  for (const { table } of spread) {
    const file = COMPACT_SQL[table];
    if (!file) continue;
    await store.command(sqlFile(file));
    compacted.push(table);
  }
  if (await purgeClosedWip(store, nowMs)) compacted.push("open_wip");
  return compacted;
}

/** Drops open_wip's rows of the items that left progress before the cutoff; whether any were. */
async function purgeClosedWip(store: Store, nowMs: number): Promise<boolean> {
  const pending = await store.query<{ mark_version: string | number }>(sqlFile("ops/pending_batches.sql"));
  const cutoff = Math.min(nowMs * 1000 - CLOCK_MARGIN_US, ...pending.map((batch) => Number(batch.mark_version)));
  const params = { cutoff: Math.max(0, Math.floor(cutoff)) };
  const [row] = await store.query<{ items: string | number }>(sqlFile("ops/closed_wip_count.sql"), params);
  if (Number(row?.items ?? 0) === 0) return false;
  await store.command(sqlFile("ops/purge_closed_wip.sql"), params);
  return true;
}
