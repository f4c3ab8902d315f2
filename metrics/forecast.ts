// Forecasts by Monte Carlo over resampled daily throughput (docs/forecasting.md). Pure: a series of
// daily counts in, distributions, percentiles, process-behaviour signals and a backtest out. The
// store-facing part (which days, which items) is metrics/forecast-query.ts. Every simulation draws
// from a seeded generator, so the same question on the same history gives the same answer; the
// trial loops write into typed arrays allocated once per call, never per trial.

/** The percentiles every forecast reports. */
export const FORECAST_PERCENTILES = [50, 70, 85, 95] as const;
export type ForecastPercentile = (typeof FORECAST_PERCENTILES)[number];

/** "When" trials give up after this many simulated days; a percentile past it is reported as null. */
export const MAX_SIMULATED_DAYS = 3650;
/** Fewer sampled days than this and a forecast says its history is too short. */
export const MIN_HISTORY_DAYS = 30;
/** Fewer items delivered in the sampled days than this and a forecast says so. */
export const MIN_HISTORY_ITEMS = 10;
/** A run of this many weeks on one side of the mean is a shift (Wheeler's detection rule 4). */
export const RUN_LENGTH = 8;
/** The XmR chart's scaling constant: 3 / d2, d2 = 1.128 for moving ranges of two. */
const XMR_SCALE = 2.66;

export interface SimulationOptions {
  trials: number;
  seed: number;
  /** Reused across calls (a backtest runs hundreds of simulations); at least `trials` long. */
  scratch?: Int32Array;
}

export type Simulation<T> = { ok: true; value: T } | { ok: false; reason: string };

export interface WhenSimulation {
  trials: number;
  /** Per percentile: the fewest sampled days within which that share of trials finished; null past MAX_SIMULATED_DAYS. */
  percentiles: Record<ForecastPercentile, number | null>;
  /** Every outcome: days to finish, trials that took exactly that long, share finished within it. */
  distribution: { days: number; trials: number; cumulative: number }[];
  /** Trials that had not finished after MAX_SIMULATED_DAYS. */
  unfinished: number;
}

export interface HowManySimulation {
  trials: number;
  /** Per percentile: the most items that at least that share of trials delivered. */
  percentiles: Record<ForecastPercentile, number>;
  /** Every outcome: items delivered, trials with exactly that many, share of trials with at least that many. */
  distribution: { items: number; trials: number; atLeast: number }[];
}

/**
 * The generator: xorshift32 (Marsaglia) with a multiplied output, so the high bits an index is
 * read from mix all of the state. Period 2^32 - 1, far more draws than a forecast makes; about
 * three times as fast here as mulberry32, which matters in a backtest's hundreds of millions of
 * draws. The loops inline the step; `draw` reads an index in [0, n) from the state.
 */
