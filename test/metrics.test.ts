// The flow metrics on hand-built histories (test/fixtures/metrics/histories.ts) in a real embedded
// store. Every expected figure is worked out by hand in the comments, not by running the SQL.
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { describeIssues, TransitionSchema, WorkItemSchema } from "../core/model.ts";
import type { MetricFilters } from "../metrics/api.ts";
import {
  aging,
  bottlenecks,
  distribution,
  efficiency,
  flowTime,
  flowTimeSummary,
  growingQueues,
  itemsBehind,
  load,
  previousWindow,
  resolveFilters,
  timeInState,
  velocity,
} from "../metrics/query.ts";
import { FlowSink } from "../pipeline/sink.ts";
import { openStore } from "../store/open.ts";
import type { Store } from "../store/store.ts";
import type { FlowState } from "../core/model.ts";
import { opsHistories, QUEUES, SOFTWARE, transitionsOf, type History } from "./fixtures/metrics/histories.ts";

const DAY = 86_400_000;
const JAN: MetricFilters = {
  stream: "software",
  sinceMs: Date.parse("2024-01-01T00:00:00Z"),
  untilMs: Date.parse("2024-02-01T00:00:00Z"),
};
const NOW = Date.now();

let dir: string;
let store: Store;
let sink: FlowSink;

async function writeHistories(histories: readonly History[]): Promise<void> {
  await sink.write({
    items: histories.map((h) => WorkItemSchema.parse(h.item)),
    transitions: histories.flatMap((h) => transitionsOf(h).map((t) => TransitionSchema.parse(t))),
  });
  await sink.commit();
}

const byKey = <T extends object>(rows: readonly T[], ...keys: (keyof T)[]) =>
  Object.fromEntries(rows.map((row) => [keys.map((k) => String(row[k])).join("|"), row]));

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), "fp-metrics-"));
  store = await openStore({ kind: "embedded", path: dir });
  sink = new FlowSink(store);
  await writeHistories(SOFTWARE.filter((h) => h.item.key !== "J"));
  // J arrives out of order: its last two changes first (newest first), then its start and creation.
  const j = SOFTWARE.find((h) => h.item.key === "J")!;
  const jt = transitionsOf(j).map((t) => TransitionSchema.parse(t));
  await sink.write({ transitions: [jt[3]!, jt[2]!] });
  await sink.commit();
  await sink.write({ items: [WorkItemSchema.parse(j.item)], transitions: [jt[1]!, jt[0]!] });
  await sink.commit();
  await writeHistories(QUEUES);
  await writeHistories(opsHistories(NOW));
});

