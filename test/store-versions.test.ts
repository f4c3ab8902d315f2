// Row versions on real chDB: a file that corrects an earlier line (same item_id + event_id, new
// `at`) keeps the correction, whichever of the importer's concurrent writes lands last. Random
// files and batch sizes from a seeded generator, so a failure reproduces.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { importFiles } from "../connectors/file/import.ts";
import { TransitionSchema, WorkItemSchema } from "../core/model.ts";
import { encodeItems, encodeTransitions, ITEM_COLUMNS, nextVersions, TRANSITION_COLUMNS } from "../pipeline/sink.ts";
import { openStore } from "../store/open.ts";
import type { Store } from "../store/store.ts";
import { prng } from "../connectors/file/sample.ts";

let dir: string;
let store: Store;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), "fp-versions-"));
  store = await openStore({ kind: "embedded", path: path.join(dir, "store") });
});

afterAll(async () => {
  await store?.close();
  rmSync(dir, { recursive: true, force: true });
});


const DAY = 86_400_000;
const iso = (ms: number) => new Date(ms).toISOString();

/**
 * A JSONL file of `items` items (create, start, finish), and after all of them a correction of
 * some items' finish (the same event id, another `at`, earlier or later). Returns the file and
 * the finish each item must end with: the last line's.
 */
function correctedFile(prefix: string, items: number, random: () => number): { text: string; finished: Map<string, string> } {
  const lines: string[] = [];
  const finished = new Map<string, string>();
  const base = Date.UTC(2026, 0, 5);
  for (let i = 0; i < items; i++) {
    const id = `${prefix}:${i}`;
    const created = base + i * 3_600_000;
    const done = created + (2 + Math.floor(random() * 10)) * DAY;
    lines.push(JSON.stringify({ kind: "item", item_id: id, source: "v", stream: "s", key: `K-${i}`, flow_type: "feature", team: "t", created_at: iso(created) }));
    lines.push(JSON.stringify({ kind: "transition", event_id: `${id}#0`, item_id: id, from_state: "", to_state: "To Do", to_flow_state: "new", at: iso(created) }));
    lines.push(JSON.stringify({ kind: "transition", event_id: `${id}#1`, item_id: id, from_state: "To Do", to_state: "Doing", to_flow_state: "active", at: iso(created + DAY) }));
    lines.push(JSON.stringify({ kind: "transition", event_id: `${id}#2`, item_id: id, from_state: "Doing", to_state: "Done", to_flow_state: "done", at: iso(done) }));
    finished.set(id, iso(done));
  }
  for (let i = 0; i < items; i++) {
    if (random() < 0.5) continue;
    const id = `${prefix}:${i}`;
    // Corrected either way: the later line must win, not the later (or earlier) time.
    const shift = (random() < 0.5 ? -1 : 1) * (1 + Math.floor(random() * 12)) * 3_600_000;
    const at = iso(Date.parse(finished.get(id) as string) + shift);
    lines.push(JSON.stringify({ kind: "transition", event_id: `${id}#2`, item_id: id, from_state: "Doing", to_state: "Done", to_flow_state: "done", at }));
    finished.set(id, at);
  }
  return { text: lines.join("\n") + "\n", finished };
}

const clickhouseTime = (isoText: string) => isoText.replace("T", " ").replace("Z", "");

describe("row versions", () => {
  it("keeps the later write of a record when it lands first", async () => {
    // Two writes encoded in order (the original, then its correction), landing the other way
    // round, as two concurrent writes may.
    const move = (at: string) => TransitionSchema.parse({ event_id: "o#2", item_id: "order:1", from_state: "Doing", to_state: "Done", to_flow_state: "done", at });
    const item = (title: string) => WorkItemSchema.parse({ item_id: "order:1", source: "v", stream: "s", key: "O-1", title, flow_type: "feature", team: "t", created_at: "2026-01-01T00:00:00Z" });
    const original = { transitions: encodeTransitions([move("2026-01-09T00:00:00Z")], Date.now(), nextVersions(1)), items: encodeItems([item("first")], nextVersions(1)) };
    const correction = { transitions: encodeTransitions([move("2026-01-08T00:00:00Z")], Date.now(), nextVersions(1)), items: encodeItems([item("second")], nextVersions(1)) };
    for (const write of [correction, original]) {
      await store.insertLines("transitions", TRANSITION_COLUMNS, write.transitions);
      await store.insertLines("work_items", ITEM_COLUMNS, write.items);
    }
    expect(await store.query("SELECT toString(at) AS at FROM transitions FINAL WHERE item_id = 'order:1'")).toEqual([{ at: "2026-01-08 00:00:00.000" }]);
    expect(await store.query("SELECT title FROM work_items FINAL WHERE item_id = 'order:1'")).toEqual([{ title: "second" }]);
  });

  const random = prng(0x5eed12);
  // Small batches put an item's first lines and its correction in different writes, two in
  // flight; large ones leave the corrections in a last, smaller write that lands before the
  // large one before it (the case where the older value won every time).
  const runs = [
    ...[0, 1, 2].map(() => ({ items: 20 + Math.floor(random() * 40), batchSize: 2 + Math.floor(random() * 9) })),
    ...[0, 1].map(() => ({ items: 1500 + Math.floor(random() * 500), batchSize: 3500 + Math.floor(random() * 1000) })),
    // Every original line in one large write, the corrections alone in a small one after it.
    { items: 25_000, batchSize: 100_000 },
  ];
  for (const [run, { items, batchSize }] of runs.entries()) {
    it(`keeps the correction a later line makes (${items} items, ${batchSize} records per write)`, async () => {
      const prefix = `r${run}`;
      const { text, finished } = correctedFile(prefix, items, random);
      const file = path.join(dir, `${prefix}.jsonl`);
      writeFileSync(file, text);
      await importFiles(store, [file], { batchSize, commitEvery: batchSize * 3 });

      const stored = await store.query<{ item_id: string; at: string }>(
        "SELECT item_id, toString(at) AS at FROM transitions FINAL WHERE startsWith(item_id, {prefix:String}) AND to_state = 'Done' ORDER BY item_id",
        { prefix: `${prefix}:` },
      );
      const derived = await store.query<{ item_id: string; finished_at: string }>(
        "SELECT item_id, toString(finished_at) AS finished_at FROM item_flow FINAL WHERE startsWith(item_id, {prefix:String}) ORDER BY item_id",
        { prefix: `${prefix}:` },
      );
      const expected = [...finished.entries()].map(([id, at]) => ({ item_id: id, at: clickhouseTime(at) })).sort((a, b) => a.item_id.localeCompare(b.item_id));
      expect(stored).toEqual(expected);
      expect(derived).toEqual(expected.map(({ item_id, at }) => ({ item_id, finished_at: at })));
    });
  }
});
