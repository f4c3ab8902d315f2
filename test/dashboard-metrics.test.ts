// The metric functions the dashboard's charts read (metrics/query.ts), pinned on the hand-built
// histories of test/fixtures/metrics/histories.ts. Times are 12:00 UTC unless said otherwise.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TransitionSchema, WorkItemSchema } from "../core/model.ts";
import type { MetricFilters } from "../metrics/api.ts";
import { agingBands, agingWip, cumulativeFlow, distributionOverTime, flowTimePoints, flowTimeSummary, load, loadWithStart, overviewFigures, periodStart, previousWindow, velocity } from "../metrics/query.ts";
import { FlowSink } from "../pipeline/sink.ts";
import { opsHistories, SOFTWARE, transitionsOf, type History } from "./fixtures/metrics/histories.ts";
import { freshStore } from "./helpers/store.ts";

const JAN: MetricFilters = { stream: "software", sinceMs: Date.parse("2024-01-01T00:00:00Z"), untilMs: Date.parse("2024-02-01T00:00:00Z") };
const NOW = Date.now();
let fresh: Awaited<ReturnType<typeof freshStore>>;

beforeAll(async () => {
  fresh = await freshStore();
  const sink = new FlowSink(fresh.store);
  const histories: History[] = [...SOFTWARE, ...opsHistories(NOW)];
  await sink.write({
    items: histories.map((h) => WorkItemSchema.parse(h.item)),
    transitions: histories.flatMap((h) => transitionsOf(h).map((t) => TransitionSchema.parse(t))),
  });
  await sink.commit();
}, 60_000);

afterAll(async () => {
  await fresh?.dispose();
});

describe("flow load with the WIP at the window's start", () => {
  it("gives load's rows, and per type the WIP a one-day load ending at the start reports", async () => {
    // Windows starting at midnight and within a day (Jan 4 12:00: A and B entered Review that
    // day), across every type, per type and per team.
    const starts = ["2024-01-01T00:00:00Z", "2024-01-04T12:00:00Z", "2024-01-05T09:30:00Z", "2024-01-26T00:00:00Z"].map(Date.parse);
    let nonZero = 0;
    for (const sinceMs of starts) {
      for (const extra of [{}, { flowType: "feature" }, { team: "blue" }]) {
        const filters: MetricFilters = { ...JAN, ...extra, sinceMs };
        const { days, atSince } = await loadWithStart(fresh.store, filters);
        expect(days).toEqual(await load(fresh.store, filters));
        const oneDay = await load(fresh.store, { ...filters, sinceMs: sinceMs - 1, untilMs: sinceMs });
        const lastDay = oneDay.at(-1)?.day;
        const expected = new Map(oneDay.filter((r) => r.day === lastDay && r.wip > 0).map((r) => [r.flow_type, r.wip]));
        const got = new Map(atSince.filter((r) => r.wip > 0).map((r) => [r.flow_type, r.wip]));
        expect(got, new Date(sinceMs).toISOString()).toEqual(expected);
        nonZero += got.size;
      }
    }
    expect(nonZero, "some windows start with work in progress").toBeGreaterThan(3);
  });
});

