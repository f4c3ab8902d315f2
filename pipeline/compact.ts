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
 * of work still pending (a derive in flight writes with a version above its unit's marks: it
 * takes its version after them, store/derive.ts) and, where other hosts may write, before ten
 * minutes ago, as a writer's clock may run behind this one's.
 */
export const SHARED_CLOCK_MARGIN_MS = 10 * 60_000;

/**
 * The embedded store has one writer, this process (libchdb binds a data directory to one process;
 * others go through serve), whose versions come from this clock: no margin, so a compaction right
 * after an import drops every closing row it wrote. A server may have writers elsewhere.
 */
export function clockMarginMs(store: Store): number {
  return store.kind === "embedded" ? 0 : SHARED_CLOCK_MARGIN_MS;
}

export interface CompactOptions {
  /** The clock's reading (tests move it). */
  nowMs?: number;
  /** Default: clockMarginMs(store). */
  clockMarginMs?: number;
}

/**
 * Compacts each derived table that has more than one part, and drops open_wip's rows of items no
 * longer in progress (schema/0009): returns the tables compacted.
 */
export async function compactDerived(store: Store, options: CompactOptions = {}): Promise<string[]> {
  const spread = await store.query<{ table: string }>(sqlFile("ops/derived_parts.sql"));
  const compacted: string[] = [];
  for (const { table } of spread) {
    const file = COMPACT_SQL[table];
    if (!file) continue;
    await store.command(sqlFile(file));
    compacted.push(table);
  }
  const cutoffMs = (options.nowMs ?? Date.now()) - (options.clockMarginMs ?? clockMarginMs(store));
  if (await purgeClosedWip(store, cutoffMs)) compacted.push("open_wip");
  return compacted;
}

/** Drops open_wip's rows of the items that left progress before the cutoff; whether any were. */
async function purgeClosedWip(store: Store, cutoffMs: number): Promise<boolean> {
  const pending = await store.query<{ mark_version: string | number }>(sqlFile("ops/pending_batches.sql"));
  const cutoff = Math.min(cutoffMs * 1000, ...pending.map((batch) => Number(batch.mark_version)));
  const params = { cutoff: Math.max(0, Math.floor(cutoff)) };
  const [row] = await store.query<{ items: string | number }>(sqlFile("ops/closed_wip_count.sql"), params);
  if (Number(row?.items ?? 0) === 0) return false;
  await store.command(sqlFile("ops/purge_closed_wip.sql"), params);
  return true;
}
