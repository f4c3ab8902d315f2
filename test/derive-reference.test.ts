// The one-pass state intervals derive (sql/derive/0001_state_intervals.sql) against the window
// formulation it replaced (test/fixtures/derive/window-reference.sql), in real chDB: random
// histories of ranked (forward-only) and unranked streams, with equal timestamps, creation events,
// states without a rank, corrections of a stored event, and transitions of items never stored.
// Both must write the same rows, column for column.
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { prng } from "../connectors/file/sample.ts";
import type { FlowState, Transition, WorkItem } from "../core/model.ts";
import { FlowSink, nextVersion } from "../pipeline/sink.ts";
import { splitStatements } from "../store/sql.ts";
import type { Store } from "../store/store.ts";
import { freshStore } from "./helpers/store.ts";

const REFERENCE = splitStatements(readFileSync(new URL("./fixtures/derive/window-reference.sql", import.meta.url), "utf8"));

/** Ranked stream: the order lifecycle (done and canceled share the last rank), plus a state without a rank. */
const ORDER_STATES: [string, FlowState, number][] = [
  ["purchased", "new", 1],
  ["approved", "active", 2],
  ["invoiced", "waiting", 3],
  ["shipped", "active", 4],
  ["delivered", "done", 5],
  ["canceled", "canceled", 5],
  ["on_hold", "waiting", 0],
];
const INCIDENT_STATES: [string, FlowState][] = [
  ["new", "new"],
  ["in_progress", "active"],
  ["waiting", "waiting"],
  ["resolved", "done"],
  ["closed", "canceled"],
];

function histories(seed: number): { items: WorkItem[]; transitions: Transition[] } {
  // Deterministic (a failing seed can be replayed).
  const next = prng(seed);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(next() * list.length)] as T;
  const base = Date.UTC(2025, 2, 1);
  const items: WorkItem[] = [];
  const transitions: Transition[] = [];
  for (let n = 0; n < 150; n++) {
    const ranked = next() < 0.6;
    const stream = ranked ? "orders" : "incidents";
    const itemId = `${stream}:${seed}-${n}`;
    // One item in ten is known only by its transitions (no item row).
    if (next() >= 0.1) {
      items.push({
        item_id: itemId, source: stream, stream, key: `${seed}-${n}`, title: `item ${n}`, url: "", flow_type: ranked ? "order" : "defect",
        team: pick(["a", "b"]), labels: [], created_at: base, source_type: "test", deleted: next() < 0.05,
      });
    }
    const count = 1 + Math.floor(next() * 12);
    let from = "";
    for (let k = 0; k < count; k++) {
      const [state, flow] = ranked ? pick(ORDER_STATES) : pick(INCIDENT_STATES);
      // Minutes from a small range: many transitions of an item share a timestamp.
      const at = base + Math.floor(next() * 15) * 60_000;
      // Event ids in no particular order, so ties fall to the id.
      const eventId = `e${Math.floor(next() * 1000)}-${k}`;
      transitions.push({ event_id: eventId, item_id: itemId, from_state: k === 0 && next() < 0.7 ? "" : from || "unknown", to_state: state, to_flow_state: flow, at });
      // A later write of the same event with another time: the correction is the one derived.
      if (next() < 0.05) transitions.push({ event_id: eventId, item_id: itemId, from_state: from || "unknown", to_state: state, to_flow_state: flow, at: at + 120_000 });
      from = state;
    }
  }
  return { items, transitions };
}

const COLUMNS = `item_id, event_id, seq, state, flow_state, prev_flow_state, after_start, final_terminal, entered_at, left_at,
  stream, team, flow_type, deleted, out_of_sequence_after`;

describe("state intervals derive against the window reference (real chDB)", () => {
  let store: Store;
  let dispose: () => Promise<void>;

  beforeAll(async () => {
    ({ store, dispose } = await freshStore());
    const version = nextVersion();
    await store.insertRows("lifecycle_ranks", ORDER_STATES.filter(([, , rank]) => rank > 0).map(([state, , rank]) => ({ stream: "orders", state, rank, version })));
  });
  afterAll(async () => dispose?.());

  for (const seed of [11, 22, 33, 44]) {
    it(`writes the reference's rows for every item (seed ${seed})`, async () => {
      const { items, transitions } = histories(seed);
      const sink = new FlowSink(store);
      await sink.write({ items, transitions });
      await sink.commit();
      const ids = [...new Set(transitions.map((t) => t.item_id))];
      const read = () =>
        store.query<Record<string, unknown>>(`SELECT ${COLUMNS} FROM state_intervals FINAL WHERE item_id IN {ids:Array(String)} ORDER BY item_id, event_id`, { ids });
      const derived = await read();

      // The reference derives the same items again, with a later version: its rows replace ours.
      const batchId = randomUUID();
      await store.insertCompact("refresh_queue", ["batch_id", "item_id"], ids.map((id) => [batchId, id]));
      for (const statement of REFERENCE) await store.command(statement, { batch_id: batchId, version: nextVersion() });
      const reference = await read();

      // One row per distinct (item, event): a correction replaces the event it corrects.
      expect(reference.length).toBe(new Set(transitions.map((t) => `${t.item_id} ${t.event_id}`)).size);
      // The histories hold out-of-sequence moves, so the rule is exercised, not only the plain pass.
      expect(reference.filter((row) => row.out_of_sequence_after !== "").length).toBeGreaterThan(5);
      expect(derived).toEqual(reference);
    });
  }
});