const GOLDEN = 0x9e3779b9;
/** The seed mixed once (splitmix32-style), never 0: xorshift's one stuck state. */
function initialState(seed: number): number {
  let z = Math.imul((seed | 0) ^ GOLDEN, 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  z ^= z >>> 16;
  return z === 0 ? GOLDEN | 0 : z;
}
/** An index in [0, n) from a state: the multiplied state's top bits, scaled. */
function draw(state: number, n: number): number {
  return ((Math.imul(state, 0x2c1b3c6d) >>> 0) * n / 4294967296) | 0;
}

function checkOptions(options: SimulationOptions): void {
  if (!Number.isInteger(options.trials) || options.trials < 1) throw new RangeError("trials must be a whole number, at least 1");
  if (!Number.isInteger(options.seed)) throw new RangeError("seed must be a whole number");
}

/** Why a history cannot be resampled, or undefined when it can. */
export function historyProblem(history: ArrayLike<number>): string | undefined {
  if (history.length === 0) return "there is no history to sample: no day in the window";
  for (let i = 0; i < history.length; i++) if (history[i]! > 0) return undefined;
  return `no item was finished in the ${history.length} sampled ${history.length === 1 ? "day" : "days"}, so there is no throughput to forecast from`;
}

function buffer(options: SimulationOptions): Int32Array {
  return options.scratch && options.scratch.length >= options.trials ? options.scratch.subarray(0, options.trials) : new Int32Array(options.trials);
}

/**
 * When will `items` items be done? Each trial draws days from `history` (with replacement) and
 * adds their counts until `items` is reached; its outcome is how many days it drew. The p-th
 * percentile is the smallest day count within which at least p% of trials finished.
 */
export function simulateWhen(history: ArrayLike<number>, items: number, options: SimulationOptions): Simulation<WhenSimulation> {
  checkOptions(options);
  if (!Number.isInteger(items) || items < 1) throw new RangeError("the number of items must be a whole number, at least 1");
  const problem = historyProblem(history);
  if (problem) return { ok: false, reason: problem };
  const outcomes = whenOutcomes(history, items, options);
  return { ok: true, value: summariseWhen(outcomes) };
}

/** Sorted day counts of every trial (MAX_SIMULATED_DAYS + 1 for a trial that did not finish). */
function whenOutcomes(history: ArrayLike<number>, items: number, options: SimulationOptions): Int32Array {
  const outcomes = buffer(options);
  const n = history.length;
  let state = initialState(options.seed);
  for (let trial = 0; trial < options.trials; trial++) {
    let done = 0;
    let days = 0;
    while (done < items && days < MAX_SIMULATED_DAYS) {
      state ^= state << 13;
      state ^= state >>> 17;
      state ^= state << 5;
      done += history[draw(state, n)]!;
      days++;
    }
    outcomes[trial] = done >= items ? days : MAX_SIMULATED_DAYS + 1;
  }
  return outcomes.sort();
}

/** Index into ascending outcomes of the p-th percentile "within": ceil(p% of trials) - 1. */
const withinIndex = (trials: number, p: number) => Math.ceil((trials * p) / 100) - 1;
/** Index into ascending outcomes of the p-th percentile "at least": floor((100 - p)% of trials). */
const atLeastIndex = (trials: number, p: number) => Math.floor((trials * (100 - p)) / 100);

function whenPercentiles(sorted: Int32Array): Record<ForecastPercentile, number | null> {
  const out = {} as Record<ForecastPercentile, number | null>;
  for (const p of FORECAST_PERCENTILES) {
    const days = sorted[withinIndex(sorted.length, p)]!;
    out[p] = days > MAX_SIMULATED_DAYS ? null : days;
  }
  return out;
}

function summariseWhen(sorted: Int32Array): WhenSimulation {
  const trials = sorted.length;
  const distribution: WhenSimulation["distribution"] = [];
  let unfinished = 0;
  for (let i = 0; i < trials; ) {
    const days = sorted[i]!;
    let j = i;
    while (j < trials && sorted[j] === days) j++;
    if (days > MAX_SIMULATED_DAYS) unfinished = j - i;
    else distribution.push({ days, trials: j - i, cumulative: j / trials });
    i = j;
  }
  return { trials, percentiles: whenPercentiles(sorted), distribution, unfinished };
}

/**
 * How many items will be done in `days` days? Each trial draws `days` days from `history` and
 * adds their counts. The p-th percentile is the largest count at least p% of trials reached:
 * "with 85% confidence, at least this many".
 */
export function simulateHowMany(history: ArrayLike<number>, days: number, options: SimulationOptions): Simulation<HowManySimulation> {
  checkOptions(options);
  if (!Number.isInteger(days) || days < 1) throw new RangeError("the number of days must be a whole number, at least 1");
  const problem = historyProblem(history);
  if (problem) return { ok: false, reason: problem };
  const sorted = howManyOutcomes(history, days, options);
  const trials = sorted.length;
  const distribution: HowManySimulation["distribution"] = [];
  for (let i = 0; i < trials; ) {
    const items = sorted[i]!;
    let j = i;
    while (j < trials && sorted[j] === items) j++;
    distribution.push({ items, trials: j - i, atLeast: (trials - i) / trials });
    i = j;
  }
  return { ok: true, value: { trials, percentiles: howManyPercentiles(sorted), distribution } };
}

function howManyOutcomes(history: ArrayLike<number>, days: number, options: SimulationOptions): Int32Array {
  const outcomes = buffer(options);
  const n = history.length;
  let state = initialState(options.seed);
  for (let trial = 0; trial < options.trials; trial++) {
    let done = 0;
    for (let day = 0; day < days; day++) {
      state ^= state << 13;
      state ^= state >>> 17;
      state ^= state << 5;
      done += history[draw(state, n)]!;
    }
    outcomes[trial] = done;
  }
  return outcomes.sort();
}

function howManyPercentiles(sorted: Int32Array): Record<ForecastPercentile, number> {
  const out = {} as Record<ForecastPercentile, number>;
  for (const p of FORECAST_PERCENTILES) out[p] = sorted[atLeastIndex(sorted.length, p)]!;
  return out;
}

// ---- Process behaviour (XmR) chart over weekly throughput ----

export interface ProcessSignal {
  kind: "beyond_limits" | "run";
  /** Indices into `weeks` (inclusive). */
  from: number;
  to: number;
  side: "above" | "below";
}

export interface ProcessBehaviour {
  /** Items finished per week-long block, oldest first; the last block ends with the history's last day. */
  weeks: number[];
  /** Index into the history of each block's first day. */
  weekStarts: number[];
  mean: number;
  /** Average moving range between consecutive weeks. */
  movingRange: number;
  /** Natural process limits: mean ± 2.66 × average moving range (the lower one not below 0). */
  upperLimit: number;
  lowerLimit: number;
  signals: ProcessSignal[];
}

/**
 * An XmR chart of weekly throughput. Days are summed in blocks of a week (7 calendar days, or 5
 * working days) counted back from the last day (a partial block at the oldest end is left out),
 * because daily counts of a few items are too lumpy for the chart's limits. Two signals: a week beyond the natural process limits, and a run
 * of RUN_LENGTH or more weeks on the same side of the mean (a week exactly on the mean ends a run).
 * Undefined with fewer than two whole weeks.
 */
export function processBehaviour(history: ArrayLike<number>, blockDays = 7): ProcessBehaviour | undefined {
  const count = Math.floor(history.length / blockDays);
  if (count < 2) return undefined;
  const offset = history.length - count * blockDays;
  const weeks: number[] = [];
  const weekStarts: number[] = [];
  for (let w = 0; w < count; w++) {
    let sum = 0;
    for (let d = 0; d < blockDays; d++) sum += history[offset + w * blockDays + d]!;
    weeks.push(sum);
    weekStarts.push(offset + w * blockDays);
  }
  const mean = weeks.reduce((a, b) => a + b, 0) / count;
  let ranges = 0;
  for (let w = 1; w < count; w++) ranges += Math.abs(weeks[w]! - weeks[w - 1]!);
  const movingRange = ranges / (count - 1);
  const upperLimit = mean + XMR_SCALE * movingRange;
  const lowerLimit = Math.max(0, mean - XMR_SCALE * movingRange);
  const signals: ProcessSignal[] = [];
  weeks.forEach((items, w) => {
    if (items > upperLimit) signals.push({ kind: "beyond_limits", from: w, to: w, side: "above" });
    else if (items < lowerLimit) signals.push({ kind: "beyond_limits", from: w, to: w, side: "below" });
  });
  let runStart = 0;
  const sideOf = (items: number) => (items > mean ? 1 : items < mean ? -1 : 0);
  for (let w = 1; w <= count; w++) {
    const side = sideOf(weeks[runStart]!);
    if (w < count && side !== 0 && sideOf(weeks[w]!) === side) continue;
    if (side !== 0 && w - runStart >= RUN_LENGTH) signals.push({ kind: "run", from: runStart, to: w - 1, side: side > 0 ? "above" : "below" });
    runStart = w;
  }
  return { weeks, weekStarts, mean, movingRange, upperLimit, lowerLimit, signals };
}

// ---- Backtest ----

export type Question = { kind: "when"; items: number } | { kind: "howmany"; days: number };

export interface CoverageRow {
  percentile: ForecastPercentile;
  /** Past forecasts whose outcome against this percentile is known. */
  scored: number;
  /** Of those, how many came true: done within the forecast days / at least the forecast items. */
  hits: number;
  /** hits / scored, null when none was scored. */
  coverage: number | null;
  /**
   * What the forecasts themselves claimed, averaged over the scored ones: the share of their
   * trials that would have come true. Whole days and whole items make this at least the
   * percentile, often a few points more (a p50 of 14 days may hold in 58% of trials), so a
   * well-calibrated forecast has coverage near this figure rather than exactly at p.
   */
  claimed: number | null;
}

export interface BacktestOptions {
  trials: number;
  seed: number;
  /** Sampled days each past forecast draws from (the same window as a forecast today). */
  historyDays: number;
  /** Indices into the series at which forecasts are made (each one's own day is its first forecast day). */
  origins: readonly number[];
  /** Fewer sampled days before an origin than this and it is not scored. */
  minHistoryDays?: number;
}

export interface Backtest {
  /** Origins at which a forecast was made and at least one percentile was scored. */
  forecasts: number;
  /** The first and last of those origins (null when none). */
  first: number | null;
  last: number | null;
  coverage: CoverageRow[];
}

/**
 * Makes the forecast at each origin from only the days before it (at most `historyDays` of
 * them) and compares it with what the series shows happened from that day on. A percentile is
 * scored only when the series settles it: for "how many", when the whole horizon lies inside the
 * series; for "when", when its forecast day does (by then the items were either done or not), so
 * a slow outcome near the end is never dropped in favour of fast ones.
 */
export function backtest(series: ArrayLike<number>, question: Question, options: BacktestOptions): Backtest {
  const minHistory = options.minHistoryDays ?? MIN_HISTORY_DAYS;
  const scratch = new Int32Array(options.trials);
  const scored = new Int32Array(FORECAST_PERCENTILES.length);
  const hits = new Int32Array(FORECAST_PERCENTILES.length);
  const claimed = new Float64Array(FORECAST_PERCENTILES.length);
  // Cumulative counts: items finished in [a, b) = cumulative[b] - cumulative[a].
  const cumulative = new Float64Array(series.length + 1);
  for (let i = 0; i < series.length; i++) cumulative[i + 1] = cumulative[i]! + series[i]!;
  const view = ArrayBuffer.isView(series) ? (series as unknown as Int32Array) : Int32Array.from(series);
  let forecasts = 0;
  let first: number | null = null;
  let last: number | null = null;
  for (const origin of options.origins) {
    const from = Math.max(0, origin - options.historyDays);
    if (origin - from < minHistory || origin > series.length) continue;
    if (cumulative[origin]! - cumulative[from]! === 0) continue;
    const history = view.subarray(from, origin);
    const simulation = { trials: options.trials, seed: options.seed + origin, scratch };
    let any = false;
    if (question.kind === "howmany") {
      if (origin + question.days > series.length) continue;
      const actual = cumulative[origin + question.days]! - cumulative[origin]!;
      const sorted = howManyOutcomes(history, question.days, simulation);
      const percentiles = howManyPercentiles(sorted);
      FORECAST_PERCENTILES.forEach((p, i) => {
        scored[i]!++;
        claimed[i]! += 1 - firstAtLeast(sorted, percentiles[p]) / sorted.length;
        if (actual >= percentiles[p]) hits[i]!++;
      });
      any = true;
    } else {
      const sorted = whenOutcomes(history, question.items, simulation);
      const percentiles = whenPercentiles(sorted);
      FORECAST_PERCENTILES.forEach((p, i) => {
        const days = percentiles[p];
        if (days === null || origin + days > series.length) return;
        scored[i]!++;
        claimed[i]! += firstAtLeast(sorted, days + 1) / sorted.length;
        if (cumulative[origin + days]! - cumulative[origin]! >= question.items) hits[i]!++;
        any = true;
      });
    }
    if (any) {
      forecasts++;
      first ??= origin;
      last = origin;
    }
  }
  return {
    forecasts,
    first,
    last,
    coverage: FORECAST_PERCENTILES.map((percentile, i) => ({
      percentile,
      scored: scored[i]!,
      hits: hits[i]!,
      coverage: scored[i]! > 0 ? hits[i]! / scored[i]! : null,
      claimed: scored[i]! > 0 ? claimed[i]! / scored[i]! : null,
    })),
  };
}

/** Index of the first value >= `value` in ascending `sorted` (its length when there is none). */
function firstAtLeast(sorted: Int32Array, value: number): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (sorted[mid]! < value) low = mid + 1;
    else high = mid;
  }
  return low;
}