afterAll(async () => {
  await store?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("velocity", () => {
  it("counts items finished done per UTC week of finished_at, without canceled, deleted or open items", async () => {
    // A Jan 5, D Jan 6 -> week of Jan 1; B Jan 8, E Jan 9, C Jan 12 -> Jan 8; I Jan 15, J Jan 19 ->
    // Jan 15; K Jan 29 02:00Z -> Jan 29. G canceled, H deleted (done Jan 3), F/L/M open: none count.
    const rows = await velocity(store, JAN);
    expect(rows).toEqual([
      { period_start: "2024-01-01", flow_type: "defect", items: 1 },
      { period_start: "2024-01-01", flow_type: "feature", items: 1 },
      { period_start: "2024-01-08", flow_type: "defect", items: 1 },
      { period_start: "2024-01-08", flow_type: "feature", items: 2 },
      { period_start: "2024-01-15", flow_type: "debt", items: 1 },
      { period_start: "2024-01-15", flow_type: "feature", items: 1 },
      { period_start: "2024-01-29", flow_type: "feature", items: 1 },
    ]);
  });

  it("buckets in the configured zone: K finishes on Sunday Jan 28 in New York, Monday Jan 29 in UTC", async () => {
    const weekNy = await velocity(store, { ...JAN, flowType: "feature", timezone: "America/New_York" });
    expect(weekNy.find((r) => r.period_start === "2024-01-22")?.items).toBe(1);
    expect(weekNy.find((r) => r.period_start === "2024-01-29")).toBeUndefined();
    const dayUtc = await velocity(store, { ...JAN, flowType: "feature", period: "day" });
    const dayNy = await velocity(store, { ...JAN, flowType: "feature", period: "day", timezone: "America/New_York" });
    expect(dayUtc.filter((r) => r.period_start >= "2024-01-28")).toEqual([{ period_start: "2024-01-29", flow_type: "feature", items: 1 }]);
    expect(dayNy.filter((r) => r.period_start >= "2024-01-28")).toEqual([{ period_start: "2024-01-28", flow_type: "feature", items: 1 }]);
  });

  it("filters by team and type, and groups by month", async () => {
    expect(await velocity(store, { ...JAN, team: "blue" })).toEqual([{ period_start: "2024-01-15", flow_type: "debt", items: 1 }]);
    // Defects: C and D, both in January.
    expect(await velocity(store, { ...JAN, flowType: "defect", period: "month" })).toEqual([
      { period_start: "2024-01-01", flow_type: "defect", items: 2 },
    ]);
  });

  it("takes since as inclusive and until as exclusive", async () => {
    // A finishes exactly at 2024-01-05 12:00Z.
    const at = Date.parse("2024-01-05T12:00:00Z");
    const feature = { stream: "software", flowType: "feature", period: "month" } as const;
    expect(await velocity(store, { ...feature, sinceMs: at, untilMs: at + 1 })).toEqual([{ period_start: "2024-01-01", flow_type: "feature", items: 1 }]);
    expect(await velocity(store, { ...feature, sinceMs: at - DAY, untilMs: at })).toEqual([]);
  });
});

describe("flow time", () => {
  it("gives exact-inclusive percentiles per week; reopen pauses and never-started items are left out", async () => {
    const rows = byKey(await flowTime(store, JAN), "period_start", "flow_type");
    // Week of Jan 1: A = 3 d; D never started, so no defect row.
    expect(rows["2024-01-01|feature"]).toEqual({ period_start: "2024-01-01", flow_type: "feature", items: 1, p50_days: 3, p85_days: 3, p95_days: 3, mean_days: 3 });
    expect(rows["2024-01-01|defect"]).toBeUndefined();
    // Week of Jan 8 features: B 5, E 7. Position (n-1)p: p50 -> 5 + 0.5*2 = 6, p85 -> 6.7, p95 -> 6.9.
    expect(rows["2024-01-08|feature"]).toEqual({ period_start: "2024-01-08", flow_type: "feature", items: 2, p50_days: 6, p85_days: 6.7, p95_days: 6.9, mean_days: 6 });
    // C: Jan 2 -> Jan 12 less the done pause Jan 3 -> Jan 10 = 3 d.
    expect(rows["2024-01-08|defect"]?.p50_days).toBe(3);
    // J, delivered out of order: Jan 16 -> Jan 19 = 3 d.
    expect(rows["2024-01-15|feature"]?.p50_days).toBe(3);
    // K: 2024-01-22 01:00Z -> 2024-01-29 02:00Z = 7 d 1 h = 7.041667 d, rounded to 4 places.
    expect(rows["2024-01-29|feature"]?.p50_days).toBe(7.0417);
  });

  it("interpolates between ranks over a month", async () => {
    // January features: A 3, J 3, B 5, E 7, K 7.041667 (n = 5).
    // p50 at position 2 -> 5; p85 at 3.4 -> 7 + 0.4*0.041667 = 7.016667; p95 at 3.8 -> 7.033333;
    // mean = 25.041667 / 5 = 5.008333.
    const [row] = await flowTime(store, { ...JAN, flowType: "feature", period: "month" });
    expect(row).toEqual({ period_start: "2024-01-01", flow_type: "feature", items: 5, p50_days: 5, p85_days: 7.0167, p95_days: 7.0333, mean_days: 5.0083 });
  });

  it("starts at creation under the 'created' rule, which gives never-started items a flow time", async () => {
    const rows = byKey(await flowTime(store, { ...JAN, flowTimeStart: "created" }), "period_start", "flow_type");
    // D: created Jan 2, done Jan 6 = 4 d. A: created Jan 1, done Jan 5 = 4 d.
    expect(rows["2024-01-01|defect"]).toMatchObject({ items: 1, p50_days: 4 });
    expect(rows["2024-01-01|feature"]).toMatchObject({ items: 1, p50_days: 4 });
    // C: 1 d before the start + 3 d of flow (the done pause still excluded) = 4 d.
    expect(rows["2024-01-08|defect"]).toMatchObject({ items: 1, p50_days: 4 });
  });
});

describe("flow time summary", () => {
  it("gives percentiles over all items of the window, whatever their type or period, and per type", async () => {
    // January software items finished done with a flow time: A 3, C 3, J 3, B 5, I 5, E 7,
    // K 7.041667 (7 d 1 h); D never started. n = 7, positions (n - 1)p = 6p:
    // p50 at 3 -> 5; p85 at 5.1 -> 7 + 0.1 * 0.041667 = 7.004167; p95 at 5.7 -> 7 + 0.7 * 0.041667
    // = 7.029167; mean = 33.041667 / 7 = 4.720238. No weekly or per-type row holds these: the
    // weekly rows' item-weighted mean is the mean, but no p85 of theirs is 7.0042.
    const summary = await flowTimeSummary(store, JAN);
    expect(summary).toEqual({
      items: 7, p50_days: 5, p85_days: 7.0042, p95_days: 7.0292, mean_days: 4.7202,
      byType: [
        // I alone; C alone (D has no flow time); features A 3, J 3, B 5, E 7, K 7.041667 as in the
        // monthly flow-time test above.
        { flow_type: "debt", items: 1, p50_days: 5, p85_days: 5, p95_days: 5, mean_days: 5 },
        { flow_type: "defect", items: 1, p50_days: 3, p85_days: 3, p95_days: 3, mean_days: 3 },
        { flow_type: "feature", items: 5, p50_days: 5, p85_days: 7.0167, p95_days: 7.0333, mean_days: 5.0083 },
      ],
    });
    // Period and zone only bucket; the window is the same instants, so the summary is the same.
    expect(await flowTimeSummary(store, { ...JAN, period: "day", timezone: "America/New_York" })).toEqual(summary);
  });

  it("applies the filters, the window bounds and the 'created' rule like flowTime", async () => {
    // Defects: C only -> 3 d.
    expect(await flowTimeSummary(store, { ...JAN, flowType: "defect" })).toEqual({
      items: 1, p50_days: 3, p85_days: 3, p95_days: 3, mean_days: 3,
      byType: [{ flow_type: "defect", items: 1, p50_days: 3, p85_days: 3, p95_days: 3, mean_days: 3 }],
    });
    // A finishes exactly at 2024-01-05 12:00Z: in [at, at + 1 ms), not in [at - 1 d, at).
    const at = Date.parse("2024-01-05T12:00:00Z");
    expect(await flowTimeSummary(store, { stream: "software", sinceMs: at, untilMs: at + 1 })).toMatchObject({ items: 1, p85_days: 3 });
    // Created rule: every done item has a flow time, D included. From creation: A 4, C 4, D 4,
    // B 7, E 8, K 8.458333 (Jan 20 15:00Z -> Jan 29 02:00Z), I 14, J 18. n = 8, positions 7p:
    // p50 at 3.5 -> 7 + 0.5 * 1 = 7.5; p85 at 5.95 -> 8.458333 + 0.95 * 5.541667 = 13.722917.
    // Defects C 4, D 4.
    const created = await flowTimeSummary(store, { ...JAN, flowTimeStart: "created" });
    expect(created).toMatchObject({ items: 8, p50_days: 7.5, p85_days: 13.7229 });
    expect(created.byType.find((row) => row.flow_type === "defect")).toMatchObject({ items: 2, p50_days: 4, p85_days: 4 });
  });

  it("says there is nothing when no item finished, with null figures", async () => {
    expect(await flowTimeSummary(store, { ...JAN, team: "nobody" })).toEqual({
      items: 0, p50_days: null, p85_days: null, p95_days: null, mean_days: null, byType: [],
    });
  });
});

describe("efficiency", () => {
  it("is the ratio of summed active time to summed flow time", async () => {
    const rows = byKey(await efficiency(store, JAN), "period_start", "flow_type");
    // Week of Jan 8 features: B active 4 of 5, E active 5 of 7 (2 d back in To Do count as wait):
    // 9 / 12 = 0.75 (a mean of the ratios would give 0.757).
    expect(rows["2024-01-08|feature"]).toEqual({ period_start: "2024-01-08", flow_type: "feature", items: 2, efficiency: 0.75, active_days: 9, wait_days: 3 });
    // C: the done pause is not wait: 3 active of 3.
    expect(rows["2024-01-08|defect"]).toMatchObject({ items: 1, efficiency: 1, active_days: 3, wait_days: 0 });
    // J: active 1 of 3.
    expect(rows["2024-01-15|feature"]).toMatchObject({ efficiency: 0.3333, active_days: 1, wait_days: 2 });
    // A: 2 of 3.
    expect(rows["2024-01-01|feature"]).toMatchObject({ efficiency: 0.6667 });
    expect(rows["2024-01-01|defect"]).toBeUndefined();
  });
});

describe("load", () => {
  it("gives the WIP at the end of every day per type, with zero days filled", async () => {
    const rows = await load(store, JAN);
    const series = (type: string) => rows.filter((r) => r.flow_type === type).map((r) => r.wip);
    expect(rows.filter((r) => r.flow_type === "feature").map((r) => r.day)).toHaveLength(31);
    expect(rows[0]?.day).toBe("2024-01-01");
    // Features (WIP while in In Progress/Review, at each midnight UTC):
    // A Jan 2-4, B Jan 3-7, E Jan 2-3 and Jan 6-8 (in To Do Jan 4-6), J Jan 16-18,
    // F Jan 20-31 (open), K Jan 22-28.
    // prettier-ignore
    expect(series("feature")).toEqual([
      0, 2, 3, 2, 1, 2, 2, 1, 0, 0, // Jan 1-10
      0, 0, 0, 0, 0, 1, 1, 1, 0, 1, // Jan 11-20
      1, 2, 2, 2, 2, 2, 2, 2, 1, 1, // Jan 21-30
      1,                            // Jan 31
    ]);
    // Defects: C Jan 2, then reopened Jan 10-11; L from Jan 25 (In Progress, then Review, open).
    const defect = series("defect");
    expect(defect.map((wip, n) => (wip ? n + 1 : 0)).filter(Boolean)).toEqual([2, 10, 11, 25, 26, 27, 28, 29, 30, 31]);
    // Risk G: Jan 3-6, canceled Jan 7. Debt I: Jan 10-14.
    expect(series("risk").map((wip, n) => (wip ? n + 1 : 0)).filter(Boolean)).toEqual([3, 4, 5, 6]);
    expect(series("debt").map((wip, n) => (wip ? n + 1 : 0)).filter(Boolean)).toEqual([10, 11, 12, 13, 14]);
  });

  it("ends the last day at until and uses the zone's midnights", async () => {
    // Until Jan 20 18:00Z: the last row is the WIP then (F started at 12:00).
    const partial = await load(store, { ...JAN, flowType: "feature", untilMs: Date.parse("2024-01-20T18:00:00Z") });
    expect(partial.at(-1)).toEqual({ day: "2024-01-20", flow_type: "feature", wip: 1 });
    // K started 2024-01-21 20:00 New York = 01:00Z Jan 22: WIP at the end of Jan 21 in New York
    // (05:00Z Jan 22), not at the end of Jan 21 in UTC.
    const ny = byKey(await load(store, { ...JAN, flowType: "feature", timezone: "America/New_York" }), "day");
    const utc = byKey(await load(store, { ...JAN, flowType: "feature" }), "day");
    expect(ny["2024-01-21"]?.wip).toBe(2);
    expect(utc["2024-01-21"]?.wip).toBe(1);
  });

  it("reads the same stays from item_flow that state_intervals holds: every active or waiting one, in history order", async () => {
    // Load and growing queues read item_flow's wip_stay_* arrays; the fixture's reopened, moved
    // back and still open items must give each stay exactly once, the open one with no end.
    const fromItems = await store.query<{ item_id: string; stays: unknown }>(
      `SELECT item_id, arrayZip(wip_stay_states, wip_stay_entered_at, wip_stay_left_at) AS stays
       FROM item_flow FINAL WHERE length(wip_stay_states) > 0 ORDER BY item_id`,
    );
    const fromIntervals = await store.query<{ item_id: string; stays: unknown }>(
      `SELECT item_id, arrayMap(x -> (x.2, x.3, x.4), arraySort(groupArray((seq, toString(state), entered_at, left_at)))) AS stays
       FROM state_intervals FINAL WHERE flow_state IN ('active', 'waiting') GROUP BY item_id ORDER BY item_id`,
    );
    expect(fromItems.length).toBeGreaterThan(10);
    expect(fromItems).toEqual(fromIntervals);
    expect(fromItems.some(({ stays }) => JSON.stringify(stays).includes("null"))).toBe(true);
  });
});

describe("distribution", () => {
  it("shares types among items completed in the window and among WIP now", async () => {
    const rows = await distribution(store, JAN);
    // Completed: features A B E J K = 5, defects C D = 2, debt I = 1 (8 in all).
    // WIP now: F (feature, active) and L (defect, waiting); M is open but never started.
    expect(rows).toEqual([
      { scope: "completed", flow_type: "feature", items: 5, share: 0.625 },
      { scope: "completed", flow_type: "defect", items: 2, share: 0.25 },
      { scope: "completed", flow_type: "debt", items: 1, share: 0.125 },
      { scope: "wip", flow_type: "defect", items: 1, share: 0.5 },
      { scope: "wip", flow_type: "feature", items: 1, share: 0.5 },
    ]);
  });
});

describe("bottlenecks", () => {
  it("sums each item's closed stays per state, after the start, in the window of its last exit", async () => {
    const rows = await timeInState(store, JAN);
    // In Progress: A 2, B 1+3, C 1+2, E 2+3, G 4, I 5, J 1, K 7.041667, L 1 (F still there: open).
    // Sorted 1 1 2 3 4 4 5 5 7.04: median at position 4 -> 4; p85 at 6.8 -> 5; total 32.041667.
    // Review: A 1, B 1, J 2 (L still open): median 1, p85 at 1.7 -> 1.7, total 4.
    // To Do after the start: E 2 (Jan 4 -> 6). To Do before the start is backlog, not flow time.
    expect(rows).toEqual([
      { state: "In Progress", flow_state: "active", items: 9, median_days: 4, p85_days: 5, total_days: 32.0417 },
      { state: "Review", flow_state: "waiting", items: 3, median_days: 1, p85_days: 1.7, total_days: 4 },
      { state: "To Do", flow_state: "new", items: 1, median_days: 2, p85_days: 2, total_days: 2 },
    ]);
  });

  it("counts an item's total in a state in the window in which it last left that state", async () => {
    const progress = async (since: string, until: string) =>
      (await timeInState(store, { stream: "software", sinceMs: Date.parse(since), untilMs: Date.parse(until) })).find((r) => r.state === "In Progress");
    // Jan 1 - Jan 5: A left In Progress for good on Jan 4 (2 d). B (left Jan 4, back Jan 5 - 8),
    // C (reopened, left again Jan 12) and E (back Jan 6 - 9) left it for the last time later.
    expect(await progress("2024-01-01T00:00:00Z", "2024-01-05T00:00:00Z")).toMatchObject({ items: 1, median_days: 2, total_days: 2 });
    // Jan 5 - Jan 9: B with both its stays (1 + 3 d) and G (4 d, then canceled); E leaves Jan 9 12:00.
    expect(await progress("2024-01-05T00:00:00Z", "2024-01-09T00:00:00Z")).toMatchObject({ items: 2, median_days: 4, total_days: 8 });
  });

  it("counts backlog stays too under the 'created' rule", async () => {
    const rows = byKey(await timeInState(store, { ...JAN, flowTimeStart: "created" }), "state");
    // Items that last left To Do in January: A 1, B 2, C 1, D 4, E 1 + 2 = 3, G 2, I 9, J 15, K 1 d 10 h
    // (Jan 20 15:00Z -> Jan 22 01:00Z = 1.416667), L 24, F 19 (left Jan 20). M still there.
    // Total = 1+2+1+4+3+2+9+15+1.416667+24+19 = 81.416667 over 11 items.
    expect(rows["To Do"]).toMatchObject({ items: 11, total_days: 81.4167 });
  });

  it("finds growing queues at week ends", async () => {
    const until = Date.parse("2024-03-04T00:00:00Z");
    // Review holds 0, 1, 2, 3, 4 at Feb 5, 12, 19, 26, Mar 4: four weeks of growth.
    // In Progress holds 1, 2, 2, 3 from Feb 12: it grew only in the last week.
    expect(await growingQueues(store, { stream: "queues", untilMs: until })).toEqual([
      { state: "Review", weeks_growing: 4, queue_now: 4, queue_before: 0 },
    ]);
    const loose = await growingQueues(store, { stream: "queues", untilMs: until, growthWeeks: 1 });
    expect(loose).toEqual([
      { state: "Review", weeks_growing: 4, queue_now: 4, queue_before: 0 },
      { state: "In Progress", weeks_growing: 1, queue_now: 3, queue_before: 2 },
    ]);
    // A week earlier (until Feb 26 12:00, last week end Feb 26) Review had grown three weeks.
    expect(await growingQueues(store, { stream: "queues", untilMs: Date.parse("2024-02-26T12:00:00Z") })).toEqual([
      { state: "Review", weeks_growing: 3, queue_now: 3, queue_before: 0 },
    ]);
  });

  it("flags WIP older than the 85th percentile of its type's recent flow time", async () => {
    // Incidents finished in the last 90 days took 1, 2, 3, 4, 10 d (the 100 d one finished 200 d
    // ago is outside the baseline): p85 at position 3.4 -> 4 + 0.4*6 = 6.4 d. O1 (7 d) is aging,
    // O2 (5 d) is not, O3 never started; R1 is an order with no finished order to compare with.
    const rows = await aging(store, { stream: "ops" });
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ item_id: "test:O1", key: "O1", flow_type: "incident", team: "sre", current_state: "Working", threshold_days: 6.4 });
    expect(rows[0]!.age_days).toBeGreaterThanOrEqual(7);
    expect(rows[0]!.age_days).toBeLessThan(7.01);
    // At the median (3 d) both are aging, oldest first.
    const median = await aging(store, { stream: "ops", agingPercentile: 0.5 });
    expect(median.map((r) => [r.key, r.threshold_days])).toEqual([["O1", 3], ["O2", 3]]);
    // The list is capped, most overdue first.
    expect((await aging(store, { stream: "ops", agingPercentile: 0.5 }, { limit: 1 })).map((r) => r.key)).toEqual(["O1"]);
  });

  it("bundles the three signals", async () => {
    const report = await bottlenecks(store, { stream: "ops" });
    expect(report.aging.map((r) => r.key)).toEqual(["O1"]);
    expect(report.timeInState.map((r) => r.state)).toEqual(["Working"]);
    expect(report.growingQueues).toEqual([]);
  });
});

