// The pure forecasting core (metrics/forecast.ts) on hand-made throughput: exact answers where
// the arithmetic is exact, the negative binomial where the days are Bernoulli, and the backtest
// on stable synthetic processes whose coverage must come out near the nominal percentiles.
import { describe, expect, it } from "vitest";
import {
  addDays,
  backtest,
  dailySeries,
  FORECAST_PERCENTILES,
  nthSampledDay,
  processBehaviour,
  sampledDaysThrough,
  simulateHowMany,
  simulateWhen,
} from "../metrics/forecast.ts";

const OPTIONS = { trials: 10_000, seed: 7 };

/** A small seeded generator of the test's own (not the one under test), for synthetic histories. */
function lcg(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 4294967296;
  };
}

/** Poisson(λ) by Knuth's product of uniforms. */
function poisson(random: () => number, lambda: number): number {
  const limit = Math.exp(-lambda);
  let k = 0;
  for (let p = random(); p > limit; p *= random()) k++;
  return k;
}

/** P(T <= d) for T the day of the n-th success of Bernoulli(q) days: P(Binomial(d, q) >= n). */
function negativeBinomialCdf(d: number, n: number, q: number): number {
  if (d < n) return 0;
  // P(Binomial(d, q) = k) built up term by term from k = 0.
  let term = Math.pow(1 - q, d);
  let below = 0;
  for (let k = 0; k < n; k++) {
    below += term;
    term *= ((d - k) / (k + 1)) * (q / (1 - q));
  }
  return 1 - below;
}

describe("when will N items be done", () => {
  it("constant c items a day gives ceil(N / c) days at every percentile", () => {
    // 3 a day: 30 items in 10 days exactly, 31 in 11 (the 11th day brings 33); 2 a day: 7 in 4.
    for (const [c, n, days] of [[3, 30, 10], [3, 31, 11], [2, 7, 4], [5, 1, 1]] as const) {
      const result = simulateWhen(new Int32Array(90).fill(c), n, OPTIONS);
      expect(result.ok).toBe(true);
      if (!result.ok) return;
      expect(days).toBe(Math.ceil(n / c));
      for (const p of FORECAST_PERCENTILES) expect(result.value.percentiles[p]).toBe(days);
      expect(result.value.distribution).toEqual([{ days, trials: 10_000, cumulative: 1 }]);
    }
  });

  it("a history of only zero days says it cannot forecast", () => {
    const result = simulateWhen(new Int32Array(90), 10, OPTIONS);
    expect(result).toEqual({ ok: false, reason: "no item was finished in the 90 sampled days, so there is no throughput to forecast from" });
    expect(simulateHowMany(new Int32Array(90), 10, OPTIONS).ok).toBe(false);
    expect(simulateWhen(new Int32Array(0), 10, OPTIONS).ok).toBe(false);
  });

  it("Bernoulli(p) days give the negative binomial distribution (every day's CDF within 0.02)", () => {
    // 30 ones in 100 days: each drawn day finishes one item with probability 0.3. The day of the
    // 5th item is negative binomial; with 10,000 trials the empirical CDF is within 0.02 of it
    // everywhere except with probability 2·exp(-2·10000·0.02²) = 0.0007 (Dvoretzky–Kiefer–Wolfowitz).
    const history = new Int32Array(100);
    for (let i = 0; i < 30; i++) history[i * 3] = 1;
    const n = 5;
    const q = 0.3;
    const result = simulateWhen(history, n, OPTIONS);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    const { distribution, percentiles } = result.value;
    const simulated = new Map(distribution.map((row) => [row.days, row.cumulative]));
    let cumulative = 0;
    let worst = 0;
    for (let d = 1; d <= 80; d++) {
      cumulative = simulated.get(d) ?? cumulative;
      worst = Math.max(worst, Math.abs(cumulative - negativeBinomialCdf(d, n, q)));
    }
    expect(worst).toBeLessThan(0.02);
    // Each percentile is the negative binomial's own (smallest d with CDF >= p) or a day beside it.
    for (const p of FORECAST_PERCENTILES) {
      let exact = n;
      while (negativeBinomialCdf(exact, n, q) < p / 100) exact++;
      expect(Math.abs(percentiles[p]! - exact)).toBeLessThanOrEqual(1);
    }
    // Mean of the negative binomial: n / q = 16.7 days.
    const mean = distribution.reduce((sum, row) => sum + row.days * row.trials, 0) / 10_000;
    expect(mean).toBeGreaterThan(16.3);
    expect(mean).toBeLessThan(17.1);
  });

  it("gives up past ten years and says which trials did not finish", () => {
    // One item in 1,000 days, 10 items: most trials need ~10,000 days, past the 3,650-day limit.
    const history = new Int32Array(1000);
    history[0] = 1;
    const result = simulateWhen(history, 10, { trials: 200, seed: 1 });
    expect(result.ok && result.value.unfinished).toBeGreaterThan(150);
    expect(result.ok && result.value.percentiles[95]).toBeNull();
  });
});