// ---- Calendar: sampled days and dates ----

/** `YYYY-MM-DD` plus `n` calendar days. */
export function addDays(day: string, n: number): string {
  const [y, m, d] = day.split("-").map(Number) as [number, number, number];
  return new Date(Date.UTC(y, m - 1, d + n)).toISOString().slice(0, 10);
}

/** Monday to Friday. Holidays are not known (docs/forecasting.md). */
export function isWorkingDay(day: string): boolean {
  const weekday = new Date(`${day}T00:00:00Z`).getUTCDay();
  return weekday !== 0 && weekday !== 6;
}

/** Calendar days from `from` to `to` (to - from; negative when to is earlier). */
export function daysBetween(from: string, to: string): number {
  return Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86_400_000);
}

/** The `n`-th sampled day counting `first` as day 1 (skipping weekends when workingDays). */
export function nthSampledDay(first: string, n: number, workingDays: boolean): string {
  if (!workingDays) return addDays(first, n - 1);
  let day = first;
  while (!isWorkingDay(day)) day = addDays(day, 1);
  // Whole weeks at once, then the rest a day at a time: n may be thousands.
  const weeks = Math.floor((n - 1) / 5);
  day = addDays(day, weeks * 7);
  for (let left = (n - 1) % 5; left > 0; ) {
    day = addDays(day, 1);
    if (isWorkingDay(day)) left--;
  }
  return day;
}

