// Forward-only lifecycles in real chDB: an order's earlier-stage event recorded after its delivery
// is kept in transitions, listed as kept-not-applied, and does not reopen the order; an incident
// still reopens. Events go through the stream's own mapping and the one sink; figures are hand-checked.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Transition, WorkItem } from "../core/model.ts";
import { TopicConfigSchema } from "../connectors/kafka/config.ts";
import { lifecycleRanks, writeLifecycleRanks } from "../connectors/kafka/lifecycle.ts";
import { decodeEvent } from "../connectors/kafka/map.ts";
import { FlowSink } from "../pipeline/sink.ts";
import { sqlFile } from "../store/sql.ts";
import type { Store } from "../store/store.ts";
import { freshStore } from "./helpers/store.ts";

const orders = TopicConfigSchema.parse({ topic: "shop.orders", contract: "order", source: "orders" });
const incidents = TopicConfigSchema.parse({ topic: "ops.incidents", contract: "incident", source: "incidents" });

const order = (id: string, status: string, at: string) => JSON.stringify({ schema: "order.v1", order_id: id, status, event_time: at });
const incident = (id: string, state: string, at: string) => JSON.stringify({ schema: "incident.v1", number: id, state, event_time: at });

let store: Store;
let dispose: () => Promise<void>;
/** What each writeLifecycleRanks call in beforeAll re-derived. */
const rederived: string[][] = [];

/** Maps events as the stream does and stores them as one unit of work (stored, then derived). */
async function ingest(topic: typeof orders, events: string[]) {
  const items: WorkItem[] = [];
  const transitions: Transition[] = [];
  for (const event of events) {
    const mapped = decodeEvent(topic, event);
    if (!mapped.ok) throw new Error(mapped.detail);
    if (mapped.item) items.push(mapped.item);
    if (mapped.transition) transitions.push(mapped.transition);
  }
  // The earliest event's item row carries the creation time, as the decode thread's merge would.
  items.sort((a, b) => b.created_at - a.created_at);
  const sink = new FlowSink(store);
  await sink.write({ items, transitions });
  await sink.commit();
}

const flow = async (id: string) => {
  const [row] = await store.query<Record<string, unknown>>(
    `SELECT status, current_state, started_at, finished_at, flow_seconds, active_seconds, wait_seconds, reopen_count, transition_count
     FROM flow_items WHERE item_id = {id:String}`,
    { id },
  );
  return row;
};

const DELIVERED = [
  ["purchased", "2024-03-01T09:00:00Z"],
  ["approved", "2024-03-01T09:30:00Z"],
  ["shipped", "2024-03-02T08:00:00Z"],
  ["delivered", "2024-03-05T08:00:00Z"],
] as const;
// Approved 03-01 09:30 -> delivered 03-05 08:00: 3 d 22 h 30 min; active until shipped (22 h 30 min), then waiting 3 d.
const DELIVERED_FLOW = {
  status: "done",
  current_state: "delivered",
  started_at: "2024-03-01 09:30:00.000",
  finished_at: "2024-03-05 08:00:00.000",
  flow_seconds: 340200,
  active_seconds: 81000,
  wait_seconds: 259200,
  reopen_count: 0,
  transition_count: 4,
};

beforeAll(async () => {
  ({ store, dispose } = await freshStore());
  // An order stored before any ranks existed (a store from before forward-only lifecycles): its
  // late approval reopened it then.
  await ingest(orders, [...DELIVERED.map(([status, at]) => order("o-0", status, at)), order("o-0", "approved", "2024-03-06T10:00:00Z")]);
  rederived.push(await writeLifecycleRanks(store, [orders, incidents]));
  // Written again at the next start: still one row per stream and state, and nothing re-derived.
  rederived.push(await writeLifecycleRanks(store, [orders, incidents]));
}, 120_000);
afterAll(() => dispose?.());

