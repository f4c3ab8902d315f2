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

/** Compacts each derived table that has more than one part; returns the tables compacted. */
export async function compactDerived(store: Store): Promise<string[]> {
  const spread = await store.query<{ table: string }>(sqlFile("ops/derived_parts.sql"));
  const compacted: string[] = [];
  for (const { table } of spread) {
    const file = COMPACT_SQL[table];
    if (!file) continue;
    await store.command(sqlFile(file));
    compacted.push(table);
  }
  return compacted;
}