describe("how many by a date", () => {
  it("constant c items a day gives c × days at every percentile", () => {
    const result = simulateHowMany(new Int32Array(60).fill(4), 12, OPTIONS);
    expect(result.ok && result.value.percentiles).toEqual({ 50: 48, 70: 48, 85: 48, 95: 48 });
  });

  it("reads percentiles as 'at least': a higher confidence never promises more items", () => {
    // Days of 0, 1 or 2 items (mean 1): over 20 days the total's sd is sqrt(20 · 2/3) = 3.65, so
    // p50 ≈ 20 and p95 ≈ 20 - 1.645 · 3.65 ≈ 14.
    const result = simulateHowMany(Int32Array.from([0, 1, 2]), 20, OPTIONS);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    const { percentiles, distribution } = result.value;
    expect(percentiles[50]).toBeGreaterThanOrEqual(19);
    expect(percentiles[50]).toBeLessThanOrEqual(21);
    expect(percentiles[95]).toBeGreaterThanOrEqual(13);
    expect(percentiles[95]).toBeLessThanOrEqual(15);
    expect(percentiles[50]).toBeGreaterThanOrEqual(percentiles[70]);
    expect(percentiles[70]).toBeGreaterThanOrEqual(percentiles[85]);
    expect(percentiles[85]).toBeGreaterThanOrEqual(percentiles[95]);
    // The share of trials with at least the p85 figure is at least 85%, and with one more item less.
    const atLeast = (k: number) => distribution.filter((row) => row.items >= k).reduce((s, row) => s + row.trials, 0) / 10_000;
    expect(atLeast(percentiles[85])).toBeGreaterThanOrEqual(0.85);
    expect(atLeast(percentiles[85] + 1)).toBeLessThan(0.85);
  });
});

describe("reproducibility", () => {
  it("the same seed gives the same answer; another seed may not", () => {
    const history = Int32Array.from({ length: 90 }, (_, i) => (i * 7) % 4);
    const a = simulateWhen(history, 40, OPTIONS);
    const b = simulateWhen(history, 40, OPTIONS);
    expect(a).toEqual(b);
    expect(simulateHowMany(history, 30, OPTIONS)).toEqual(simulateHowMany(history, 30, OPTIONS));
    const other = simulateWhen(history, 40, { trials: 10_000, seed: 8 });
    expect(other.ok && a.ok && other.value.distribution).not.toEqual(a.ok && a.value.distribution);
  });
});

