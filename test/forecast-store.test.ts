// Forecasts read from a real embedded store (metrics/forecast-query.ts): daily throughput with zero
// days filled, the local day in the configured zone, days before a scope's first activity left
// out, the warnings, and the calibration, on histories whose figures are worked out by hand.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addDays, isWorkingDay } from "../metrics/forecast.ts";
import { calibrationVerdict, forecastHowMany, forecastWhen, localDay, throughputSeries } from "../metrics/forecast-query.ts";
import type { Store } from "../store/store.ts";
import { seedThroughput } from "./helpers/forecast-seed.ts";
import { freshStore } from "./helpers/store.ts";

const NOW = Date.now();
const TODAY = localDay(NOW, "UTC");
const ago = (days: number) => addDays(TODAY, -days);

let store: Store;
let dispose: () => Promise<void>;

beforeAll(async () => {
  ({ store, dispose } = await freshStore());
  await seedThroughput(store, NOW, [
    // 2 a day for 120 days, nothing else: every forecast is exact.
    { team: "steady", perDay: () => 2, days: 120 },
    // 3 a day until 61 days ago, then 1 a day: a shift inside the 90-day window.
    { team: "slowed", perDay: (d) => (d > 60 ? 3 : 1), days: 120 },
    // Work started 50 days ago and nothing finished since.
    { team: "idle", perDay: () => 0, days: 50, openSince: [50] },
    // 2 a day over the last 10 days only.
    { team: "new", perDay: () => 2, days: 10 },
    // One item finished 5 days ago at 23:30 UTC: 08:30 the next day in Tokyo.
    { team: "tokyo", perDay: (d) => (d === 5 ? 1 : 0), days: 5, doneHour: 23.5 },
  ]);
}, 120_000);

afterAll(async () => {
  await dispose();
});

