// The window indexes on item_flow (sql/schema/0008_window_indexes.sql): a 90-day metric skips the
// granules of items outside the window, and gives the same answer as a read of every granule,
// also while an item's newer version sits in another part than the older one the window matches.
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeBenchJsonl } from "../bench/generate.ts";
import { importFiles } from "../connectors/file/import.ts";
import { toClickHouseTime } from "../core/time.ts";
import { TransitionSchema } from "../core/model.ts";
import { velocity } from "../metrics/query.ts";
import { compactDerived } from "../pipeline/compact.ts";
import { FlowSink } from "../pipeline/sink.ts";
import { sqlFile } from "../store/sql.ts";
import type { QueryParams, Store } from "../store/store.ts";
import { freshStore } from "./helpers/store.ts";

const DAY = 86_400_000;
const END = Date.parse("2026-06-01T00:00:00Z");
const WINDOW = { sinceMs: END - 90 * DAY, untilMs: END, period: "week" as const, timezone: "UTC" };
// 60,000 items (600,000 transitions) fill eight granules of 8,192 items, created over a year.
const ITEMS = 60_000;

let store: Store;
let dispose: () => Promise<void>;
let dir: string;
beforeAll(async () => {
  ({ store, dispose } = await freshStore());
  dir = mkdtempSync(path.join(os.tmpdir(), "flowpulse-window-"));
  const file = path.join(dir, "bench.jsonl");
  await writeBenchJsonl(file, { items: ITEMS, endMs: END });
  await importFiles(store, [file]);
  await compactDerived(store);
}, 240_000);
afterAll(async () => {
  await dispose();
  rmSync(dir, { recursive: true, force: true });
});

const params: QueryParams = {
  stream: "", team: "", flow_type: "", since: toClickHouseTime(WINDOW.sinceMs), until: toClickHouseTime(WINDOW.untilMs),
  period: "week", tz: "UTC", flow_time_start: "first_active",
};
/** A metric's SQL file run as is, and with the skip indexes off or FINAL's exact mode off. */
const runAs = (file: string, settings = "") => store.query(sqlFile(`queries/${file}`) + (settings ? `\nSETTINGS ${settings}` : ""), params);
const NO_INDEXES = "use_skip_indexes = 0";
const INEXACT = "use_skip_indexes_if_final_exact_mode = 0";

/** Granules the delivered_items window reads after item_flow's skip indexes, and in all. */
async function granules(): Promise<{ read: number; total: number }> {
  const plan = await store.query<{ explain: string }>(
    "EXPLAIN indexes = 1 SELECT count() FROM delivered_items(since = {since:DateTime64(3, 'UTC')}, until = {until:DateTime64(3, 'UTC')}, " +
      "stream = '', team = '', flow_type = '', tz = 'UTC', period = 'week', flow_time_start = 'first_active')",
    params,
  );
  const counts = plan.map((row) => /Granules: (\d+)\/(\d+)/.exec(row.explain)).filter((m) => m !== null);
  return { read: Number(counts.at(-1)?.[1]), total: Number(counts[0]?.[2]) };
}

describe("window indexes on item_flow", () => {
  it("reads only the granules of items finished near the window", async () => {
    const { read, total } = await granules();
    // Items finish within ~27 days of creation, spread evenly over 365 days: the 90-day window
    // holds about a quarter of them, 2-3 of 8 granules (one more at a boundary).
    expect(total).toBeGreaterThanOrEqual(7);
    expect(read).toBeLessThanOrEqual(Math.ceil(total / 2));
    expect(await runAs("velocity.sql")).toEqual(await runAs("velocity.sql", NO_INDEXES));
    expect(await runAs("time_in_state.sql")).toEqual(await runAs("time_in_state.sql", NO_INDEXES));
  });

  it("never answers from an older version whose newer one lies outside the window", async () => {
    const before = (await velocity(store, WINDOW)).reduce((sum, row) => sum + row.items, 0);
    // An item done in the window is reopened (its new row: unfinished) and an item open since
    // long before the window is finished in it. Merges stay off, so each new row sits in a small
    // part beside the old one, as between background merges.
    await store.command("SYSTEM STOP MERGES item_flow");
    const [reopened] = await store.query<{ item_id: string; finished: string }>(
      "SELECT item_id, toString(finished_at) AS finished FROM item_flow FINAL WHERE outcome = 'done' AND finished_at >= {since:DateTime64(3, 'UTC')} AND finished_at < {until:DateTime64(3, 'UTC')} ORDER BY item_id LIMIT 1",
      params,
    );
    const [finished] = await store.query<{ item_id: string }>(
      "SELECT item_id FROM item_flow FINAL WHERE outcome = 'open' AND current_state_since < {since:DateTime64(3, 'UTC')} ORDER BY item_id LIMIT 1",
      params,
    );
    expect(reopened && finished).toBeTruthy();
    // Two commits, two parts: the reopened item's part holds no finish in the window of its own.
    const sink = new FlowSink(store);
    const at = (ms: number) => new Date(ms).toISOString();
    await sink.write({
      transitions: [TransitionSchema.parse({ event_id: `${reopened!.item_id}#reopen`, item_id: reopened!.item_id, from_state: "Done", to_state: "In Progress", to_flow_state: "active", at: at(Date.parse(`${reopened!.finished}Z`) + DAY) })],
    });
    await sink.commit();
    await sink.write({
      transitions: [TransitionSchema.parse({ event_id: `${finished!.item_id}#late-done`, item_id: finished!.item_id, from_state: "In Review", to_state: "Done", to_flow_state: "done", at: at(END - 10 * DAY) })],
    });
    await sink.commit();
    expect(Number((await store.query<{ parts: string }>("SELECT count() AS parts FROM system.parts WHERE active AND database = currentDatabase() AND table = 'item_flow'"))[0]?.parts)).toBeGreaterThan(1);

    // One left the window and one entered it: the total is unchanged, 1 - 1 + 1.
    expect((await velocity(store, WINDOW)).reduce((sum, row) => sum + row.items, 0)).toBe(before);
    expect(await runAs("velocity.sql")).toEqual(await runAs("velocity.sql", NO_INDEXES));
    expect(await runAs("flow_time.sql")).toEqual(await runAs("flow_time.sql", NO_INDEXES));
    expect(await runAs("time_in_state.sql")).toEqual(await runAs("time_in_state.sql", NO_INDEXES));
    // The case is real: without FINAL's exact mode the reopened item's older, finished row is read
    // alone and counted (or the finished item's row is dropped), so the weeks differ.
    expect(await runAs("velocity.sql", `${INEXACT}, use_skip_indexes_if_final = 1`)).not.toEqual(await runAs("velocity.sql", NO_INDEXES));
    await store.command("SYSTEM START MERGES item_flow");
  });
});