describe("process behaviour chart", () => {
  it("computes the natural process limits of weekly throughput by hand", () => {
    // 4 whole weeks of 7 days (the 2 oldest days are left out): weeks 7, 14, 7, 14.
    // Mean 10.5; moving ranges 7, 7, 7 → 7; limits 10.5 ± 2.66·7 = 10.5 ± 18.62 → 29.12 and 0.
    const days = [9, 9, ...[1, 1, 1, 1, 1, 1, 1], ...[2, 2, 2, 2, 2, 2, 2], ...[1, 1, 1, 1, 1, 1, 1], ...[2, 2, 2, 2, 2, 2, 2]];
    const chart = processBehaviour(days)!;
    expect(chart.weeks).toEqual([7, 14, 7, 14]);
    expect(chart.weekStarts).toEqual([2, 9, 16, 23]);
    expect(chart.mean).toBe(10.5);
    expect(chart.movingRange).toBe(7);
    expect(chart.upperLimit).toBeCloseTo(29.12, 10);
    expect(chart.lowerLimit).toBe(0);
    expect(chart.signals).toEqual([]);
  });

  it("flags a week beyond the limits and a run of 8 on one side of the mean", () => {
    // Weeks 10,11,10,11,10,11,10,40: mean 14.125; moving ranges 1×6 and 29 → 33/7 = 4.714;
    // upper limit 14.125 + 2.66·4.714 = 26.66, so 40 is beyond it. Seven weeks below the mean
    // before it are one short of a run.
    const spike = [10, 11, 10, 11, 10, 11, 10, 40].flatMap((w) => weekOf(w));
    expect(processBehaviour(spike)!.signals).toEqual([{ kind: "beyond_limits", from: 7, to: 7, side: "above" }]);
    // Throughput halves after 4 weeks: 10,10,10,10 then 5 × 9. Mean (40 + 45) / 13 = 6.54; the
    // 9 weeks of 5 are a run below it; the limits (mR̄ = 5/12 → ±1.11) put every week outside.
    const shift = [10, 10, 10, 10, 5, 5, 5, 5, 5, 5, 5, 5, 5].flatMap((w) => weekOf(w));
    const signals = processBehaviour(shift)!.signals;
    expect(signals).toContainEqual({ kind: "run", from: 4, to: 12, side: "below" });
    expect(signals.filter((s) => s.kind === "beyond_limits")).toHaveLength(13);
    expect(processBehaviour([1, 2, 3])).toBeUndefined();
  });
});

/** A week of `items` spread over 7 days (the chart reads only the weekly sum). */
function weekOf(items: number): number[] {
  const days = [0, 0, 0, 0, 0, 0, 0];
  for (let i = 0; i < items; i++) days[i % 7]!++;
  return days;
}

describe("backtest", () => {
  it("on stable Poisson processes, past forecasts come true about as often as they claimed", () => {
    // 8 independent series of Poisson(2) days, 90 days of history and a year of origins each. The
    // forecast resamples 90 days, so it ignores the uncertainty in the rate itself and runs a few
    // points under nominal at the high end (about 3 points at p85 for a 14-day horizon, by the
    // normal approximation: sd of the total sqrt(28) = 5.3 against sqrt(28 + (14·0.149)²) = 5.7).
    // Whole days and items make each forecast claim a little more than its percentile (a p50 of
    // 14 days may hold in 58% of its own trials), so coverage is compared with what the forecasts
    // claimed, and must not fall more than 0.05 below the nominal figure. Overlapping horizons
    // make neighbouring origins agree, so the tolerance is 0.05.
    const totals = { howmany: new Map<number, [number, number, number]>(), when: new Map<number, [number, number, number]>() };
    for (let s = 0; s < 8; s++) {
      const random = lcg(1000 + s);
      const series = Int32Array.from({ length: 90 + 365 + 30 }, () => poisson(random, 2));
      const origins = Array.from({ length: 365 }, (_, i) => 90 + i);
      for (const [kind, question] of [["howmany", { kind: "howmany", days: 14 }], ["when", { kind: "when", items: 28 }]] as const) {
        const result = backtest(series, question, { trials: 2000, seed: 11, historyDays: 90, origins });
        for (const row of result.coverage) {
          const [hits, scored, claimed] = totals[kind].get(row.percentile) ?? [0, 0, 0];
          totals[kind].set(row.percentile, [hits + row.hits, scored + row.scored, claimed + row.claimed! * row.scored]);
        }
      }
    }
    for (const kind of ["howmany", "when"] as const) {
      for (const p of FORECAST_PERCENTILES) {
        const [hits, scored, claimed] = totals[kind].get(p)!;
        const label = `${kind} p${p}: ${hits}/${scored}, claimed ${(claimed / scored).toFixed(3)}`;
        expect(scored).toBeGreaterThan(2000);
        expect(claimed / scored).toBeGreaterThanOrEqual(p / 100);
        expect(Math.abs(hits / scored - claimed / scored), label).toBeLessThan(0.05);
        expect(hits / scored, label).toBeGreaterThan(p / 100 - 0.05);
      }
    }
  }, 30_000);

  it("uses only the days before each origin and scores only outcomes the series settles", () => {
    // Constant 2 a day, then the last 10 days at 0: a 10-day "how many" made 15 days before the
    // end forecasts 20 and sees 5 × 2 = 10 (a miss); one made 10 or fewer days before the end is
    // not scored (its horizon runs past the series), whatever it would have said.
    const series = Int32Array.from({ length: 130 }, (_, i) => (i < 120 ? 2 : 0));
    const result = backtest(series, { kind: "howmany", days: 10 }, { trials: 100, seed: 1, historyDays: 90, origins: [100, 110, 115, 121] });
    // Origin 100: days 100..109 all 2 → 20 ≥ 20 hit. 110: days 110..119 → 20 hit. 115: 5×2 = 10 <
    // 20 miss. 121: its horizon ends at day 130, past the series (0..129), not scored.
    expect(result.forecasts).toBe(3);
    expect(result.coverage.map((row) => [row.hits, row.scored, row.claimed])).toEqual([[2, 3, 1], [2, 3, 1], [2, 3, 1], [2, 3, 1]]);
    // Fewer than 30 days before an origin: not scored.
    expect(backtest(series, { kind: "when", items: 4 }, { trials: 100, seed: 1, historyDays: 90, origins: [29] }).forecasts).toBe(0);
  });
});