describe("items behind a figure", () => {
  it("lists the slowest finished items and the oldest WIP", async () => {
    // K 7.0417, E 7, then B and I at 5 (ties by id).
    const slowest = await itemsBehind(store, JAN, { which: "slowest", limit: 4 });
    expect(slowest.map((r) => [r.key, r.days])).toEqual([["K", 7.0417], ["E", 7], ["B", 5], ["I", 5]]);
    expect(slowest[0]).toMatchObject({ item_id: "test:K", url: "https://tracker.example/K", flow_type: "feature" });
    // Oldest WIP now: F (active since 2024-01-20) before L (since 2024-01-25); M never started.
    const oldest = await itemsBehind(store, JAN, { which: "oldest" });
    expect(oldest.map((r) => r.key)).toEqual(["F", "L"]);
    const fAge = (NOW - Date.parse("2024-01-20T12:00:00Z")) / DAY;
    expect(oldest[0]!.days).toBeGreaterThanOrEqual(Math.floor(fAge * 1e4) / 1e4);
    expect(oldest[0]!.days).toBeLessThan(fAge + 0.01);
  });
});

describe("filters", () => {
  it("defaults to the last 90 days, weekly, UTC, first_active", () => {
    const now = Date.parse("2024-06-01T00:00:00Z");
    expect(resolveFilters({}, now)).toMatchObject({ sinceMs: now - 90 * DAY, untilMs: now, period: "week", timezone: "UTC", flowTimeStart: "first_active", stream: "" });
  });

  it("gives the window of the same length before", () => {
    const prev = previousWindow(JAN);
    expect([prev.sinceMs, prev.untilMs]).toEqual([Date.parse("2023-12-01T00:00:00Z"), Date.parse("2024-01-01T00:00:00Z")]);
  });

  it("refuses filters a person must fix", () => {
    expect(() => resolveFilters({ timezone: "Mars/Olympus" })).toThrow(/unknown time zone/);
    expect(() => resolveFilters({ sinceMs: 10, untilMs: 5 })).toThrow(/window is empty/);
    expect(() => resolveFilters({ period: "year" as never })).toThrow(/period must be one of/);
  });

  it("refuses a window outside the dates the store holds, and cuts the default one at its start", () => {
    const first = Date.UTC(1900, 0, 1);
    const end = Date.UTC(2300, 0, 1);
    expect(() => resolveFilters({ sinceMs: first - 1, untilMs: first + DAY })).toThrow("since (-2208988800001 ms) is outside the dates the store holds (1900-01-01 .. 2299-12-31 UTC)");
    expect(() => resolveFilters({ sinceMs: first, untilMs: end + 1 })).toThrow(/until .* is outside the dates the store holds/);
    expect(() => resolveFilters({ untilMs: Number.NaN })).toThrow(/until \(NaN ms\) is outside/);
    // The whole range is a window: until may be the instant just after its last millisecond.
    expect(resolveFilters({ sinceMs: first, untilMs: end })).toMatchObject({ sinceMs: first, untilMs: end });
    // 90 days before 1900-01-05 would start in 1899: the default starts at 1900-01-01 instead.
    expect(resolveFilters({ untilMs: first + 4 * DAY }).sinceMs).toBe(first);
    expect(previousWindow({ sinceMs: first + DAY, untilMs: first + 3 * DAY })).toMatchObject({ sinceMs: first, untilMs: first + DAY });
  });
});