describe("cumulative flow", () => {
  it("counts items per active/waiting state at each day's end and items done since the window began", async () => {
    const rows = await cumulativeFlow(fresh.store, JAN);
    const at = (day: string) => Object.fromEntries(rows.filter((r) => r.day === day).map((r) => [r.band === "done" ? "done" : r.state, r.items]));
    // End of Jan 4 (Jan 5 00:00): A and B in Review (since Jan 4), G In Progress (Jan 3 -> 7);
    // C is paused in Done, E is back in To Do (new: not WIP). Nothing finished yet: C's finish
    // is its last one, Jan 12.
    expect(at("2024-01-04")).toEqual({ "In Progress": 1, Review: 2, done: 0 });
    // End of Jan 5: A finished that day; B went back to In Progress, E is still in To Do.
    expect(at("2024-01-05")).toEqual({ "In Progress": 2, Review: 0, done: 1 });
    // End of Jan 31: F In Progress (since Jan 20), L in Review (since Jan 26); done in January:
    // A 5, D 6, B 8, E 9, C 12, I 15, J 19, K 29 = 8 items.
    expect(at("2024-01-31")).toEqual({ "In Progress": 1, Review: 1, done: 8 });
    // Items reach In Progress before Review: the states come in workflow order.
    const rank = (state: string) => rows.find((r) => r.state === state)!.rank;
    expect(rank("In Progress")).toBeLessThan(rank("Review"));
    expect(new Set(rows.map((r) => r.day)).size).toBe(31);
  });

  it("adds up to flow load on every day, and ends at the window's velocity", async () => {
    for (const filters of [JAN, { ...JAN, flowType: "feature" }, { ...JAN, team: "blue" }]) {
      const [rows, wip, done] = [await cumulativeFlow(fresh.store, filters), await load(fresh.store, filters), await velocity(fresh.store, filters)];
      for (const day of new Set(wip.map((r) => r.day))) {
        const cfd = rows.filter((r) => r.day === day && r.band === "wip").reduce((s, r) => s + r.items, 0);
        expect(cfd, day).toBe(wip.filter((r) => r.day === day).reduce((s, r) => s + r.wip, 0));
      }
      expect(rows.find((r) => r.day === "2024-01-31" && r.band === "done")!.items).toBe(done.reduce((s, r) => s + r.items, 0));
    }
  });
});

describe("flow time points", () => {
  it("lists each item done in the window with its flow time, newest first; never-started items have none", async () => {
    const points = await flowTimePoints(fresh.store, JAN);
    // D finished without starting: no flow time, no point. K: Jan 22 01:00 -> Jan 29 02:00 = 7 d 1 h.
    expect(points.map((p) => [p.key, p.days])).toEqual([
      ["K", 7.0417], ["J", 3], ["I", 5], ["C", 3], ["E", 7], ["B", 5], ["A", 3],
    ]);
    expect(points[0]).toMatchObject({ url: "https://tracker.example/K", flow_type: "feature", finished_at: "2024-01-29 02:00:00.000" });
    expect((await flowTimePoints(fresh.store, JAN, { limit: 2 })).map((p) => p.key)).toEqual(["K", "J"]);
  });
});

describe("aging WIP", () => {
  it("lists every item in progress with its state and age, oldest first", async () => {
    const items = await agingWip(fresh.store, { stream: "ops" });
    // R1 started 100 days ago, O1 7, O2 5; O3 never started (not in progress).
    expect(items.map((i) => [i.key, i.current_state, Math.round(i.age_days)])).toEqual([["R1", "Packing", 100], ["O1", "Working", 7], ["O2", "Working", 5]]);
  });

  it("bands are the baseline's flow time percentiles, over all types and per type", async () => {
    const bands = await agingBands(fresh.store, { stream: "ops" });
    // Incidents finished in the last 90 days took 1, 2, 3, 4 and 10 days (X9 is older). Exact
    // inclusive percentiles at (n - 1) p = 4p: p50 rank 2 -> 3; p70 rank 2.8 -> 3 + 0.8 = 3.8;
    // p85 rank 3.4 -> 4 + 0.4 * 6 = 6.4; p95 rank 3.8 -> 4 + 0.8 * 6 = 8.8. No order finished.
    const expected = { items: 5, p50_days: 3, p70_days: 3.8, p85_days: 6.4, p95_days: 8.8 };
    expect(bands).toEqual([{ flow_type: "", ...expected }, { flow_type: "incident", ...expected }]);
  });
});

