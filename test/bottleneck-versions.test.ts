// The bottleneck queries read state_intervals, where a rebuilt item leaves its older stay rows
// behind until ClickHouse merges them. They must count only each stay's current version, also
// when a stale version would match the window and the current one would not.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TransitionSchema, WorkItemSchema } from "../core/model.ts";
import { growingQueues, load, timeInState } from "../metrics/query.ts";
import { FlowSink } from "../pipeline/sink.ts";
import type { Store } from "../store/store.ts";
import { freshStore } from "./helpers/store.ts";

let store: Store;
let dispose: () => Promise<void>;
beforeAll(async () => {
  ({ store, dispose } = await freshStore());
  // Keep every version side by side, as between background merges.
  await store.command("SYSTEM STOP MERGES state_intervals");
});
afterAll(async () => dispose());

const move = (eventId: string, to: string, flowState: string, at: string) =>
  TransitionSchema.parse({ event_id: eventId, item_id: "v:1", from_state: eventId === "c" ? "" : "x", to_state: to, to_flow_state: flowState, at });
const JAN_SECOND_HALF = { sinceMs: Date.parse("2026-01-15T00:00:00Z"), untilMs: Date.parse("2026-02-01T00:00:00Z"), period: "day" as const };

describe("bottleneck queries over rebuilt items", () => {
  it("count the current stays only", async () => {
    const sink = new FlowSink(store);
    await sink.write({
      items: [WorkItemSchema.parse({ item_id: "v:1", source: "v", stream: "s", key: "V-1", flow_type: "feature", created_at: "2026-01-01T00:00:00Z" })],
      transitions: [move("c", "To Do", "new", "2026-01-01T00:00:00Z"), move("1", "In Progress", "active", "2026-01-02T00:00:00Z"), move("3", "Done", "done", "2026-01-20T00:00:00Z")],
    });
    await sink.commit();
    // In Progress Jan 2 -> Jan 20: 18 days, ended in the window.
    expect(await timeInState(store, JAN_SECOND_HALF)).toEqual([
      { state: "In Progress", flow_state: "active", items: 1, median_days: 18, p85_days: 18, total_days: 18 },
    ]);

    // A late event: the item went to Review on Jan 10. In Progress now ends Jan 10 (before the
    // window) and Review runs Jan 10 -> Jan 20 (10 days, in the window).
    await sink.write({ transitions: [move("2", "Review", "waiting", "2026-01-10T00:00:00Z")] });
    await sink.commit();
    const [{ versions }] = (await store.query<{ versions: string }>(
      "SELECT count() AS versions FROM state_intervals WHERE item_id = 'v:1' AND event_id = '1'",
    )) as [{ versions: string }];
    expect(Number(versions)).toBe(2); // the stale In Progress row is still there
    expect(await timeInState(store, JAN_SECOND_HALF)).toEqual([
      { state: "Review", flow_state: "waiting", items: 1, median_days: 10, p85_days: 10, total_days: 10 },
    ]);
    // WIP on Jan 15 (end of day) is the Review stay, counted once.
    const jan15 = (await load(store, JAN_SECOND_HALF)).filter((row) => row.day === "2026-01-15");
    expect(jan15).toEqual([{ day: "2026-01-15", flow_type: "feature", wip: 1 }]);
    expect(await growingQueues(store, { ...JAN_SECOND_HALF, growthWeeks: 1 })).toEqual([]);
  });
});
