// The foundation on real embedded ClickHouse: schema applied twice, the sink's idempotence, and
// recovery of a unit of work whose process stopped between storing and deriving.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TransitionSchema, WorkItemSchema, type Transition } from "../core/model.ts";
import { compactDerived } from "../pipeline/compact.ts";
import { FlowSink } from "../pipeline/sink.ts";
import os from "node:os";
import { deriveBatch, purgeDerivedBatches, recoverPendingBatches, SHARED_RECOVERY } from "../store/derive.ts";
import { migrate } from "../store/migrate.ts";
import { splitStatements, sqlFile } from "../store/sql.ts";
import type { Store } from "../store/store.ts";
import { freshStore } from "./helpers/store.ts";

let store: Store;
let dispose: () => Promise<void>;

beforeAll(async () => {
  ({ store, dispose } = await freshStore());
});
afterAll(async () => dispose());

const item = (id: string, overrides: Record<string, unknown> = {}) =>
  WorkItemSchema.parse({ item_id: id, source: "test", stream: "software", key: id.toUpperCase(), flow_type: "feature", team: "core", created_at: "2026-01-01T00:00:00Z", ...overrides });
const move = (itemId: string, eventId: string, to: string, flowState: string, at: string): Transition =>
  TransitionSchema.parse({ event_id: eventId, item_id: itemId, from_state: eventId === "c" ? "" : "x", to_state: to, to_flow_state: flowState, at });

const snapshot = () =>
  store.query<Record<string, unknown>>(
    "SELECT item_id, outcome, started_at, finished_at, active_seconds, wait_seconds, reopen_count FROM flow_items ORDER BY item_id",
  );

describe("schema", () => {
  it("applies once and changes nothing when applied again", async () => {
    const again = await migrate(store);
    expect(again.applied).toEqual([]);
    const tables = await store.query<{ name: string }>("SELECT name FROM system.tables WHERE database = currentDatabase() ORDER BY name");
    expect(tables.map((t) => t.name)).toEqual(expect.arrayContaining(["work_items", "transitions", "state_intervals", "item_flow", "flow_items", "rejected_records", "raw_payloads", "sync_state"]));
  });
});

/**
 * Empties `columns` on every item_flow row, as a store derived before `migration` left them; then
 * applies the migration and derives what it queued, which must bring back the rows `read` gave
 * before (`derived`).
 */
async function expectMigrationRebuilds(
  migration: string,
  columns: readonly [string, ...string[]],
  read: () => Promise<Record<string, unknown>[]>,
  derived: readonly Record<string, unknown>[],
): Promise<void> {
  await store.command(`ALTER TABLE item_flow UPDATE ${columns.map((column) => `${column} = []`).join(", ")} WHERE 1 SETTINGS mutations_sync = 2`);
  expect((await read()).map((row) => row[columns[0]])).toEqual(derived.map(() => []));
  for (const statement of splitStatements(sqlFile(`schema/${migration}`))) await store.command(statement);
  expect(await recoverPendingBatches(store)).toBeGreaterThan(0);
  expect(await read()).toEqual(derived);
}