describe("forward-only lifecycles (real chDB)", () => {
  it("ranks an order's states in lifecycle order, terminal ones last and equal; incidents are not ranked", async () => {
    expect(lifecycleRanks(orders).map((r) => [r.state, r.rank])).toEqual([
      ["purchased", 1],
      ["approved", 2],
      ["invoiced", 3],
      ["shipped", 4],
      ["delivered", 5],
      ["canceled", 5],
    ]);
    expect(lifecycleRanks(incidents)).toEqual([]);
    const [row] = await store.query<{ n: number }>("SELECT count() AS n FROM lifecycle_ranks FINAL");
    expect(Number(row!.n)).toBe(6);
  });

  it("derives a stream's stored items again when its ranks first appear, and only then", async () => {
    expect(rederived).toEqual([["orders"], []]);
    expect(await flow("orders:o-0")).toEqual(DELIVERED_FLOW);
    const pending = await store.query(sqlFile("ops/pending_batches.sql"));
    expect(pending).toEqual([]);
  });

  it("keeps an order delivered when an approval is recorded after the delivery", async () => {
    await ingest(orders, DELIVERED.map(([status, at]) => order("o-1", status, at)));
    await ingest(orders, [order("o-1", "approved", "2024-03-06T10:00:00Z")]);
    expect(await flow("orders:o-1")).toEqual(DELIVERED_FLOW);

    // Kept in transitions, visible with its reason in the view and in `flowpulse rejected`.
    const [stored] = await store.query<{ n: number }>("SELECT count() AS n FROM transitions FINAL WHERE item_id = 'orders:o-1'");
    expect(Number(stored!.n)).toBe(5);
    const flagged = await store.query<Record<string, unknown>>(
      "SELECT state, toString(at) AS at, after_state, reason FROM out_of_sequence_transitions WHERE item_id = 'orders:o-1'",
    );
    expect(flagged).toEqual([{ state: "approved", at: "2024-03-06 10:00:00.000", after_state: "delivered", reason: "kept, not applied: approved after delivered" }]);
    const listed = await store.query<{ source: string; reference: string; reason: string }>(sqlFile("queries/rejected.sql"), { source: "lifecycle", limit: 100 });
    expect(listed.filter((r) => r.reference.startsWith("orders:o-1@"))).toEqual([
      expect.objectContaining({ source: "lifecycle", reference: "orders:o-1@o-1:approved:1709719200000", reason: "kept, not applied: approved after delivered" }),
    ]);
    // Other sources' listings are not mixed with it.
    const imports = await store.query<{ source: string }>(sqlFile("queries/rejected.sql"), { source: "import", limit: 100 });
    expect(imports.filter((r) => r.source === "lifecycle")).toEqual([]);
  });

  it("gives the same figures when the late event arrives before the delivery does", async () => {
    // The late approval is derived first (and applies then); once the delivery arrives the
    // rebuild marks it, and no stay of the earlier derive is left behind.
    await ingest(orders, [...DELIVERED.slice(0, 2).map(([status, at]) => order("o-2", status, at)), order("o-2", "approved", "2024-03-06T10:00:00Z")]);
    expect(await flow("orders:o-2")).toMatchObject({ status: "wip", current_state: "approved" });
    await ingest(orders, DELIVERED.slice(2).map(([status, at]) => order("o-2", status, at)));
    expect(await flow("orders:o-2")).toEqual(DELIVERED_FLOW);
    const stays = await store.query<{ state: string; seq: number; out: string }>(
      "SELECT state, seq, out_of_sequence_after AS out FROM state_intervals FINAL WHERE item_id = 'orders:o-2' ORDER BY entered_at",
    );
    expect(stays.map((s) => [s.state, Number(s.seq), s.out])).toEqual([
      ["purchased", 1, ""],
      ["approved", 2, ""],
      ["shipped", 3, ""],
      ["delivered", 4, ""],
      ["approved", 0, "delivered"],
    ]);
  });

  it("still reopens an incident resolved and then worked on again", async () => {
    await ingest(incidents, [
      incident("INC1", "new", "2024-03-01T08:00:00Z"),
      incident("INC1", "in_progress", "2024-03-01T09:00:00Z"),
      incident("INC1", "resolved", "2024-03-01T12:00:00Z"),
      incident("INC1", "in_progress", "2024-03-02T09:00:00Z"),
    ]);
    expect(await flow("incidents:INC1")).toMatchObject({ status: "wip", current_state: "in_progress", reopen_count: 1, transition_count: 4, finished_at: null });
    const [flagged] = await store.query<{ n: number }>("SELECT count() AS n FROM out_of_sequence_transitions WHERE item_id = 'incidents:INC1'");
    expect(Number(flagged!.n)).toBe(0);
  });
});