describe("analyst views", () => {
  const rows = <T>(sql: string) => store.query<T>(sql);

  it("flow_velocity, flow_time and flow_efficiency agree with the metric API", async () => {
    // Weekly velocity summed from the daily view over the software stream in January.
    const fromView = await rows<{ week_start: string; flow_type: string; items: number }>(
      "SELECT toString(week_start) AS week_start, flow_type, toUInt32(sum(items)) AS items FROM flow_velocity WHERE stream = 'software' AND day < '2024-02-01' GROUP BY week_start, flow_type ORDER BY week_start, flow_type",
    );
    expect(fromView.map((r) => ({ period_start: r.week_start, flow_type: r.flow_type, items: r.items }))).toEqual(await velocity(store, JAN));
    // Team red features, week of Jan 8: B 5 and E 7 (as hand-checked above).
    const [time] = await rows("SELECT items, p50_days, p85_days, p95_days, mean_days FROM flow_time WHERE stream = 'software' AND team = 'red' AND flow_type = 'feature' AND week_start = '2024-01-08'");
    expect(time).toEqual({ items: 2, p50_days: 6, p85_days: 6.7, p95_days: 6.9, mean_days: 6 });
    const [eff] = await rows("SELECT efficiency, active_days, wait_days, flow_days FROM flow_efficiency WHERE stream = 'software' AND flow_type = 'feature' AND week_start = '2024-01-08'");
    expect(eff).toEqual({ efficiency: 0.75, active_days: 9, wait_days: 3, flow_days: 12 });
  });

  it("bottleneck views and distribution agree with the metric API", async () => {
    // Ops: O1 is aging against the incident threshold of 6.4 days.
    const aged = await rows<{ key: string; threshold_days: number }>("SELECT key, threshold_days FROM bottleneck_aging_wip WHERE stream = 'ops'");
    expect(aged).toEqual([{ key: "O1", threshold_days: 6.4 }]);
    // Week of Jan 15 (items that last left the state Jan 15-21): In Progress I 5, J 1; Review J 2.
    const tis = await rows("SELECT state, items, median_days, total_days FROM bottleneck_time_in_state WHERE stream = 'software' AND week_start = '2024-01-15' ORDER BY state");
    expect(tis).toEqual([
      { state: "In Progress", items: 2, median_days: 3, total_days: 6 },
      { state: "Review", items: 1, median_days: 2, total_days: 2 },
    ]);
    const wip = await rows("SELECT flow_type, items, share FROM flow_distribution WHERE scope = 'wip' AND stream = 'software' ORDER BY flow_type");
    expect(wip).toEqual([{ flow_type: "defect", items: 1, share: 0.5 }, { flow_type: "feature", items: 1, share: 0.5 }]);
    // The queue view runs (its week ends are relative to today; the fixture queues are long
    // stable by then, so nothing there is growing).
    const queues = await rows<{ stream: string; weeks_growing: number }>("SELECT stream, weeks_growing FROM bottleneck_queue_growth WHERE stream = 'queues'");
    expect(queues.every((q) => q.weeks_growing === 0)).toBe(true);
  });

  it("flow_load_daily counts today's WIP", async () => {
    // Open software WIP: F (feature), L (defect), both team red.
    const today = await rows("SELECT flow_type, wip FROM flow_load_daily WHERE stream = 'software' AND day = today() ORDER BY flow_type");
    expect(today).toEqual([{ flow_type: "defect", wip: 1 }, { flow_type: "feature", wip: 1 }]);
  });
});