describe("FlowSink", () => {
  const history = [
    move("a", "c", "To Do", "new", "2026-01-01T00:00:00Z"),
    move("a", "1", "In Progress", "active", "2026-01-02T00:00:00Z"),
    move("a", "2", "Done", "done", "2026-01-03T12:00:00Z"),
  ];

  it("stores a unit of work and derives its flow facts on commit", async () => {
    const sink = new FlowSink(store);
    await sink.write({ items: [item("a")], transitions: history });
    await sink.commit();
    expect(await snapshot()).toEqual([
      { item_id: "a", outcome: "done", started_at: "2026-01-02 00:00:00.000", finished_at: "2026-01-03 12:00:00.000", active_seconds: 129600, wait_seconds: 0, reopen_count: 0 },
    ]);
  });

  it("stores the same records delivered again, in another order, only once", async () => {
    const before = await snapshot();
    const sink = new FlowSink(store);
    await sink.write({ transitions: [...history].reverse() });
    await sink.write({ items: [item("a")], transitions: history.slice(1) });
    await sink.commit();
    expect(await snapshot()).toEqual(before);
    const [{ n }] = await store.query<{ n: string }>("SELECT count() AS n FROM transitions FINAL WHERE item_id = 'a'") as [{ n: string }];
    expect(Number(n)).toBe(3);
  });

  it("places a late event by its time, not by its arrival", async () => {
    const sink = new FlowSink(store);
    // A review stay that happened between start and done, delivered after the item was finished.
    await sink.write({ transitions: [move("a", "1b", "Review", "waiting", "2026-01-03T00:00:00Z")] });
    await sink.commit();
    const [row] = await snapshot();
    expect(row).toMatchObject({ outcome: "done", active_seconds: 86400, wait_seconds: 43200 });
  });

  it("follows the item's latest type and team on every derived row", async () => {
    const sink = new FlowSink(store);
    await sink.write({ items: [item("a", { flow_type: "defect", team: "payments" })] });
    await sink.commit();
    const rows = await store.query<{ flow_type: string; team: string }>("SELECT DISTINCT flow_type, team FROM state_intervals FINAL WHERE item_id = 'a'");
    expect(rows).toEqual([{ flow_type: "defect", team: "payments" }]);
  });

  it("derives, at the next start, a unit of work stored by a process that stopped before commit", async () => {
    const crashed = new FlowSink(store);
    await crashed.write({ items: [item("b")], transitions: [move("b", "c", "To Do", "new", "2026-02-01T00:00:00Z"), move("b", "1", "Doing", "active", "2026-02-02T00:00:00Z")] });
    // no commit: the process "dies" here
    expect((await snapshot()).map((r) => r.item_id)).toEqual(["a"]);
    expect(await recoverPendingBatches(store)).toBe(1);
    expect(await recoverPendingBatches(store)).toBe(0);
    const rows = await snapshot();
    expect(rows.map((r) => [r.item_id, r.outcome, r.started_at])).toEqual([["a", "done", "2026-01-02 00:00:00.000"], ["b", "open", "2026-02-02 00:00:00.000"]]);
  });

  it("rebuilds, after the per-state totals migration, rows derived before it", async () => {
    const totals = () =>
      store.query<Record<string, unknown>>(
        "SELECT item_id, state_names, state_seconds, state_seconds_all, state_stays_after_start, state_last_left FROM item_flow FINAL ORDER BY item_id",
      );
    const derived = await totals();
    // a: To Do 1 d (before the start), In Progress 1 d, Review 12 h; Done is still open.
    // b: To Do 1 d before the start; it is still in Doing.
    expect(derived).toEqual([
      {
        item_id: "a", state_names: ["In Progress", "Review", "To Do"], state_seconds: [86400, 43200, 0], state_seconds_all: [86400, 43200, 86400],
        state_stays_after_start: [1, 1, 0], state_last_left: ["2026-01-03 00:00:00.000", "2026-01-03 12:00:00.000", "2026-01-02 00:00:00.000"],
      },
      { item_id: "b", state_names: ["To Do"], state_seconds: [0], state_seconds_all: [86400], state_stays_after_start: [0], state_last_left: ["2026-02-02 00:00:00.000"] },
    ]);
    await expectMigrationRebuilds("0003_state_totals.sql", ["state_names", "state_seconds", "state_seconds_all", "state_stays_after_start", "state_last_left", "state_flow_states"], totals, derived);
  });

  it("rebuilds, after the WIP stays migration, rows derived before it", async () => {
    const stays = () => store.query<Record<string, unknown>>("SELECT item_id, wip_stay_states, wip_stay_entered_at, wip_stay_left_at FROM item_flow FINAL ORDER BY item_id");
    const derived = await stays();
    // a: In Progress (active) Jan 2 to Jan 3, Review (waiting) to Jan 3 12:00, then Done.
    // b: in Doing (active) since Feb 2, so that stay has no end.
    expect(derived).toEqual([
      {
        item_id: "a", wip_stay_states: ["In Progress", "Review"], wip_stay_entered_at: ["2026-01-02 00:00:00.000", "2026-01-03 00:00:00.000"],
        wip_stay_left_at: ["2026-01-03 00:00:00.000", "2026-01-03 12:00:00.000"],
      },
      { item_id: "b", wip_stay_states: ["Doing"], wip_stay_entered_at: ["2026-02-02 00:00:00.000"], wip_stay_left_at: [null] },
    ]);
    await expectMigrationRebuilds("0004_wip_stays.sql", ["wip_stay_states", "wip_stay_entered_at", "wip_stay_left_at"], stays, derived);
  });

  it("rebuilds, after the time-rules migration, only the items whose derive changed", async () => {
    // late: created Jan 5 but moved on Jan 2 (its start is its first move); old: a stay that
    // ended in 1965 (an end the old derive took for "still open").
    const sink = new FlowSink(store);
    await sink.write({
      items: [item("late", { created_at: "2026-01-05T00:00:00Z" }), item("old", { created_at: "1965-01-01T00:00:00Z" })],
      transitions: [
        move("late", "c", "To Do", "new", "2026-01-02T00:00:00Z"),
        move("late", "1", "Doing", "active", "2026-01-03T00:00:00Z"),
        move("old", "c", "To Do", "new", "1965-01-01T00:00:00Z"),
        move("old", "1", "Doing", "active", "1965-01-02T00:00:00Z"),
        move("old", "2", "Done", "done", "1965-01-04T00:00:00Z"),
      ],
    });
    await sink.commit();
    const read = () => store.query<Record<string, unknown>>("SELECT item_id, toString(created_at) AS created_at, wip_stay_left_at FROM item_flow FINAL WHERE item_id IN ('late', 'old') ORDER BY item_id");
    const derived = await read();
    expect(derived).toEqual([
      { item_id: "late", created_at: "2026-01-02 00:00:00.000", wip_stay_left_at: [null] },
      { item_id: "old", created_at: "1965-01-01 00:00:00.000", wip_stay_left_at: ["1965-01-04 00:00:00.000"] },
    ]);
    // What the previous derive left: the recorded creation, and the 1965 end read as open.
    await store.command("ALTER TABLE item_flow UPDATE created_at = toDateTime64('2026-01-05 00:00:00', 3, 'UTC') WHERE item_id = 'late' SETTINGS mutations_sync = 2");
    await store.command("ALTER TABLE item_flow UPDATE wip_stay_left_at = [NULL] WHERE item_id = 'old' SETTINGS mutations_sync = 2");
    expect(await read()).not.toEqual(derived);
    for (const statement of splitStatements(sqlFile("schema/0007_rederive_time_rules.sql"))) await store.command(statement);
    const queued = await store.query<{ item_id: string }>("SELECT DISTINCT item_id FROM refresh_queue WHERE startsWith(batch_id, 'schema-0007-') ORDER BY item_id");
    expect(queued.map((row) => row.item_id)).toEqual(["late", "old"]);
    expect(await recoverPendingBatches(store)).toBeGreaterThan(0);
    expect(await read()).toEqual(derived);
  });

  it("compacts the derived tables into one part each without changing a figure", async () => {
    // Background merges would fold these tiny parts on their own at any moment; hold them off
    // until the parts are counted, so the test sees compaction do the work.
    for (const table of ["item_flow", "state_intervals"]) await store.command(`SYSTEM STOP MERGES ${table}`);
    const sink = new FlowSink(store);
    await sink.write({ items: [item("compact-1")], transitions: [move("compact-1", "c", "To Do", "new", "2026-01-01T00:00:00Z")] });
    await sink.commit();
    // The same item derived again: a second part holding a newer version of its rows.
    await sink.write({ transitions: [move("compact-1", "1", "Doing", "active", "2026-01-02T00:00:00Z"), move("compact-1", "2", "Done", "done", "2026-01-03T00:00:00Z")] });
    await sink.commit();
    const parts = () => store.query<{ table: string; parts: string }>(sqlFile("ops/derived_parts.sql"));
    expect((await parts()).map((p) => p.table)).toEqual(["item_flow", "state_intervals"]);
    // (Only finished items: an open item's figures run on with the clock.)
    const figures = () => store.query("SELECT item_id, outcome, started_at, finished_at, active_seconds, wait_seconds FROM flow_items WHERE item_id = 'compact-1'");
    const before = await figures();
    expect(before).toHaveLength(1);
    const intervals = await store.query("SELECT item_id, event_id, state, left_at FROM state_intervals FINAL ORDER BY item_id, seq");
    for (const table of ["item_flow", "state_intervals"]) await store.command(`SYSTEM START MERGES ${table}`);
    await compactDerived(store);
    expect(await parts()).toEqual([]);
    expect(await figures()).toEqual(before);
    expect(await store.query("SELECT item_id, event_id, state, left_at FROM state_intervals ORDER BY item_id, seq")).toEqual(intervals);
    expect(await compactDerived(store)).toEqual([]);
  });

  it("writes only plain table and column names into insert statements", async () => {
    await expect(store.insertFile("work_items; DROP TABLE transitions", ["item_id"], "/nonexistent")).rejects.toThrow(/not a plain table or column name/);
    await expect(store.insertFile("work_items", ["item_id) SELECT 1 --"], "/nonexistent")).rejects.toThrow(/not a plain table or column name/);
  });

  it("records rejections with their reason", async () => {
    const sink = new FlowSink(store);
    await sink.reject([{ source: "test", reference: "file.jsonl:7", reason: "at: timestamp is missing", payload: "{}" }]);
    const rows = await store.query("SELECT source, reference, reason FROM rejected_records");
    expect(rows).toEqual([{ source: "test", reference: "file.jsonl:7", reason: "at: timestamp is missing" }]);
    expect(sink.counts.rejected).toBe(1);
  });

  it("keeps a unit pending when a write lands after a recovering derive saw its marks", async () => {
    const pending = () => store.query<{ batch_id: string; mark_version: string }>(sqlFile("ops/pending_batches.sql"));
    const sink = new FlowSink(store);
    await sink.write({ items: [item("m")], transitions: [move("m", "c", "To Do", "new", "2026-03-01T00:00:00Z")] });
    const [seen] = await pending();
    expect(seen).toBeDefined();
    // Another process recovers the unit from what it saw; meanwhile the writer stores one more row.
    await sink.write({ transitions: [move("m", "1", "Doing", "active", "2026-03-02T00:00:00Z")] });
    await deriveBatch(store, seen!.batch_id, Number(seen!.mark_version));
    // The derive may or may not have read the new row; its mark must not close the unit.
    expect((await pending()).map((p) => p.batch_id)).toEqual([seen!.batch_id]);
    // The writer commits, and the unit is derived with both rows.
    await sink.commit();
    expect(await pending()).toEqual([]);
    expect((await snapshot()).find((r) => r.item_id === "m")).toMatchObject({ outcome: "open", started_at: "2026-03-02 00:00:00.000" });
  });

  it("recovers, in a shared store, only the units whose writer is gone", async () => {
    const live = new FlowSink(store);
    await live.write({ items: [item("live")], transitions: [move("live", "c", "To Do", "new", "2026-03-01T00:00:00Z")] });
    // This process's own unit: its writer is alive, so recovery leaves it alone.
    expect(await recoverPendingBatches(store, SHARED_RECOVERY)).toBe(0);
    // A unit marked by a process of this host that no longer runs (pid 2^22 + 1 is above pid_max).
    await store.insertRows("refresh_queue", [{ batch_id: "dead-writer", item_id: "dead" }]);
    await store.insertRows("refresh_batches", [{ batch_id: "dead-writer", state: "writing", version: 1, owner: `${os.hostname()}:4194305:1` }]);
    await store.insertRows("transitions", [{ event_id: "c", item_id: "dead", from_state: "", to_state: "To Do", to_flow_state: "new", at: "2026-03-01 00:00:00.000", ingested_at: "2026-03-01 00:00:00.000", version: 1 }]);
    expect(await recoverPendingBatches(store, { ...SHARED_RECOVERY, deadWriterGraceMs: 60_000 })).toBe(0);
    expect(await recoverPendingBatches(store, { ...SHARED_RECOVERY, deadWriterGraceMs: 0 })).toBe(1);
    expect((await snapshot()).map((r) => r.item_id)).toContain("dead");
    // A live writer's unit left without a mark for long (a sync here that failed midway) is
    // derived too; a later write of it outranks that and keeps it pending for its own commit.
    expect(await recoverPendingBatches(store, { ...SHARED_RECOVERY, idleWriterMs: 0 })).toBe(1);
    expect((await snapshot()).map((r) => r.item_id)).toContain("live");
    await live.write({ transitions: [move("live", "1", "Doing", "active", "2026-03-02T00:00:00Z")] });
    expect(await store.query(sqlFile("ops/pending_batches.sql"))).toHaveLength(1);
    await live.commit();
    expect(await store.query(sqlFile("ops/pending_batches.sql"))).toEqual([]);
  });

  it("purges marks of units derived a while ago, and their queue rows once a day old, never a pending unit's", async () => {
    const ago = (minutes: number) => new Date(Date.now() - minutes * 60_000).toISOString().replace("T", " ").replace("Z", "");
    await store.insertRows("refresh_batches", [
      { batch_id: "old-derived", state: "queued", version: 1, owner: "", updated_at: ago(3000) },
      { batch_id: "old-derived", state: "derived", version: 1, owner: "", updated_at: ago(2990) },
      { batch_id: "old-pending", state: "writing", version: 1, owner: "", updated_at: ago(3000) },
      { batch_id: "new-derived", state: "derived", version: 1, owner: "", updated_at: ago(1) },
    ]);
    await store.insertRows("refresh_queue", ["old-derived", "old-pending", "new-derived"].map((batch_id) => ({ batch_id, item_id: "p", queued_at: ago(3000) })));
    await purgeDerivedBatches(store);
    const marks = await store.query<{ batch_id: string }>("SELECT DISTINCT batch_id FROM refresh_batches WHERE batch_id LIKE '%-derived' OR batch_id = 'old-pending' ORDER BY batch_id");
    expect(marks.map((m) => m.batch_id)).toEqual(["new-derived", "old-pending"]);
    // The queue rows go on the next purge, once their unit has no mark left.
    await purgeDerivedBatches(store);
    const queued = await store.query<{ batch_id: string }>("SELECT DISTINCT batch_id FROM refresh_queue WHERE item_id = 'p' ORDER BY batch_id");
    expect(queued.map((q) => q.batch_id)).toEqual(["new-derived", "old-pending"]);
  });
});
