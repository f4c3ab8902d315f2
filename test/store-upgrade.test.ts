// Upgrading a store made before row versions (migrations 0001-0004) to 0005, on real chDB: the
// rows and every figure stay the same, and a migration interrupted between its statements (here
// right after the old transitions table was moved aside, before that step was recorded) finishes
// on the next start.
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { distribution, flowTime, velocity } from "../metrics/query.ts";
import type { MetricFilters } from "../metrics/api.ts";
import { ChdbStore } from "../store/chdb.ts";
import { EXCLUSIVE_RECOVERY, recoverPendingBatches } from "../store/derive.ts";
import { migrate } from "../store/migrate.ts";
import { splitStatements, sqlFile, sqlFolder } from "../store/sql.ts";

let dir: string;
let store: ChdbStore;

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), "fp-upgrade-"));
  store = new ChdbStore(dir);
});
afterAll(async () => {
  await store?.close();
  rmSync(dir, { recursive: true, force: true });
});

const JANUARY: MetricFilters = { sinceMs: Date.UTC(2026, 0, 1), untilMs: Date.UTC(2026, 1, 1), period: "week", timezone: "UTC" };

const figures = async () => ({
  transitions: await store.query("SELECT event_id, item_id, from_state, to_state, toString(to_flow_state) AS fs, toString(at) AS at, toString(ingested_at) AS ingested FROM transitions FINAL ORDER BY item_id, event_id"),
  items: await store.query("SELECT item_id, outcome, started_at, finished_at, active_seconds, wait_seconds FROM flow_items ORDER BY item_id"),
  velocity: await velocity(store, JANUARY),
  flowTime: await flowTime(store, JANUARY),
  distribution: await distribution(store, JANUARY),
});

async function deriveOld(batchId: string, itemIds: string[]): Promise<void> {
  await store.insertRows("refresh_queue", itemIds.map((item_id) => ({ batch_id: batchId, item_id })));
  for (const step of sqlFolder("derive")) await store.command(step.text, { batch_id: batchId, version: Date.now() * 1000 });
  await store.insertRows("refresh_batches", [{ batch_id: batchId, state: "derived" }]);
}