describe("delivery", () => {
  it("gives identical metrics when every event is delivered again", async () => {
    const snapshot = async () => ({
      velocity: await velocity(store, JAN),
      flowTime: await flowTime(store, JAN),
      flowTimeSummary: await flowTimeSummary(store, JAN),
      efficiency: await efficiency(store, JAN),
      load: await load(store, JAN),
      timeInState: await timeInState(store, JAN),
      distribution: await distribution(store, JAN),
    });
    const before = await snapshot();
    await writeHistories(SOFTWARE);
    // And once more, newest first in two halves.
    const all = SOFTWARE.flatMap((h) => transitionsOf(h).map((t) => TransitionSchema.parse(t))).reverse();
    await sink.write({ transitions: all.slice(0, 20) });
    await sink.commit();
    await sink.write({ transitions: all.slice(20) });
    await sink.commit();
    expect(await snapshot()).toEqual(before);
  });

  it("rejects an item without created_at through the canonical schema, with the reason recorded", async () => {
    const { created_at: _dropped, ...noCreated } = SOFTWARE[0]!.item;
    const parsed = WorkItemSchema.safeParse({ ...noCreated, item_id: "test:NC", key: "NC" });
    expect(parsed.success).toBe(false);
    const reason = describeIssues(parsed.error!);
    expect(reason).toBe("created_at: timestamp is missing");
    await sink.reject([{ source: "test", reference: "NC", reason, payload: JSON.stringify(noCreated) }]);
    const rows = await store.query<{ reason: string }>("SELECT reason FROM rejected_records WHERE reference = {ref:String}", { ref: "NC" });
    expect(rows).toEqual([{ reason }]);
  });

  it("stores a -0500 timestamp on its UTC day", async () => {
    // K started 2024-01-21T20:00-0500, which is 2024-01-22 01:00 UTC.
    const rows = await store.query<{ started_at: string }>("SELECT toString(started_at) AS started_at FROM flow_items WHERE item_id = {id:String}", { id: "test:K" });
    expect(rows).toEqual([{ started_at: "2024-01-22 01:00:00.000" }]);
  });
});