/** How many sampled days there are from `first` to `last`, both included (0 when last is earlier). */
export function sampledDaysThrough(first: string, last: string, workingDays: boolean): number {
  const calendar = daysBetween(first, last) + 1;
  if (calendar <= 0) return 0;
  if (!workingDays) return calendar;
  let count = Math.floor(calendar / 7) * 5;
  for (let day = addDays(first, Math.floor(calendar / 7) * 7); day <= last; day = addDays(day, 1)) if (isWorkingDay(day)) count++;
  return count;
}

export interface DailySeries {
  /** One entry per sampled day, oldest first. */
  days: string[];
  items: Int32Array;
}

/**
 * Items finished per day from `first` to the day before `end`, zero days filled. With
 * workingDays, weekend days are not sampled and what finished on them counts on the working day
 * before (the window's first working day for a weekend at its start), so every item is counted
 * once and a weekend is never drawn as a zero day.
 */
export function dailySeries(rows: readonly { day: string; items: number }[], first: string, end: string, workingDays: boolean): DailySeries {
  const length = Math.max(0, daysBetween(first, end));
  const calendar = new Int32Array(length);
  for (const row of rows) {
    const at = daysBetween(first, row.day);
    if (at >= 0 && at < length) calendar[at]! += row.items;
  }
  const all = Array.from({ length }, (_, i) => addDays(first, i));
  if (!workingDays) return { days: all, items: calendar };
  const days: string[] = [];
  const items: number[] = [];
  let carried = 0;
  all.forEach((day, i) => {
    if (isWorkingDay(day)) {
      days.push(day);
      items.push(calendar[i]! + carried);
      carried = 0;
    } else if (items.length) items[items.length - 1]! += calendar[i]!;
    else carried += calendar[i]!;
  });
  // A window with no working day at all keeps its weekend items out of the sample; it has no day to sample anyway.
  return { days, items: Int32Array.from(items) };
}
