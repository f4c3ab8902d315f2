// The scale benchmark's code path at CI size (10,000 transitions): generate, import, the engine's
// own import of the same file, compaction, every metric and its direct query, two /flow answers,
// and the report's figures and targets. Speeds are not checked here (bench/results holds them).
import { describe, expect, it } from "vitest";
import { measureSize, report } from "../bench/sections/scale.ts";

describe("scale benchmark", () => {
  it("measures one small size end to end and reports each path against its ceiling", async () => {
    const lines: string[] = [];
    const size = await measureSize(10_000, { days: 365, repeats: 1, log: (line) => lines.push(line) });
    // 1,000 items of 10 transitions each: the engine's table was checked to hold all 10,000.
    expect(size).toMatchObject({ transitions: 10_000, items: 1_000, rejected: 0, days: 365 });
    expect(size.importPerSecond).toBeGreaterThan(0);
    expect(size.ceilingImportPerSecond).toBeGreaterThan(0);
    expect(Object.keys(size.queries)).toEqual(["velocity", "flow time", "efficiency", "load", "distribution", "time in state", "queue growth", "aging"]);
    expect(Object.keys(size.answers)).toEqual(["velocity", "bottlenecks"]);
    expect(lines.some((line) => line.includes("engine alone"))).toBe(true);
    // The derive alone rebuilt every item once: work the plain parse does not do, so it took time,
    // and the engine's parse + derive took CPU of their own.
    expect(size.deriveAloneSeconds).toBeGreaterThan(0);
    expect(size.deriveAloneCpuSeconds).toBeGreaterThan(0);
    expect(size.importCpuSeconds).toBeGreaterThan(0);
    expect(lines.some((line) => line.includes("derive alone"))).toBe(true);

    // Two sizes: each figure per size, and the growth of each query from the first to the second.
    const bigger = { ...size, transitions: 100_000, queries: Object.fromEntries(Object.entries(size.queries).map(([k, t]) => [k, { ours: { p50: t.ours.p50, p95: t.ours.p95 * 3 }, ceiling: t.ceiling }])) };
    const { figures, targets } = report([size, bigger]);
    expect(figures["10000 import % of engine alone"]).toBe(Math.round((size.importPerSecond / size.ceilingImportPerSecond) * 1000) / 10);
    expect(figures["velocity p95 growth 10000 -> 100000"]).toBeCloseTo(3, 0);
    expect(figures["10000 import % of engine parse + derive alone"]).toBe(Math.round(((size.ceilingImportSeconds + size.deriveAloneSeconds) / size.importSeconds) * 1000) / 10);
    expect(figures["10000 cpu s available at 50% of engine alone"]).toBe(Math.round(2 * size.ceilingImportSeconds * size.cores * 10) / 10);
    const growth = targets.find((t) => t.name === "velocity p95 growth 10000 -> 100000");
    expect(growth).toMatchObject({ target: "< 2", pass: false });
    expect(targets.filter((t) => t.name.startsWith("100000: ") && t.name.includes("p95 ms, 90-day window"))).toHaveLength(8);
  }, 180_000);
});