// Dates ClickHouse's Date type cannot hold (it wraps outside 1970..2149): stream "far".
// Each item: To Do at creation (12:00Z), In Progress a day later, Done at the last step.
const farItem = (key: string, flowType: string, steps: readonly [string, string, FlowState][]): History => ({
  item: { item_id: `far:${key}`, source: "test", stream: "far", key, title: key, url: "", flow_type: flowType, team: "red", created_at: steps[0]![0] },
  steps,
});
const FAR: readonly History[] = [
  // Done Wednesday 1965-03-10 (week of Monday 03-08); flow 03-02 12:00 -> 03-10 12:00 = 8 d.
  farItem("OLD", "feature", [["1965-03-01T12:00:00Z", "To Do", "new"], ["1965-03-02T12:00:00Z", "In Progress", "active"], ["1965-03-10T12:00:00Z", "Done", "done"]]),
  // Done Wednesday 2026-03-04; WIP at the ends of 03-02 and 03-03.
  farItem("NOW", "feature", [["2026-03-01T12:00:00Z", "To Do", "new"], ["2026-03-02T12:00:00Z", "In Progress", "active"], ["2026-03-04T12:00:00Z", "Done", "done"]]),
  // Across 2149/2150: active Tuesday 2149-12-30, done Friday 2150-01-02 (week of Monday 2149-12-29); 3 d.
  farItem("NEW", "feature", [["2149-12-29T12:00:00Z", "To Do", "new"], ["2149-12-30T12:00:00Z", "In Progress", "active"], ["2150-01-02T12:00:00Z", "Done", "done"]]),
  // Review fills up one item a week across the year end: 0, 1, 2, 3, 4 at the Mondays 2149-12-15,
  // 12-22, 12-29, 2150-01-05, 01-12.
  ...["2149-12-16", "2149-12-23", "2149-12-30", "2150-01-06"].map((day, n) =>
    farItem(`R${n + 1}`, "debt", [[`${day}T00:00:00Z`, "To Do", "new"], [`${day}T12:00:00Z`, "Review", "waiting"]])),
];