describe("forecast from the store", () => {
  it("2 items a day: 30 items take 15 days at every percentile, and past forecasts all came true", async () => {
    const forecast = await forecastWhen(store, { team: "steady", nowMs: NOW }, 30);
    expect(forecast.ok).toBe(true);
    expect(forecast.first_day).toBe(TODAY);
    // Day 1 is today, so the 15th day is today + 14.
    expect(forecast.percentiles).toEqual([50, 70, 85, 95].map((percentile) => ({ percentile, days: 15, date: addDays(TODAY, 14) })));
    // The window is the 90 days before today, every one with 2 items.
    expect(forecast.history).toEqual({
      from: ago(90), to: ago(1), days_sampled: 90, days_requested: 90, items: 180, zero_days: 0, first_activity: ago(120),
    });
    expect(forecast.warnings).toEqual([]);
    // Recorded history is the 120 days from ago(120); a past forecast needs 30 days before it
    // (the first is made on ago(90)) and is scored once its p95 (15 days) has passed (the last is
    // made on ago(15)): 76 forecasts, each of 15 days, each seeing exactly 30 items.
    expect(forecast.calibration).toMatchObject({ forecasts: 76, from: ago(90), to: ago(15) });
    expect(forecast.calibration.coverage.map((row) => [row.percentile, row.hits, row.scored, row.coverage])).toEqual([
      [50, 76, 76, 1], [70, 76, 76, 1], [85, 76, 76, 1], [95, 76, 76, 1],
    ]);
  }, 60_000);

  it("how many by a date counts today through that date", async () => {
    // Today .. today + 9: 10 days of 2 = 20 at every percentile. Past 10-day forecasts: made on
    // ago(90) .. ago(10), 81 of them, all exact.
    const forecast = await forecastHowMany(store, { team: "steady", nowMs: NOW }, addDays(TODAY, 9));
    expect(forecast.question).toEqual({ kind: "howmany", by: addDays(TODAY, 9), days: 10 });
    expect(forecast.percentiles.map((row) => row.items)).toEqual([20, 20, 20, 20]);
    expect(forecast.distribution).toEqual([{ items: 20, trials: 10_000, at_least: 1 }]);
    expect(forecast.calibration).toMatchObject({ forecasts: 81, from: ago(90), to: ago(10) });
    await expect(forecastHowMany(store, { team: "steady", nowMs: NOW }, ago(1))).rejects.toThrow(/is in the past/);
    await expect(forecastHowMany(store, { team: "steady", nowMs: NOW }, "2027-02-30")).rejects.toThrow(/not a date/);
    await expect(forecastHowMany(store, { team: "steady", nowMs: NOW }, addDays(TODAY, 3650))).rejects.toThrow(/more than 3650 days ahead/);
  }, 60_000);

  it("working days: weekends are not sampled and their items count on the Friday before", async () => {
    const calendar = await forecastWhen(store, { team: "steady", nowMs: NOW }, 30);
    const working = await forecastWhen(store, { team: "steady", nowMs: NOW }, 30, { workingDays: true });
    let weekdays = 0;
    for (let d = 1; d <= 90; d++) if (isWorkingDay(ago(d))) weekdays++;
    expect(working.history.days_sampled).toBe(weekdays);
    // Nothing is lost by folding: the same 180 items.
    expect(working.history.items).toBe(calendar.history.items);
    for (const row of working.percentiles) expect(isWorkingDay(row.date!)).toBe(true);
    // Working days carry 2 (Mon-Thu) or 6 (Fri), mean 2.8: 30 items need 9 to 15 working days.
    for (const row of working.percentiles) expect(row.days).toBeGreaterThanOrEqual(9);
    for (const row of working.percentiles) expect(row.days).toBeLessThanOrEqual(15);
  }, 60_000);

  it("a shift inside the window is named: 8 weeks running below the mean", async () => {
    const forecast = await forecastWhen(store, { team: "slowed", nowMs: NOW }, 30);
    // The window's 12 whole weeks, newest last: 3 of 21, one of 13 (3 days at 3, 4 at 1), 8 of 7.
    expect(forecast.chart!.weeks.map((w) => w.items)).toEqual([21, 21, 21, 13, 7, 7, 7, 7, 7, 7, 7, 7]);
    expect(forecast.chart!.mean).toBe(11);
    const shift = forecast.warnings.filter((w) => w.code === "shift").map((w) => w.message);
    expect(shift).toContain(`throughput shifted: 8 weeks running below the mean of 11 items a week (${ago(56)} to ${ago(1)}); the history mixes two processes`);
    expect(forecast.ok).toBe(true);
  }, 60_000);

  it("a history of only zero days says it cannot forecast; a short one says it is short", async () => {
    const idle = await forecastWhen(store, { team: "idle", nowMs: NOW }, 5);
    // Activity starts 50 days ago, so 50 days are sampled, not 90.
    expect(idle.ok).toBe(false);
    expect(idle.reason).toBe("no item was finished in the 50 sampled days, so there is no throughput to forecast from");
    expect(idle.percentiles).toEqual([]);
    expect(idle.history).toMatchObject({ days_sampled: 50, items: 0, zero_days: 50, first_activity: ago(50) });

    const fresh = await forecastHowMany(store, { team: "new", nowMs: NOW }, addDays(TODAY, 4));
    expect(fresh.ok).toBe(true);
    expect(fresh.percentiles.map((row) => row.items)).toEqual([10, 10, 10, 10]);
    expect(fresh.warnings.map((w) => w.code)).toEqual(["short_history"]);
    expect(fresh.calibration.forecasts).toBe(0);
    expect(fresh.calibration.note).toMatch(/needs 30 days of history/);

    const nobody = await forecastWhen(store, { team: "nobody", nowMs: NOW }, 5);
    expect(nobody.ok).toBe(false);
    expect(nobody.reason).toBe("nothing is recorded in this scope yet");
  }, 60_000);

  it("counts a finish on its local day in the configured zone", async () => {
    const utc = await throughputSeries(store, { team: "tokyo", timezone: "UTC" }, ago(10), TODAY, false);
    const tokyo = await throughputSeries(store, { team: "tokyo", timezone: "Asia/Tokyo" }, ago(10), TODAY, false);
    const dayOf = (series: typeof utc.series) => series.days.filter((_, i) => series.items[i]! > 0);
    expect(dayOf(utc.series)).toEqual([ago(5)]);
    expect(dayOf(tokyo.series)).toEqual([ago(4)]);
  }, 60_000);
});