describe("migration 0005 (row versions)", () => {
  it("keeps every row and figure of a store made before it, also when interrupted midway", async () => {
    await store.command(sqlFile("ops/schema_migrations.sql"));
    // The store as 0001-0004 left it, plus 0006, 0009 and 0010: this code's derive, views and
    // queries, standing in for the old ones here, read 0006's lifecycle table and column, 0009's
    // open_wip and 0010's spans (none touches what 0005 rebuilds).
    const readByThisCode = (name: string) => name.startsWith("0006_") || name.startsWith("0009_") || name.startsWith("0010_");
    for (const migration of sqlFolder("schema").filter((m) => m.name < "0005" || readByThisCode(m.name))) {
      for (const statement of splitStatements(migration.text)) await store.command(statement);
      await store.insertRows("schema_migrations", [{ name: migration.name }]);
    }
    for (const view of sqlFolder("views")) for (const statement of splitStatements(view.text)) await store.command(statement);

    const item = (id: string) => ({ item_id: id, source: "u", stream: "s", key: id, title: id, url: "", flow_type: "feature", team: "t", labels: [], created_at: "2026-01-02 00:00:00.000", source_type: "", deleted: 0, version: 1 });
    const move = (itemId: string, eventId: string, to: string, flowState: string, at: string, ingested: string) =>
      ({ event_id: eventId, item_id: itemId, from_state: eventId === "0" ? "" : "x", to_state: to, to_flow_state: flowState, at, ingested_at: ingested });
    await store.insertRows("work_items", ["u:1", "u:2", "u:3"].map(item));
    await store.insertRows("transitions", [
      move("u:1", "0", "To Do", "new", "2026-01-02 00:00:00.000", "2026-01-20 00:00:00.000"),
      move("u:1", "1", "Doing", "active", "2026-01-03 00:00:00.000", "2026-01-20 00:00:00.000"),
      move("u:1", "2", "Done", "done", "2026-01-09 00:00:00.000", "2026-01-20 00:00:00.000"),
      move("u:2", "0", "To Do", "new", "2026-01-02 00:00:00.000", "2026-01-20 00:00:00.000"),
      move("u:2", "1", "Doing", "active", "2026-01-05 00:00:00.000", "2026-01-20 00:00:00.000"),
    ]);
    // A later copy of u:1's finish: the row that wins before the upgrade must win after it.
    await store.insertRows("transitions", [move("u:1", "2", "Done", "done", "2026-01-08 00:00:00.000", "2026-01-21 00:00:00.000"), move("u:2", "2", "Done", "done", "2026-01-12 00:00:00.000", "2026-01-21 00:00:00.000")]);
    await deriveOld("old-1", ["u:1", "u:2"]);
    // u:3 (February, outside the figures compared): stored and queued by a process that stopped before deriving.
    await store.insertRows("transitions", [move("u:3", "0", "To Do", "new", "2026-02-02 00:00:00.000", "2026-02-22 00:00:00.000"), move("u:3", "1", "Done", "done", "2026-02-04 00:00:00.000", "2026-02-22 00:00:00.000")]);
    await store.insertRows("refresh_queue", [{ batch_id: "old-2", item_id: "u:3" }]);
    await store.insertRows("refresh_batches", [{ batch_id: "old-2", state: "queued" }]);
    const before = await figures();
    expect(before.items.map((row) => (row as { item_id: string }).item_id)).toEqual(["u:1", "u:2"]);

    // Interrupted: the first three statements ran (the copy, and transitions moved aside), the
    // third was not recorded, so the next start repeats it.
    const statements = splitStatements(sqlFile("schema/0005_row_versions.sql"));
    for (const [index, statement] of statements.slice(0, 3).entries()) {
      await store.command(statement);
      if (index < 2) await store.insertRows("schema_migrations", [{ name: `0005_row_versions.sql#${index + 1}` }]);
    }
    expect(await store.query("SELECT name FROM system.tables WHERE database = currentDatabase() AND name = 'transitions'")).toEqual([]);

    // 0005 finishes; 0006, 0009 and 0010 were applied with the old store above, and the others run as usual.
    expect((await migrate(store)).applied).toEqual(
      sqlFolder("schema").map((m) => m.name).filter((name) => name >= "0005" && !readByThisCode(name)),
    );
    expect(await recoverPendingBatches(store, EXCLUSIVE_RECOVERY)).toBe(1);

    const after = await figures();
    expect(after.transitions).toEqual(before.transitions);
    expect(after.velocity).toEqual(before.velocity);
    expect(after.flowTime).toEqual(before.flowTime);
    expect(after.distribution).toEqual(before.distribution);
    // u:3, left queued, is derived now; the others are unchanged.
    expect(after.items.slice(0, 2)).toEqual(before.items);
    expect(after.items.map((row) => (row as { item_id: string }).item_id)).toEqual(["u:1", "u:2", "u:3"]);

    const tables = await store.query<{ name: string; engine_full: string; create_table_query: string }>(
      "SELECT name, engine_full, create_table_query FROM system.tables WHERE database = currentDatabase() AND (name LIKE 'transitions%' OR name LIKE 'refresh_%') ORDER BY name",
    );
    expect(tables.map((t) => t.name)).toEqual(["refresh_batches", "refresh_queue", "transitions"]);
    expect(tables.find((t) => t.name === "transitions")?.engine_full).toMatch(/^ReplacingMergeTree\(version\)/);
    expect(tables.find((t) => t.name === "refresh_queue")?.create_table_query).not.toMatch(/TTL/);
    expect(await store.query("SELECT toString(version) AS v FROM transitions FINAL WHERE item_id = 'u:1' AND event_id = '2'")).toEqual([{ v: String(Date.UTC(2026, 0, 21) * 1000) }]);
    // Applied again, nothing changes.
    expect((await migrate(store)).applied).toEqual([]);
  });
});
