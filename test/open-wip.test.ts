// open_wip (sql/schema/0009_open_wip.sql): the items in progress now, kept by a materialized view
// of item_flow. Flow load, growing queues and cumulative flow read their open stays from it and
// only the window's ended stays from item_flow, distribution and the aging charts their items in
// progress; they must give what reading every item gave (test/fixtures/queries/*_every_item.sql, the formulation they replaced): as imported,
// after random moves landing in parts of their own, when two writes of one item land out of
// order, and after compaction drops the rows of items no longer in progress. The analysts' WIP
// views (flow_load_daily, bottleneck_queue_growth) read the same way since session 12, and are
// compared with their every-item definitions in the same situations.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeBenchJsonl } from "../bench/generate.ts";
import { importFiles } from "../connectors/file/import.ts";
import { prng } from "../connectors/file/sample.ts";
import { TransitionSchema, WorkItemSchema } from "../core/model.ts";
import { toClickHouseTime } from "../core/time.ts";
import { clockMarginMs, compactDerived, SHARED_CLOCK_MARGIN_MS } from "../pipeline/compact.ts";
import { FlowSink } from "../pipeline/sink.ts";
import { markBatch } from "../store/derive.ts";
import { splitStatements, sqlFile } from "../store/sql.ts";
import type { QueryParams, Store } from "../store/store.ts";
import { freshStore } from "./helpers/store.ts";

const DAY = 86_400_000;
const END = Date.parse("2026-06-01T00:00:00Z");
// 60,000 items (600,000 transitions), created over a year: eight granules of item_flow.
const ITEMS = 60_000;

const reference = (name: string) => readFileSync(new URL(`./fixtures/queries/${name}`, import.meta.url), "utf8");
const LOAD_EVERY_ITEM = reference("load_every_item.sql");
const QUEUES_EVERY_ITEM = reference("queue_growth_every_item.sql");
const CFD_EVERY_ITEM = reference("cumulative_flow_every_item.sql");
const DISTRIBUTION_EVERY_ITEM = reference("distribution_every_item.sql");
const AGING_EVERY_ITEM = reference("aging_every_item.sql");
const AGING_WIP_EVERY_ITEM = reference("aging_wip_every_item.sql");
const ITEMS_BEHIND_EVERY_ITEM = reference("items_behind_every_item.sql");
const LOAD_DAILY_VIEW_EVERY_ITEM = reference("load_daily_view_every_item.sql");
const QUEUE_GROWTH_VIEW_EVERY_ITEM = reference("queue_growth_view_every_item.sql");

/** The SELECT of one of the analysts' views (sql/views/0002_metric_views.sql). */
function viewBody(name: string): string {
  const body = new RegExp(`CREATE OR REPLACE VIEW ${name} AS\\n([\\s\\S]*?);\\n`).exec(sqlFile("views/0002_metric_views.sql"))?.[1];
  if (!body) throw new Error(`no view ${name} in views/0002_metric_views.sql`);
  return body;
}

/**
 * The analysts' WIP views, each against its every-item reference: as created (their year and
 * weeks end today, long after the data, so only open stays reach the weeks) and with "today" set
 * inside the data, so stays that ended in the window are counted too.
 */
async function expectViewsSameAsEveryItem(): Promise<void> {
  const views: [string, string, string][] = [
    ["flow_load_daily", LOAD_DAILY_VIEW_EVERY_ITEM, "day, stream, team, flow_type"],
    ["bottleneck_queue_growth", QUEUE_GROWTH_VIEW_EVERY_ITEM, "stream, state"],
  ];
  for (const [name, everyItem, order] of views) {
    const asCreated = await store.query(`SELECT * FROM ${name} ORDER BY ${order}`);
    expect(asCreated.length, name).toBeGreaterThan(0);
    expect(asCreated, `${name}, as created`).toEqual(await store.query(`SELECT * FROM (${everyItem}) ORDER BY ${order}`));
    for (const today of ["toDate('2026-05-20')", "toDate('2026-01-07')"]) {
      const ours = await store.query(`SELECT * FROM (${viewBody(name).replaceAll("today()", today)}) ORDER BY ${order}`);
      expect(ours.length, `${name}, today ${today}`).toBeGreaterThan(0);
      expect(ours, `${name}, today ${today}`).toEqual(await store.query(`SELECT * FROM (${everyItem.replaceAll("today()", today)}) ORDER BY ${order}`));
    }
  }
}