describe("analyst SQL (sql/views/0005_forecast.sql)", () => {
  const scope = (team: string) => `stream = '', team = '${team}', flow_type = '', tz = 'UTC'`;

  it("daily_throughput fills zero days", async () => {
    // Team steady's items start 120 days ago: 0 on ago(122) and ago(121), then 2 a day.
    const rows = await store.query<{ day: string; items: number }>(
      `SELECT toString(day) AS day, items FROM daily_throughput(first_day = '${ago(122)}', last_day = '${ago(119)}', ${scope("steady")})`,
    );
    expect(rows).toEqual([{ day: ago(122), items: 0 }, { day: ago(121), items: 0 }, { day: ago(120), items: 2 }, { day: ago(119), items: 2 }]);
  }, 60_000);

  it("forecast_when and forecast_howmany give the exact answers on constant throughput", async () => {
    const when = await store.query<{ percentile: number; days: number; done_by: string; sampled_days: number }>(
      `SELECT percentile, days, toString(done_by) AS done_by, sampled_days FROM forecast_when(items = 30, first_day = '${TODAY}', history_days = 90,
         trials = 10000, seed = 1, max_days = 60, ${scope("steady")})`,
    );
    expect(when).toEqual([50, 70, 85, 95].map((percentile) => ({ percentile, days: 15, done_by: addDays(TODAY, 14), sampled_days: 90 })));
    const howMany = await store.query<{ percentile: number; items: number; days: number }>(
      `SELECT percentile, items, days FROM forecast_howmany(first_day = '${TODAY}', last_day = '${addDays(TODAY, 9)}', history_days = 90,
         trials = 10000, seed = 1, ${scope("steady")})`,
    );
    expect(howMany).toEqual([50, 70, 85, 95].map((percentile) => ({ percentile, items: 20, days: 10 })));
    // Only zero days (team idle): no rows, as the CLI's "cannot forecast".
    expect(await store.query(`SELECT * FROM forecast_when(items = 5, first_day = '${TODAY}', history_days = 90, trials = 1000, seed = 1, max_days = 60, ${scope("idle")})`)).toEqual([]);
  }, 60_000);

  it("agrees with the CLI's forecast in distribution on a varied history (percentiles within a day)", async () => {
    const cli = await forecastWhen(store, { team: "slowed", nowMs: NOW }, 40);
    const sql = await store.query<{ percentile: number; days: number }>(
      `SELECT percentile, days FROM forecast_when(items = 40, first_day = '${TODAY}', history_days = 90, trials = 10000, seed = 3, max_days = 120, ${scope("slowed")})`,
    );
    for (const row of sql) expect(Math.abs(row.days - cli.percentiles.find((p) => p.percentile === row.percentile)!.days!)).toBeLessThanOrEqual(1);
    expect(sql).toHaveLength(4);
  }, 60_000);
});

describe("throughput and velocity count the same items", () => {
  it("the series adds up to flow velocity over the same window", async () => {
    const { velocity } = await import("../metrics/query.ts");
    const since = Date.parse(`${ago(100)}T00:00:00Z`);
    const until = Date.parse(`${TODAY}T00:00:00Z`);
    for (const team of ["steady", "slowed", "tokyo"]) {
      const { series } = await throughputSeries(store, { team, timezone: "UTC" }, ago(100), TODAY, false);
      const rows = await velocity(store, { team, sinceMs: since, untilMs: until, period: "month" });
      expect(series.items.reduce((a, b) => a + b, 0), team).toBe(rows.reduce((sum, row) => sum + row.items, 0));
    }
  }, 60_000);

  it("spaces past forecasts out when the question reaches far ahead, keeping the newest", async () => {
    // 60 days ahead: 365 × 1,000 × 60 = 21.9M draws against a budget of 8M: every 3 days, the
    // newest made 60 days ago.
    const forecast = await forecastHowMany(store, { team: "steady", nowMs: NOW }, addDays(TODAY, 59));
    expect(forecast.calibration).toMatchObject({ every_days: 3, to: ago(60) });
  }, 60_000);
});

describe("reading the calibration", () => {
  const calibration = (coverage: number, claimed: number, scored = 100) => ({
    forecasts: scored, every_days: 1, from: "2026-01-01", to: "2026-06-30", trials: 1000,
    coverage: [{ percentile: 85 as const, scored, hits: Math.round(coverage * scored), coverage, claimed }],
  });

  it("compares the 85% row with what the forecasts claimed, 10 points either way", () => {
    expect(calibrationVerdict(calibration(0.8, 0.88))).toBe("the 85% forecast came true about as often as it claimed: its ranges have held here");
    // 0.70 against 0.88: 18 points short.
    expect(calibrationVerdict(calibration(0.7, 0.88))).toMatch(/^the 85% forecast came true 18 points less often than it claimed: it has been too optimistic/);
    expect(calibrationVerdict(calibration(1, 0.86))).toMatch(/^the 85% forecast came true 14 points more often than it claimed: it has been too cautious/);
    expect(calibrationVerdict(calibration(1, 0.86, 19))).toBe("too few past forecasts to judge (fewer than 20 scored)");
  });

  it("reads a history whose throughput fell as too optimistic", async () => {
    // Team slowed: 3 a day until 61 days ago, then 1. Past 10-day forecasts made in the slow
    // spell sampled mostly fast days, and saw 10 items where they promised far more.
    const forecast = await forecastHowMany(store, { team: "slowed", nowMs: NOW }, addDays(TODAY, 9));
    expect(calibrationVerdict(forecast.calibration)).toMatch(/too optimistic/);
    const steady = await forecastHowMany(store, { team: "steady", nowMs: NOW }, addDays(TODAY, 9));
    expect(calibrationVerdict(steady.calibration)).toMatch(/its ranges have held here/);
  }, 60_000);
});