describe("calendar", () => {
  it("fills zero days and folds weekends into the working day before", () => {
    // 2026-11-27 is a Friday. Rows: Fri 2, Sat 1, Sun 3, Tue 4.
    const rows = [{ day: "2026-11-27", items: 2 }, { day: "2026-11-28", items: 1 }, { day: "2026-11-29", items: 3 }, { day: "2026-12-01", items: 4 }];
    const calendar = dailySeries(rows, "2026-11-27", "2026-12-03", false);
    expect(calendar.days).toEqual(["2026-11-27", "2026-11-28", "2026-11-29", "2026-11-30", "2026-12-01", "2026-12-02"]);
    expect([...calendar.items]).toEqual([2, 1, 3, 0, 4, 0]);
    const working = dailySeries(rows, "2026-11-27", "2026-12-03", true);
    expect(working.days).toEqual(["2026-11-27", "2026-11-30", "2026-12-01", "2026-12-02"]);
    expect([...working.items]).toEqual([6, 0, 4, 0]);
    // A window that starts on Saturday: its weekend goes to the Monday, its first working day.
    expect([...dailySeries(rows, "2026-11-28", "2026-12-01", true).items]).toEqual([4]);
  });

  it("counts working days and finds the n-th one", () => {
    // Mon 2026-11-30 .. Fri 2026-12-11: 10 working days over 12 calendar days.
    expect(sampledDaysThrough("2026-11-30", "2026-12-11", true)).toBe(10);
    expect(sampledDaysThrough("2026-11-30", "2026-12-11", false)).toBe(12);
    expect(sampledDaysThrough("2026-12-11", "2026-11-30", false)).toBe(0);
    expect(nthSampledDay("2026-11-30", 10, true)).toBe("2026-12-11");
    expect(nthSampledDay("2026-11-28", 1, true)).toBe("2026-11-30");
    expect(nthSampledDay("2026-11-28", 6, true)).toBe("2026-12-07");
    expect(nthSampledDay("2026-11-28", 3, false)).toBe("2026-11-30");
    for (let n = 1; n < 40; n++) expect(sampledDaysThrough("2026-11-26", nthSampledDay("2026-11-26", n, true), true)).toBe(n);
    expect(addDays("2026-12-31", 1)).toBe("2027-01-01");
  });
});