/** Windows and filters the two queries are compared on: long and short, zoned, filtered. */
const CASES: { label: string; sinceMs: number; untilMs: number; tz: string; team?: string; flowType?: string }[] = [
  { label: "90 days, UTC", sinceMs: END - 90 * DAY, untilMs: END, tz: "UTC" },
  { label: "7 days ending mid-day, New York", sinceMs: END - 7 * DAY + 5 * 3_600_000, untilMs: END - 7_200_000, tz: "America/New_York" },
  { label: "30 days, one team", sinceMs: END - 40 * DAY, untilMs: END - 10 * DAY, tz: "Asia/Kolkata", team: "payments" },
  { label: "a year, defects", sinceMs: END - 365 * DAY, untilMs: END, tz: "UTC", flowType: "defect" },
];

function paramsOf(c: (typeof CASES)[number], growthWeeks: number): QueryParams {
  return {
    stream: "", team: c.team ?? "", flow_type: c.flowType ?? "", since: toClickHouseTime(c.sinceMs), until: toClickHouseTime(c.untilMs),
    period: "week", tz: c.tz, flow_time_start: "first_active", growth_weeks: growthWeeks,
    // Aging's baseline ends now, long after the data: a baseline reaching back into it.
    percentile: 0.85, baseline_days: 800, limit: 100_000,
  };
}

/**
 * Rows with an age counted up to now64(): the same items with the same fields, and ages equal to
 * within the ~9 s of a 4-decimal day (the two reads run moments apart, so two items of nearly
 * equal age may swap places: rows are compared by item).
 */
function expectSameAging(ours: Record<string, unknown>[], reference: Record<string, unknown>[], label: string, ageField = "age_days"): void {
  expect(ours.length, label).toBeGreaterThan(0);
  const byItem = (rows: Record<string, unknown>[]) => [...rows].sort((a, b) => String(a.item_id).localeCompare(String(b.item_id)));
  const withoutAge = (rows: Record<string, unknown>[]) => rows.map(({ [ageField]: _age, ...row }) => row);
  const [mine, theirs] = [byItem(ours), byItem(reference)];
  expect(withoutAge(mine), label).toEqual(withoutAge(theirs));
  for (const [i, row] of mine.entries()) expect(Math.abs(Number(row[ageField]) - Number(theirs[i]?.[ageField])), label).toBeLessThan(0.001);
}

let store: Store;
let dispose: () => Promise<void>;
let dir: string;
beforeAll(async () => {
  ({ store, dispose } = await freshStore());
  dir = mkdtempSync(path.join(os.tmpdir(), "flowpulse-open-wip-"));
  const file = path.join(dir, "bench.jsonl");
  await writeBenchJsonl(file, { items: ITEMS, endMs: END });
  await importFiles(store, [file]);
}, 240_000);
afterAll(async () => {
  await dispose();
  rmSync(dir, { recursive: true, force: true });
});