describe("distribution over time", () => {
  it("shares per week of the items finished and of the WIP at the week's last day in the window", async () => {
    const rows = await distributionOverTime(fresh.store, { ...JAN, period: "week" });
    const of = (scope: string, week: string) => Object.fromEntries(rows.filter((r) => r.scope === scope && r.period_start === week).map((r) => [r.flow_type, [r.items, r.share]]));
    // Weeks start Monday Jan 1. Finished: A feature, D defect (week 1); B, E feature, C defect
    // (week 2); I debt, J feature (week 3); K feature (Jan 29).
    expect(of("completed", "2024-01-01")).toEqual({ feature: [1, 0.5], defect: [1, 0.5] });
    expect(of("completed", "2024-01-08")).toEqual({ feature: [2, 0.6667], defect: [1, 0.3333] });
    expect(of("completed", "2024-01-15")).toEqual({ debt: [1, 0.5], feature: [1, 0.5] });
    expect(of("completed", "2024-01-29")).toEqual({ feature: [1, 1] });
    // WIP at the end of Jan 7: B (In Progress again since Jan 5) and E (since Jan 6), both
    // features; G was canceled that day. The last week ends with the window (Jan 31): F and L.
    expect(of("wip", "2024-01-01")).toEqual({ feature: [2, 1] });
    expect(of("wip", "2024-01-29")).toEqual({ feature: [1, 0.5], defect: [1, 0.5] });
  });

  it("finds the start of a day's period", () => {
    expect(periodStart("2024-01-31", "week")).toBe("2024-01-29");
    expect(periodStart("2024-01-28", "week")).toBe("2024-01-22");
    expect(periodStart("1950-03-15", "month")).toBe("1950-03-01");
    expect(periodStart("2024-02-29", "day")).toBe("2024-02-29");
  });
});

describe("overview figures", () => {
  it("give velocity, flow time and efficiency of the window, per type and over all, in one pass", async () => {
    const rows = await overviewFigures(fresh.store, JAN);
    const whole = (type: string) => rows.find((r) => r.window === "current" && r.flow_type === type && r.period_start === "");
    // Done in January: features A 3 d, B 5, E 7, J 3, K 7.0417 (active 2, 4, 5, 1, 7.0417 d);
    // defects C 3 (all active) and D (never started: counted, no flow time); debt I 5 (active).
    // Feature p85: rank 0.85 * 4 = 3.4 of [3, 3, 5, 7, 7.0417] -> 7 + 0.4 * 0.0417 = 7.0167;
    // efficiency 19.0417 / 25.0417 = 0.7604. All types: [3, 3, 3, 5, 5, 7, 7.0417], p50 rank 3
    // -> 5, p85 rank 5.1 -> 7.0042; efficiency (19.0417 + 3 + 5) / (25.0417 + 3 + 5) = 27.0417 / 33.0417 = 0.8184.
    expect(whole("feature")).toMatchObject({ items: 5, flow_items: 5, p50_days: 5, p85_days: 7.0167, efficiency: 0.7604 });
    expect(whole("defect")).toMatchObject({ items: 2, flow_items: 1, p50_days: 3, p85_days: 3, efficiency: 1 });
    expect(whole("")).toMatchObject({ items: 8, flow_items: 7, p50_days: 5, p85_days: 7.0042, efficiency: 0.8184 });
    // The week of Jan 8: B, E (features) and C (defect).
    expect(rows.find((r) => r.window === "current" && r.flow_type === "" && r.period_start === "2024-01-08")).toMatchObject({ items: 3 });
    // December 2023 (the window before) has nothing.
    expect(rows.filter((r) => r.window === "previous")).toEqual([]);
  });

  it("equal velocity and the flow time summary of both windows", async () => {
    const window: MetricFilters = { stream: "software", sinceMs: Date.parse("2024-01-12T00:00:00Z"), untilMs: Date.parse("2024-01-31T00:00:00Z") };
    const rows = await overviewFigures(fresh.store, window);
    for (const [name, filters] of [["current", window], ["previous", previousWindow(window)]] as const) {
      const done = await velocity(fresh.store, filters);
      const summary = await flowTimeSummary(fresh.store, filters);
      const whole = (type: string) => rows.find((r) => r.window === name && r.flow_type === type && r.period_start === "");
      expect(whole("")?.items ?? 0, name).toBe(done.reduce((s, r) => s + r.items, 0));
      expect(whole("")?.p85_days ?? null, name).toBe(summary.p85_days);
      for (const type of summary.byType) expect(whole(type.flow_type)?.p85_days, `${name} ${type.flow_type}`).toBe(type.p85_days);
    }
    expect(rows.some((r) => r.window === "previous" && r.items > 0)).toBe(true);
  });
});
