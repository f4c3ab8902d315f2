// Forecast section: a 10,000-trial forecast on the seeded store (1M items / 10M transitions at
// full size), timed whole (query, simulation and the year of past forecasts beside it) and in
// parts, so the cost of our path shows against its two floors: the store answering the daily
// throughput query alone, and the simulation alone on the same history. Then the backtest over a
// year at the full 10,000 trials per past forecast.
import { openStore } from "../../store/open.ts";
import { sqlFile } from "../../store/sql.ts";
import { toClickHouseTime } from "../../core/time.ts";
import { addDays, backtest, simulateHowMany, simulateWhen } from "../../metrics/forecast.ts";
import { forecastHowMany, forecastWhen, localDay, throughputSeries } from "../../metrics/forecast-query.ts";
import { seededStore } from "../seeded-store.ts";
import type { BenchOptions, BenchResult } from "../types.ts";
import { percentile } from "../stats.ts";

export const name = "forecast";
export const description = "10,000-trial forecast at 1M items (p95 < 300 ms, calibration included); backtest over a year (< 5 s)";

const TRIALS = 10_000;
const SCOPE = { team: "payments", flowType: "feature", timezone: "UTC" };

async function timed(repeats: number, body: () => Promise<unknown> | unknown): Promise<{ p50: number; p95: number }> {
  await body();
  const times: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const started = performance.now();
    await body();
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  return { p50: percentile(times, 0.5), p95: percentile(times, 0.95) };
}

const round = (n: number) => Math.round(n * 10) / 10;

export async function run(options: BenchOptions): Promise<BenchResult> {
  const log = options.log ?? (() => undefined);
  const repeats = options.repeats ?? 20;
  const seeded = await seededStore({ items: options.items ?? 1_000_000, workDir: options.workDir, log });
  const store = await openStore({ kind: "embedded", path: seeded.path });
  try {
    const nowMs = seeded.endMs + 12 * 3_600_000;
    const today = localDay(nowMs, "UTC");
    // The question: when will a month of the scope's throughput be done (its 90-day rate × 30).
    const { series } = await throughputSeries(store, SCOPE, addDays(today, -90), today, false);
    const history = series.items;
    const perDay = history.reduce((a, b) => a + b, 0) / Math.max(1, history.length);
    const items = Math.max(1, Math.round(perDay * 30));
    const by = addDays(today, 89);
    log(`scope team payments, features: ${perDay.toFixed(1)} a day over 90 days; forecasting when ${items} items, and how many by ${by}`);

    const query = await timed(repeats, () =>
      store.query(sqlFile("queries/daily_throughput.sql"), {
        since: toClickHouseTime(Date.parse(`${addDays(today, -(90 + 365 + 365))}T00:00:00Z`)),
        until: toClickHouseTime(Date.parse(`${today}T00:00:00Z`)),
        stream: "", team: SCOPE.team, flow_type: SCOPE.flowType, tz: "UTC",
      }));
    const scratch = new Int32Array(TRIALS);
    const simWhen = await timed(repeats, () => simulateWhen(history, items, { trials: TRIALS, seed: 1, scratch }));
    const simHowMany = await timed(repeats, () => simulateHowMany(history, 90, { trials: TRIALS, seed: 1, scratch }));
    const when = await timed(repeats, () => forecastWhen(store, { ...SCOPE, nowMs }, items, { trials: TRIALS }));
    const howMany = await timed(repeats, () => forecastHowMany(store, { ...SCOPE, nowMs }, by, { trials: TRIALS }));
    const sample = await forecastWhen(store, { ...SCOPE, nowMs }, items, { trials: TRIALS });
    log(`when: p85 ${sample.percentiles.find((p) => p.percentile === 85)?.days} days; calibration over ${sample.calibration.forecasts} past days`);

    // The backtest at full strength: 10,000 trials per past forecast, one per day of a year.
    const full = await throughputSeries(store, SCOPE, addDays(today, -(90 + 365 + 60)), today, false);
    const lag = sample.percentiles.find((p) => p.percentile === 95)?.days ?? 60;
    const last = full.series.items.length - lag;
    const origins = Array.from({ length: 365 }, (_, i) => last - 364 + i).filter((o) => o >= 0);
    const started = performance.now();
    const result = backtest(full.series.items, { kind: "when", items }, { trials: TRIALS, seed: 1, historyDays: 90, origins });
    const backtestMs = performance.now() - started;
    log(`backtest: ${result.forecasts} past forecasts in ${backtestMs.toFixed(0)} ms; coverage ${result.coverage.map((c) => `p${c.percentile} ${((c.coverage ?? 0) * 100).toFixed(0)}%`).join(", ")}`);

    // p50s: on a shared machine the p95s of short timings are mostly other people's work.
    const floor = query.p50 + simWhen.p50;
    return {
      section: name,
      params: { items: seeded.items, transitions: seeded.transitions, repeats, trials: TRIALS, forecast_items: items },
      figures: {
        "daily throughput query p50 ms": round(query.p50),
        "daily throughput query p95 ms": round(query.p95),
        "simulation alone (when) p50 ms": round(simWhen.p50),
        "simulation alone (when) p95 ms": round(simWhen.p95),
        "simulation alone (how many, 90 d) p95 ms": round(simHowMany.p95),
        "forecast when, calibration included, p50 ms": round(when.p50),
        "forecast when, calibration included, p95 ms": round(when.p95),
        "forecast how many, calibration included, p50 ms": round(howMany.p50),
        "forecast how many, calibration included, p95 ms": round(howMany.p95),
        "query + simulation as share of forecast when (p50)": round(floor / when.p50),
        "backtest over a year (10,000 trials each) ms": Math.round(backtestMs),
        "backtest past forecasts": result.forecasts,
        ...Object.fromEntries(result.coverage.map((c) => [`backtest coverage p${c.percentile}`, c.coverage === null ? null : round(c.coverage * 100)])),
      },
      targets: [
        { name: "forecast when p95 ms", value: round(when.p95), target: "< 300", pass: when.p95 < 300 },
        { name: "forecast how many p95 ms", value: round(howMany.p95), target: "< 300", pass: howMany.p95 < 300 },
        { name: "backtest over a year ms", value: Math.round(backtestMs), target: "< 5000", pass: backtestMs < 5000 },
      ],
    };
  } finally {
    await store.close();
  }
}