describe("dates outside 1970..2149", () => {
  beforeAll(async () => {
    await writeHistories(FAR);
  });
  const far = (since: string, until: string): MetricFilters => ({ stream: "far", sinceMs: Date.parse(since), untilMs: Date.parse(until) });

  it("counts an item done in 1965 in 1965, in its week and month", async () => {
    const window = far("1965-01-01T00:00:00Z", "1966-01-01T00:00:00Z");
    expect(await velocity(store, window)).toEqual([{ period_start: "1965-03-08", flow_type: "feature", items: 1 }]);
    expect(await velocity(store, { ...window, period: "month" })).toEqual([{ period_start: "1965-03-01", flow_type: "feature", items: 1 }]);
    expect(await velocity(store, { ...window, period: "day", timezone: "America/New_York" })).toEqual([{ period_start: "1965-03-10", flow_type: "feature", items: 1 }]);
    expect(await flowTime(store, window)).toMatchObject([{ period_start: "1965-03-08", flow_type: "feature", items: 1, p50_days: 8 }]);
    expect(await efficiency(store, window)).toMatchObject([{ period_start: "1965-03-08", items: 1, efficiency: 1 }]);
  });

  it("loads WIP from 1900-01-01 on, the 1965 and 2026 stays on their days", async () => {
    const rows = await load(store, { ...far("1900-01-01T00:00:00Z", "2026-03-06T00:00:00Z"), flowType: "feature" });
    // One row per day from 1900-01-01 to 2026-03-05.
    expect(rows.length).toBe((Date.UTC(2026, 2, 5) - Date.UTC(1900, 0, 1)) / DAY + 1);
    expect(rows[0]!.day).toBe("1900-01-01");
    expect(rows.at(-1)!.day).toBe("2026-03-05");
    // OLD is WIP at the ends of 1965-03-02 .. 03-09 (it leaves at 03-10 12:00); NOW at 2026-03-02 and 03-03.
    expect(rows.filter((row) => row.wip !== 0)).toEqual([
      ...[2, 3, 4, 5, 6, 7, 8, 9].map((d) => ({ day: `1965-03-0${d}`, flow_type: "feature", wip: 1 })),
      { day: "2026-03-02", flow_type: "feature", wip: 1 },
      { day: "2026-03-03", flow_type: "feature", wip: 1 },
    ]);
  });

  it("works across 2149/2150: velocity, load and growing queues", async () => {
    expect(await velocity(store, far("2149-12-01T00:00:00Z", "2150-02-01T00:00:00Z"))).toEqual([{ period_start: "2149-12-29", flow_type: "feature", items: 1 }]);
    expect(await velocity(store, { ...far("2149-12-01T00:00:00Z", "2150-02-01T00:00:00Z"), period: "month" })).toEqual([{ period_start: "2150-01-01", flow_type: "feature", items: 1 }]);
    // NEW is WIP at the ends of 2149-12-30, 12-31 and 2150-01-01 (done 01-02 12:00).
    const wip = await load(store, { ...far("2149-12-29T00:00:00Z", "2150-01-04T00:00:00Z"), flowType: "feature" });
    expect(wip.map((row) => [row.day, row.wip])).toEqual([
      ["2149-12-29", 0], ["2149-12-30", 1], ["2149-12-31", 1], ["2150-01-01", 1], ["2150-01-02", 0], ["2150-01-03", 0],
    ]);
    // Review: 0, 1, 2, 3, 4 at the five Mondays up to 2150-01-12: four weeks of growth from 0.
    expect(await growingQueues(store, far("2149-11-01T00:00:00Z", "2150-01-13T00:00:00Z"))).toEqual([
      { state: "Review", weeks_growing: 4, queue_now: 4, queue_before: 0 },
    ]);
  });

  it("buckets the analyst views on the right days", async () => {
    const rows = await store.query<{ day: string; week_start: string; month_start: string }>(
      "SELECT toString(day) AS day, toString(week_start) AS week_start, toString(month_start) AS month_start FROM flow_velocity WHERE stream = 'far' ORDER BY day",
    );
    expect(rows).toEqual([
      { day: "1965-03-10", week_start: "1965-03-08", month_start: "1965-03-01" },
      { day: "2026-03-04", week_start: "2026-03-02", month_start: "2026-03-01" },
      { day: "2150-01-02", week_start: "2149-12-29", month_start: "2150-01-01" },
    ]);
    const weeks = await store.query<{ week_start: string }>("SELECT toString(week_start) AS week_start FROM flow_time WHERE stream = 'far' ORDER BY week_start");
    expect(weeks.map((row) => row.week_start)).toEqual(["1965-03-08", "2026-03-02", "2149-12-29"]);
  });
});