/** Both queries, each against its every-item reference, on every case. */
async function expectSameAsEveryItem(): Promise<void> {
  for (const c of CASES) {
    for (const growthWeeks of [1, 2]) {
      const params = paramsOf(c, growthWeeks);
      expect(await store.query(sqlFile("queries/queue_growth.sql"), params), `${c.label}, growing queues (${growthWeeks} weeks)`).toEqual(
        await store.query(QUEUES_EVERY_ITEM, params),
      );
    }
    const params = paramsOf(c, 1);
    const load = await store.query(sqlFile("queries/load.sql"), params);
    expect(load.length, c.label).toBeGreaterThan(0);
    expect(load, `${c.label}, flow load`).toEqual(await store.query(LOAD_EVERY_ITEM, params));
    expect(await store.query(sqlFile("queries/cumulative_flow.sql"), params), `${c.label}, cumulative flow`).toEqual(await store.query(CFD_EVERY_ITEM, params));
    expect(await store.query(sqlFile("queries/distribution.sql"), params), `${c.label}, distribution`).toEqual(await store.query(DISTRIBUTION_EVERY_ITEM, params));
    expectSameAging(
      await store.query(sqlFile("queries/aging.sql"), params), await store.query(AGING_EVERY_ITEM, params), `${c.label}, aging`,
    );
    expectSameAging(
      await store.query(sqlFile("queries/aging_wip.sql"), params), await store.query(AGING_WIP_EVERY_ITEM, params), `${c.label}, aging WIP`,
    );
    // The oldest items in progress, behind the bot's and the CLI's figures (every one: no limit).
    const oldest = { ...params, which: "oldest" };
    expectSameAging(
      await store.query(sqlFile("queries/items_behind.sql"), oldest), await store.query(ITEMS_BEHIND_EVERY_ITEM, oldest), `${c.label}, oldest items`, "days",
    );
  }
}

/** open_wip after FINAL, against the open active/waiting stay item_flow's current rows hold. */
async function expectOpenWipMatchesItemFlow(): Promise<void> {
  const fromItemFlow = await store.query(
    `SELECT item_id, flow_type, wip_stay_states[i] AS state, toString(wip_stay_entered_at[i]) AS entered_at
     FROM (SELECT *, arrayFirstIndex(l -> l IS NULL, wip_stay_left_at) AS i FROM item_flow FINAL WHERE deleted = 0)
     WHERE i > 0 ORDER BY item_id`,
  );
  const fromOpenWip = await store.query("SELECT item_id, flow_type, state, toString(entered_at) AS entered_at FROM open_wip FINAL ORDER BY item_id");
  expect(fromOpenWip.length).toBeGreaterThan(0);
  expect(fromOpenWip).toEqual(fromItemFlow);
  // The same items as flow_items' status 'wip' (open, currently active or waiting).
  const wip = await store.query<{ item_id: string }>("SELECT item_id FROM flow_items WHERE status = 'wip' ORDER BY item_id");
  expect(wip.map((row) => row.item_id)).toEqual(fromOpenWip.map((row) => (row as { item_id: string }).item_id));
}