// The 'created' flow-time rule when created_at is after the first recorded move: stream "late".
const lateItem = (key: string, flowType: string, created: string | number, steps: readonly [string | number, string, FlowState][]): History => ({
  item: { item_id: `late:${key}`, source: "test", stream: "late", key, title: key, url: "", flow_type: flowType, team: "red", created_at: created },
  steps,
});
const jan = (day: number) => `2024-01-${String(day).padStart(2, "0")}T12:00:00Z`;
const ago = (days: number) => NOW - days * DAY;
const LATE: readonly History[] = [
  // Y: created Jan 1, first move Jan 2, active Jan 4, done Jan 7: created rule 6 d, first_active 3 d.
  lateItem("Y", "feature", jan(1), [[jan(2), "To Do", "new"], [jan(4), "In Progress", "active"], [jan(7), "Done", "done"]]),
  // Z: created_at Jan 5 is after its first move (Jan 2): the history starts it. Created rule
  // Jan 2 -> Jan 6 = 4 d (not Jan 5 -> Jan 6 = 1 d); first_active Jan 3 -> Jan 6 = 3 d.
  lateItem("Z", "feature", jan(5), [[jan(2), "To Do", "new"], [jan(3), "In Progress", "active"], [jan(6), "Done", "done"]]),
  // V: the baseline, done 15 days ago: created rule 20 - 15 = 5 d, first_active 19 - 15 = 4 d.
  lateItem("V", "incident", ago(20), [[ago(20), "Open", "new"], [ago(19), "Working", "active"], [ago(15), "Resolved", "done"]]),
  // W: open; created_at says 2 days ago, but it moved 10 days ago: age 10 d under 'created', 9 d under first_active.
  lateItem("W", "incident", ago(2), [[ago(10), "Open", "new"], [ago(9), "Working", "active"]]),
  // U: open, created 3 days ago and moved then: age 3 d under 'created', 2 d under first_active.
  lateItem("U", "incident", ago(3), [[ago(3), "Open", "new"], [ago(2), "Working", "active"]]),
];

describe("flow_time_start: created, when created_at is after the first move", () => {
  beforeAll(async () => {
    await writeHistories(LATE);
  });
  const late = { stream: "late", sinceMs: Date.parse("2024-01-01T00:00:00Z"), untilMs: Date.parse("2024-02-01T00:00:00Z") };

  it("starts flow time at the earlier of created_at and the first move", async () => {
    const slowest = async (flowTimeStart: "created" | "first_active") =>
      (await itemsBehind(store, { ...late, flowTimeStart }, { which: "slowest" })).map((row) => [row.key, row.days]);
    expect(await slowest("created")).toEqual([["Y", 6], ["Z", 4]]);
    expect(await slowest("first_active")).toEqual([["Y", 3], ["Z", 3]]);
    // Y 6 and Z 4: p50 = 5; both in the week of Monday Jan 1.
    expect(await flowTime(store, { ...late, flowTimeStart: "created" })).toMatchObject([{ period_start: "2024-01-01", items: 2, p50_days: 5, mean_days: 5 }]);
    // The store keeps the recorded created_at; the per-item view shows the start the rule uses.
    const created = await store.query<{ recorded: string; derived: string }>(
      "SELECT toString(w.created_at) AS recorded, toString(f.created_at) AS derived FROM work_items AS w FINAL JOIN flow_items AS f ON f.item_id = w.item_id WHERE w.item_id = 'late:Z'",
    );
    expect(created).toEqual([{ recorded: "2024-01-05 12:00:00.000", derived: "2024-01-02 12:00:00.000" }]);
  });

  it("measures aging and the oldest items from the same start", async () => {
    const ops = { stream: "late", flowTimeStart: "created" as const };
    // Threshold: p85 of V's 5 d = 5 d. W (10 d) is aging; U (3 d) is not.
    const rows = await aging(store, ops);
    expect(rows.map((row) => row.key)).toEqual(["W"]);
    expect(rows[0]!.age_days).toBeCloseTo(10, 2);
    expect(rows[0]!.threshold_days).toBe(5);
    const oldest = await itemsBehind(store, ops, { which: "oldest" });
    expect(oldest.map((row) => row.key)).toEqual(["W", "U"]);
    expect(oldest[0]!.days).toBeCloseTo(10, 2);
    expect(oldest[1]!.days).toBeCloseTo(3, 2);
    // Under first_active: threshold 4 d; W 9 d is aging, U 2 d is not.
    const firstActive = await aging(store, { ...ops, flowTimeStart: "first_active" });
    expect(firstActive.map((row) => [row.key, Math.round(row.age_days)])).toEqual([["W", 9]]);
  });
});