describe("open_wip", () => {
  it("gives every item's open stay, and load, growing queues, cumulative flow, distribution and aging as reading every item did, as imported", async () => {
    await expectOpenWipMatchesItemFlow();
    await expectSameAsEveryItem();
    await expectViewsSameAsEveryItem();
  });

  it("follows random moves, reopenings, finishes and deletions landing in parts of their own", async () => {
    await store.command("SYSTEM STOP MERGES item_flow");
    await store.command("SYSTEM STOP MERGES open_wip");
    const random = prng(18);
    const items = await store.query<{ item_id: string; outcome: string; current_state_since: string }>(
      "SELECT item_id, toString(outcome) AS outcome, toString(current_state_since) AS current_state_since FROM item_flow FINAL ORDER BY item_id",
    );
    const pick = () => items[Math.floor(random() * items.length)]!;
    const at = (base: string, offsetMs: number) => new Date(Math.min(Date.parse(`${base}Z`) + offsetMs, END - 1000)).toISOString();
    const sink = new FlowSink(store);
    for (let commit = 0; commit < 6; commit++) {
      const transitions = [];
      const deleted = [];
      for (let n = 0; n < 40; n++) {
        const item = pick();
        const move = Math.floor(random() * 4);
        const when = at(item.current_state_since, Math.floor(random() * 20 * DAY) + 1000);
        const event_id = `${item.item_id}#move-${commit}-${n}`;
        if (move === 0) transitions.push({ event_id, item_id: item.item_id, from_state: "Done", to_state: "In Progress", to_flow_state: "active", at: when });
        else if (move === 1) transitions.push({ event_id, item_id: item.item_id, from_state: "In Progress", to_state: "Done", to_flow_state: "done", at: when });
        else if (move === 2) transitions.push({ event_id, item_id: item.item_id, from_state: "In Progress", to_state: "Review", to_flow_state: "waiting", at: when });
        else deleted.push(item.item_id);
      }
      const rows = deleted.length
        ? await store.query<Record<string, unknown>>(
            "SELECT item_id, source, stream, key, title, url, flow_type, team, labels, toString(created_at) AS created_at, source_type FROM work_items FINAL WHERE item_id IN {ids:Array(String)}",
            { ids: deleted },
          )
        : [];
      await sink.write({
        items: rows.map((row) => WorkItemSchema.parse({ ...row, created_at: `${String(row.created_at).replace(" ", "T")}Z`, deleted: true })),
        transitions: transitions.map((t) => TransitionSchema.parse(t)),
      });
      await sink.commit();
    }
    const parts = await store.query<{ parts: string }>("SELECT count() AS parts FROM system.parts WHERE active AND database = currentDatabase() AND table = 'open_wip'");
    expect(Number(parts[0]?.parts)).toBeGreaterThan(2);
    await expectOpenWipMatchesItemFlow();
    await expectSameAsEveryItem();
    await expectViewsSameAsEveryItem();
  }, 120_000);

  it("keeps the newer write of an item when an older one lands after it", async () => {
    const [item] = await store.query<{ item_id: string; version: string }>(
      "SELECT item_id, toString(version) AS version FROM item_flow FINAL WHERE deleted = 0 AND has(wip_stay_left_at, NULL) ORDER BY item_id LIMIT 1",
    );
    expect(item).toBeDefined();
    // (The copies are read in a subquery: in SELECT * REPLACE, a WHERE on version would see the
    // replaced value.)
    // A derive that read the item later (higher version: deleted at its source) lands first; one
    // that read it earlier (lower version, still open) lands after it.
    await store.command(
      `INSERT INTO item_flow SELECT * REPLACE (version + 2 AS version, 1 AS deleted)
       FROM (SELECT * FROM item_flow WHERE item_id = {id:String} AND version = {version:UInt64})`,
      { id: item!.item_id, version: item!.version },
    );
    await store.command(
      "INSERT INTO item_flow SELECT * REPLACE (version + 1 AS version) FROM (SELECT * FROM item_flow WHERE item_id = {id:String} AND version = {version:UInt64})",
      { id: item!.item_id, version: item!.version },
    );
    expect(await store.query("SELECT item_id FROM open_wip FINAL WHERE item_id = {id:String}", { id: item!.item_id })).toEqual([]);
    await expectOpenWipMatchesItemFlow();
    await expectSameAsEveryItem();
    await expectViewsSameAsEveryItem();
  });

  it("drops the rows of items no longer in progress at compaction, and only rows no running derive can outrank", async () => {
    await store.command("SYSTEM START MERGES item_flow");
    await store.command("SYSTEM START MERGES open_wip");
    const count = async () => {
      const [row] = await store.query<{ rows: string; closed: string }>("SELECT count() AS rows, countIf(is_deleted = 1) AS closed FROM open_wip");
      return { rows: Number(row?.rows), closed: Number(row?.closed) };
    };
    // Merged down to each item's latest row (closing rows kept), so counts move only by purging.
    await store.command("OPTIMIZE TABLE open_wip FINAL");
    const before = await count();
    expect(before.closed).toBeGreaterThan(ITEMS / 2);
    // Just written: younger than a shared store's clock margin, so kept there.
    expect(await compactDerived(store, { clockMarginMs: SHARED_CLOCK_MARGIN_MS })).not.toContain("open_wip");
    expect((await count()).closed).toBe(before.closed);

    // A unit of work still pending holds the cutoff at its mark: rows written after it stay.
    // Its mark is just after the import's derive: the rows of later derives (the moves above) stay.
    const [middle] = await store.query<{ version: string }>("SELECT toString(min(version) + 1) AS version FROM open_wip WHERE is_deleted = 1");
    await markBatch(store, "open-wip-test-pending", "queued", Number(middle!.version));
    const later = Date.now() + 3_600_000;
    expect(await compactDerived(store, { nowMs: later })).toContain("open_wip");
    const [kept] = await store.query<{ oldest: string; closed: string }>("SELECT toString(min(version)) AS oldest, count() AS closed FROM open_wip WHERE is_deleted = 1");
    expect(Number(kept!.closed)).toBeLessThan(before.closed);
    if (Number(kept!.closed) > 0) expect(BigInt(kept!.oldest)).toBeGreaterThanOrEqual(BigInt(middle!.version));
    await expectOpenWipMatchesItemFlow();
    await expectSameAsEveryItem();
    await expectViewsSameAsEveryItem();

    // Once it is derived, every closed item's rows go, and the open items' stay: at once, as the
    // embedded store's only writer is this process (no clock margin).
    await markBatch(store, "open-wip-test-pending", "derived", Number(middle!.version) + 1);
    expect(clockMarginMs(store)).toBe(0);
    expect(await compactDerived(store)).toContain("open_wip");
    const after = await count();
    expect(after.closed).toBe(0);
    const [open] = await store.query<{ items: string }>("SELECT count() AS items FROM item_flow FINAL WHERE deleted = 0 AND has(wip_stay_left_at, NULL)");
    expect(after.rows).toBe(Number(open?.items));
    await expectOpenWipMatchesItemFlow();
    await expectSameAsEveryItem();
    await expectViewsSameAsEveryItem();
    // Compacted, the ended stays are read from the window's granules only: a 90-day load skips
    // most of item_flow (as imported, in parts that each span every item, it may read them all).
    const plan = await store.query<{ explain: string }>(`EXPLAIN indexes = 1 ${sqlFile("queries/load.sql")}`, paramsOf(CASES[0]!, 1));
    const granules = plan.map((row) => /Granules: (\d+)\/(\d+)/.exec(row.explain)).filter((m) => m !== null);
    const itemFlow = granules.filter((m) => Number(m[2]) >= 7);
    expect(itemFlow.length).toBeGreaterThan(0);
    expect(Number(itemFlow.at(-1)?.[1])).toBeLessThanOrEqual(Math.ceil(Number(itemFlow[0]?.[2]) / 2));
  }, 120_000);

  it("joins an item's ended stays into spans as schema 0010 defines them, on hand-checked stays", async () => {
    // A table shaped like item_flow, spans and all, with no view on it: rows written here are
    // nobody's items.
    await store.command("DROP TABLE IF EXISTS span_check");
    await store.command("CREATE TABLE span_check AS item_flow");
    const t = (text: string) => `${text}.000`;
    const cases: { id: string; stays: [string, string | null][]; entered: string[]; left: string[] }[] = [
      { id: "none", stays: [], entered: [], left: [] },
      { id: "one", stays: [["2026-01-02 10:00:00", "2026-01-03 10:00:00"]], entered: ["2026-01-02 10:00:00"], left: ["2026-01-03 10:00:00"] },
      { id: "back to back", stays: [["2026-01-02 10:00:00", "2026-01-03 10:00:00"], ["2026-01-03 10:00:00", "2026-01-05 09:00:00"]], entered: ["2026-01-02 10:00:00"], left: ["2026-01-05 09:00:00"] },
      { id: "a gap", stays: [["2026-01-02 10:00:00", "2026-01-03 10:00:00"], ["2026-01-04 10:00:00", "2026-01-05 09:00:00"]], entered: ["2026-01-02 10:00:00", "2026-01-04 10:00:00"], left: ["2026-01-03 10:00:00", "2026-01-05 09:00:00"] },
      { id: "ended then open", stays: [["2026-01-02 10:00:00", "2026-01-03 10:00:00"], ["2026-01-03 10:00:00", null]], entered: ["2026-01-02 10:00:00"], left: ["2026-01-03 10:00:00"] },
      { id: "open only", stays: [["2026-01-02 10:00:00", null]], entered: [], left: [] },
      {
        id: "gap, run, open",
        stays: [["2026-01-01 08:00:00", "2026-01-01 09:00:00"], ["2026-01-02 08:00:00", "2026-01-03 08:00:00"], ["2026-01-03 08:00:00", "2026-01-04 08:00:00"], ["2026-01-04 08:00:00", null]],
        entered: ["2026-01-01 08:00:00", "2026-01-02 08:00:00"], left: ["2026-01-01 09:00:00", "2026-01-04 08:00:00"],
      },
      { id: "zero-length stay", stays: [["2026-01-02 10:00:00", "2026-01-02 10:00:00"], ["2026-01-02 10:00:00", "2026-01-03 10:00:00"]], entered: ["2026-01-02 10:00:00"], left: ["2026-01-03 10:00:00"] },
      // The placeholders beside the first and last stays are 1970-01-01: stays at that very instant still count.
      { id: "at the epoch", stays: [["1969-12-31 00:00:00", "1970-01-01 00:00:00"], ["1970-01-01 00:00:00", "1970-01-02 00:00:00"]], entered: ["1969-12-31 00:00:00"], left: ["1970-01-02 00:00:00"] },
      { id: "from the epoch", stays: [["1970-01-01 00:00:00", "1970-01-02 00:00:00"]], entered: ["1970-01-01 00:00:00"], left: ["1970-01-02 00:00:00"] },
    ];
    await store.insertRows("span_check", cases.map((c) => ({
      item_id: c.id, wip_stay_states: c.stays.map(() => "Doing"), wip_stay_entered_at: c.stays.map(([e]) => t(e)), wip_stay_left_at: c.stays.map(([, l]) => (l === null ? null : t(l))),
    })));
    const rows = await store.query<{ item_id: string; entered: string[]; left: string[] }>(
      "SELECT item_id, arrayMap(x -> toString(x), wip_span_entered_at) AS entered, arrayMap(x -> toString(x), wip_span_left_at) AS left FROM span_check",
    );
    const byId = new Map(rows.map((row) => [row.item_id, row]));
    for (const c of cases) expect(byId.get(c.id), c.id).toEqual({ item_id: c.id, entered: c.entered.map(t), left: c.left.map(t) });
    await store.command("DROP TABLE span_check");
  });

  it("gives the spans of items derived before schema 0010 once the store is upgraded", async () => {
    // A store made before 0010 has no span columns: drop them, then run the migration on the rows
    // already stored (its MATERIALIZE statements write the spans into the existing parts).
    await store.command("ALTER TABLE item_flow DROP COLUMN IF EXISTS wip_span_entered_at");
    await store.command("ALTER TABLE item_flow DROP COLUMN IF EXISTS wip_span_left_at");
    const statements = splitStatements(sqlFile("schema/0010_wip_spans.sql"));
    expect(statements.length).toBe(4);
    for (const statement of statements) await store.command(statement);
    const [spans] = await store.query<{ items: string; spans: string }>(
      "SELECT count() AS items, sum(length(wip_span_left_at)) AS spans FROM item_flow FINAL WHERE deleted = 0",
    );
    expect(Number(spans?.spans), "the stored items have their spans (two ended ones per finished bench item)").toBeGreaterThan(Number(spans?.items));
    await expectSameAsEveryItem();
    await expectViewsSameAsEveryItem();
  });

  it("is filled from item_flow when a store made before it is upgraded", async () => {
    // Migration 0009's last statement fills the new table from the items already derived.
    const fill = splitStatements(sqlFile("schema/0009_open_wip.sql")).at(-1)!;
    expect(fill).toMatch(/^-- The items already derived/);
    await store.command("TRUNCATE TABLE open_wip");
    expect(await store.query("SELECT item_id FROM open_wip FINAL LIMIT 1")).toEqual([]);
    await store.command(fill);
    await expectOpenWipMatchesItemFlow();
    await expectSameAsEveryItem();
    await expectViewsSameAsEveryItem();
  });
});
