// Forecasts from the store: reads daily throughput for one scope (sql/queries/daily_throughput.sql),
// runs the pure Monte Carlo of metrics/forecast.ts on the history window, checks that history
// with a process-behaviour chart, and backtests the same question over the past year so every
// answer carries its own track record. Front ends (CLI, Slack, demo, the dashboard) call
// forecastWhen / forecastHowMany and render the result as it is.
import type { ForecastConfig } from "../core/config.ts";
import { isTimeZone, localMidnight, toClickHouseTime } from "../core/time.ts";
import { sqlFile } from "../store/sql.ts";
import type { Store } from "../store/store.ts";
import {
  addDays,
  backtest,
  dailySeries,
  daysBetween,
  FORECAST_PERCENTILES,
  MAX_SIMULATED_DAYS,
  MIN_HISTORY_DAYS,
  MIN_HISTORY_ITEMS,
  nthSampledDay,
  processBehaviour,
  sampledDaysThrough,
  simulateHowMany,
  simulateWhen,
  type CoverageRow,
  type DailySeries,
  type ForecastPercentile,
  type ProcessSignal,
  type Question,
} from "./forecast.ts";
import { MetricError } from "./query.ts";

export interface ForecastSettings {
  /** Trials per forecast (config metrics.forecast.trials). */
  trials: number;
  seed: number;
  /** Calendar days before today that are resampled (config metrics.forecast.history_days). */
  historyDays: number;
  /** Sample and count Monday to Friday only (config metrics.forecast.working_days). */
  workingDays: boolean;
}

export const DEFAULT_FORECAST_SETTINGS: ForecastSettings = { trials: 10_000, seed: 1, historyDays: 90, workingDays: false };

/** The config section (metrics.forecast) as settings. */
export function forecastSettingsOf(config: ForecastConfig): ForecastSettings {
  return { trials: config.trials, seed: config.seed, historyDays: config.history_days, workingDays: config.working_days };
}

// A day after the first the store holds, so its local midnight stays inside the range in every zone.
const EARLIEST_DAY = "1900-01-02";

/** Calendar days of past forecasts in the calibration. */
export const CALIBRATION_DAYS = 365;
/**
 * Trials per past forecast. The calibration makes one forecast per day of a year; 1,000 trials
 * put each percentile within about a point of the 10,000-trial figure and keep the whole
 * backtest beside an answer within the Slack bot's one-second budget.
 */
export const CALIBRATION_TRIALS = 1000;
/**
 * Days drawn by the whole calibration at most. One past forecast a day costs 365 × trials ×
 * horizon draws (130M for a 365-day question); past that budget the forecasts are made every k
 * days instead (every day up to a 21-day horizon). Forecasts a few days apart share nearly all their history and outcome, so a long
 * horizon loses little by it.
 */
export const CALIBRATION_DRAWS = 8_000_000;

export interface ForecastScope {
  stream?: string;
  team?: string;
  flowType?: string;
  /** IANA zone whose calendar days the throughput is counted in (config metrics.timezone). */
  timezone?: string;
  /** The forecast is made as of this instant; its first forecast day is this instant's local day. */
  nowMs?: number;
}

export type ForecastQuestion = { kind: "when"; items: number } | { kind: "howmany"; by: string };

export interface ForecastWarning {
  code: "short_history" | "few_items" | "shift" | "unfinished_trials";
  message: string;
}

export interface ForecastHistory {
  /** First and last day sampled (null when none). */
  from: string | null;
  to: string | null;
  /** Days drawn from: calendar days, or working days with workingDays. */
  days_sampled: number;
  /** Calendar days the history window asked for (history_days). */
  days_requested: number;
  items: number;
  zero_days: number;
  /** The first day of any activity recorded in the scope; days before it are not sampled. */
  first_activity: string | null;
}

export interface ChartWeek { start: string; end: string; items: number }

export interface ForecastChart {
  weeks: ChartWeek[];
  mean: number;
  upper_limit: number;
  lower_limit: number;
  signals: (ProcessSignal & { from_day: string; to_day: string })[];
}

export interface Calibration {
  /** Past forecasts scored. */
  forecasts: number;
  /** Days between two past forecasts: 1, or more for a question reaching far ahead (CALIBRATION_DRAWS). */
  every_days: number;
  /** The days the scored forecasts were made on (null when none). */
  from: string | null;
  to: string | null;
  trials: number;
  coverage: CoverageRow[];
  /** Why nothing could be scored, when nothing was. */
  note?: string;
}

export interface ForecastBase {
  scope: { stream: string; team: string; flow_type: string; timezone: string };
  /** The first forecast day: today in the zone. Days are counted from its start. */
  first_day: string;
  working_days: boolean;
  trials: number;
  seed: number;
  history: ForecastHistory;
  /** False when the history cannot be resampled; `reason` says why and there are no figures. */
  ok: boolean;
  reason?: string;
  warnings: ForecastWarning[];
  chart: ForecastChart | null;
  calibration: Calibration;
}

export interface WhenPercentile { percentile: ForecastPercentile; days: number | null; date: string | null }
export interface WhenForecast extends ForecastBase {
  question: { kind: "when"; items: number };
  /** p-th: within this many days (calendar or working) from first_day, done by the end of `date`. */
  percentiles: WhenPercentile[];
  distribution: { days: number; date: string; trials: number; cumulative: number }[];
  unfinished_trials: number;
}

export interface HowManyPercentile { percentile: ForecastPercentile; items: number }
export interface HowManyForecast extends ForecastBase {
  /** `by` is the last day counted (inclusive); `days` the sampled days from first_day to it. */
  question: { kind: "howmany"; by: string; days: number };
  /** p-th: at least this many items, in p% of trials. */
  percentiles: HowManyPercentile[];
  distribution: { items: number; trials: number; at_least: number }[];
}

export type Forecast = WhenForecast | HowManyForecast;

interface ThroughputRow { first_day: string | null; days: string[]; items: number[] }

/** `YYYY-MM-DD` of an instant in a zone. */
export function localDay(ms: number, timezone: string): string {
  const parts = new Intl.DateTimeFormat("en-CA", { timeZone: timezone, year: "numeric", month: "2-digit", day: "2-digit" }).formatToParts(new Date(ms));
  const get = (type: string) => parts.find((part) => part.type === type)!.value;
  return `${get("year")}-${get("month")}-${get("day")}`;
}

const midnight = (day: string, timezone: string) => {
  const [y, m, d] = day.split("-").map(Number) as [number, number, number];
  return localMidnight(y, m, d, timezone);
};

/**
 * Items finished per day in [from, end) for the scope, zero days filled, and the scope's first
 * recorded activity. Days before that activity are dropped from the series: they are unknown.
 */
export async function throughputSeries(
  store: Store,
  scope: Required<Pick<ForecastScope, "timezone">> & ForecastScope,
  from: string,
  end: string,
  workingDays: boolean,
): Promise<{ series: DailySeries; firstActivity: string | null }> {
  const [row] = await store.query<ThroughputRow>(sqlFile("queries/daily_throughput.sql"), {
    since: toClickHouseTime(midnight(from, scope.timezone)),
    until: toClickHouseTime(midnight(end, scope.timezone)),
    stream: scope.stream ?? "",
    team: scope.team ?? "",
    flow_type: scope.flowType ?? "",
    tz: scope.timezone,
  });
  const firstActivity = row?.first_day ?? null;
  const rows = (row?.days ?? []).map((day, i) => ({ day, items: Number(row!.items[i]) }));
  // No activity at all: nothing to sample, rather than a window of days that only look empty.
  const start = firstActivity === null ? end : firstActivity > from ? firstActivity : from;
  return { series: dailySeries(rows, start < end ? start : end, end, workingDays), firstActivity };
}

function resolveSettings(settings: Partial<ForecastSettings>): ForecastSettings {
  const s = { ...DEFAULT_FORECAST_SETTINGS, ...settings };
  if (!Number.isInteger(s.trials) || s.trials < 1) throw new MetricError("forecast trials must be a whole number, at least 1");
  if (!Number.isInteger(s.historyDays) || s.historyDays < 1) throw new MetricError("forecast history must be a whole number of days, at least 1");
  if (!Number.isInteger(s.seed)) throw new MetricError("forecast seed must be a whole number");
  return s;
}

/** When will `items` items be done, from today on? */
export function forecastWhen(store: Store, scope: ForecastScope, items: number, settings: Partial<ForecastSettings> = {}): Promise<WhenForecast> {
  if (!Number.isInteger(items) || items < 1) throw new MetricError("the number of items must be a whole number, at least 1");
  return forecast(store, scope, { kind: "when", items }, settings) as Promise<WhenForecast>;
}

/** How many items will be done from today through `by` (YYYY-MM-DD, inclusive)? */
export function forecastHowMany(store: Store, scope: ForecastScope, by: string, settings: Partial<ForecastSettings> = {}): Promise<HowManyForecast> {
  return forecast(store, scope, { kind: "howmany", by }, settings) as Promise<HowManyForecast>;
}

async function forecast(store: Store, scope: ForecastScope, question: ForecastQuestion, partial: Partial<ForecastSettings>): Promise<Forecast> {
  const settings = resolveSettings(partial);
  const timezone = scope.timezone ?? "UTC";
  if (!isTimeZone(timezone)) throw new MetricError(`unknown time zone "${timezone}" (use an IANA name such as UTC or America/New_York)`);
  const today = localDay(scope.nowMs ?? Date.now(), timezone);
  let horizon = 0;
  if (question.kind === "howmany") {
    if (!/^\d{4}-\d{2}-\d{2}$/.test(question.by) || addDays(question.by, 0) !== question.by) throw new MetricError(`"${question.by}" is not a date YYYY-MM-DD`);
    if (question.by < today) throw new MetricError(`${question.by} is in the past (today is ${today} in ${timezone})`);
    horizon = sampledDaysThrough(today, question.by, settings.workingDays);
    if (horizon === 0) throw new MetricError(`there is no working day from ${today} to ${question.by}`);
    // The same reach as "when" trials: past ten years the history says nothing worth a figure.
    if (daysBetween(today, question.by) >= MAX_SIMULATED_DAYS) throw new MetricError(`${question.by} is more than ${MAX_SIMULATED_DAYS} days ahead; a forecast reaches at most ten years`);
  }
  // The live window, a year of past forecasts before it, and room for how far the question
  // reaches (the calibration's forecasts must have their outcome inside the data).
  const reach = question.kind === "howmany" ? daysBetween(today, question.by) + 1 : CALIBRATION_DAYS;
  const wanted = addDays(today, -(settings.historyDays + CALIBRATION_DAYS + reach));
  // The store holds nothing before 1900 (core/time.ts); a long reach must not ask for it.
  const fetchFrom = wanted < EARLIEST_DAY ? EARLIEST_DAY : wanted;
  const { series, firstActivity } = await throughputSeries(store, { ...scope, timezone }, fetchFrom, today, settings.workingDays);

  const windowStart = addDays(today, -settings.historyDays);
  const startIndex = lowerBound(series.days, windowStart);
  const history = series.items.subarray(startIndex);
  const historyDays = series.days.slice(startIndex);
  let items = 0;
  let zeroDays = 0;
  for (const n of history) {
    items += n;
    if (n === 0) zeroDays++;
  }
  const base: ForecastBase = {
    scope: { stream: scope.stream ?? "", team: scope.team ?? "", flow_type: scope.flowType ?? "", timezone },
    first_day: today,
    working_days: settings.workingDays,
    trials: settings.trials,
    seed: settings.seed,
    history: {
      from: historyDays[0] ?? null,
      to: historyDays.at(-1) ?? null,
      days_sampled: history.length,
      days_requested: settings.historyDays,
      items,
      zero_days: zeroDays,
      first_activity: firstActivity,
    },
    ok: true,
    warnings: [],
    chart: chartOf(history, historyDays, settings.workingDays),
    calibration: { forecasts: 0, every_days: 1, from: null, to: null, trials: CALIBRATION_TRIALS, coverage: [] },
  };
  base.warnings.push(...historyWarnings(base));
  if (firstActivity === null) return refused(base, question, horizon, "nothing is recorded in this scope yet");
  const simulation = { trials: settings.trials, seed: settings.seed };

  if (question.kind === "when") {
    const result = simulateWhen(history, question.items, simulation);
    const answer: WhenForecast = { ...base, question, percentiles: [], distribution: [], unfinished_trials: 0 };
    if (!result.ok) return refused(base, question, horizon, result.reason);
    const dateOf = (days: number) => nthSampledDay(today, days, settings.workingDays);
    answer.percentiles = FORECAST_PERCENTILES.map((percentile) => {
      const days = result.value.percentiles[percentile];
      return { percentile, days, date: days === null ? null : dateOf(days) };
    });
    answer.distribution = result.value.distribution.map((row) => ({ days: row.days, date: dateOf(row.days), trials: row.trials, cumulative: row.cumulative }));
    answer.unfinished_trials = result.value.unfinished;
    if (result.value.unfinished > 0) {
      answer.warnings.push({
        code: "unfinished_trials",
        message: `${formatShare(result.value.unfinished / settings.trials)} of trials had not finished ${question.items} items after ${MAX_SIMULATED_DAYS} days; those percentiles are shown as beyond reach`,
      });
    }
    // Past forecasts are scored once their p95 day has passed, so the last one is p95 days back.
    const lag = result.value.percentiles[95] ?? MAX_SIMULATED_DAYS;
    answer.calibration = calibrate(series, { kind: "when", items: question.items }, lag, settings);
    return answer;
  }
  const result = simulateHowMany(history, horizon, simulation);
  const answer: HowManyForecast = { ...base, question: { kind: "howmany", by: question.by, days: horizon }, percentiles: [], distribution: [] };
  if (!result.ok) return refused(base, question, horizon, result.reason);
  answer.percentiles = FORECAST_PERCENTILES.map((percentile) => ({ percentile, items: result.value.percentiles[percentile] }));
  answer.distribution = result.value.distribution.map((row) => ({ items: row.items, trials: row.trials, at_least: row.atLeast }));
  answer.calibration = calibrate(series, { kind: "howmany", days: horizon }, horizon, settings);
  return answer;
}

/** A forecast that could not be made, with the reason and no figures. */
function refused(base: ForecastBase, question: ForecastQuestion, horizon: number, reason: string): Forecast {
  const calibration = { ...base.calibration, note: "no forecast to check" };
  const common = { ...base, ok: false, reason, warnings: base.warnings.filter((w) => w.code !== "short_history" || base.history.days_sampled > 0), calibration };
  return question.kind === "when"
    ? { ...common, question, percentiles: [], distribution: [], unfinished_trials: 0 }
    : { ...common, question: { ...question, days: horizon }, percentiles: [], distribution: [] };
}

/**
 * The same question asked on each day of a year, as far back as its outcome is known (`lag`
 * sampled days before today), each from only the days before it.
 */
function calibrate(series: DailySeries, question: Question, lag: number, settings: ForecastSettings): Calibration {
  const last = series.days.length - lag;
  const origins: number[] = [];
  const horizon = question.kind === "howmany" ? question.days : lag;
  const every = Math.max(1, Math.ceil((CALIBRATION_DAYS * CALIBRATION_TRIALS * horizon) / CALIBRATION_DRAWS));
  if (last >= 0 && last < series.days.length) {
    const earliest = addDays(series.days[last]!, -(CALIBRATION_DAYS - 1));
    for (let o = last; o >= 0 && series.days[o]! >= earliest; o -= every) origins.push(o);
    origins.reverse();
  }
  const result = backtest(series.items, question, {
    trials: CALIBRATION_TRIALS,
    seed: settings.seed,
    // The window is calendar days; in working days it holds about 5/7 as many.
    historyDays: settings.workingDays ? Math.round((settings.historyDays * 5) / 7) : settings.historyDays,
    origins,
  });
  const calibration: Calibration = {
    forecasts: result.forecasts,
    every_days: every,
    from: result.first === null ? null : series.days[result.first]!,
    to: result.last === null ? null : series.days[result.last]!,
    trials: CALIBRATION_TRIALS,
    coverage: result.coverage,
  };
  if (result.forecasts === 0) {
    calibration.note = lag >= series.days.length
      ? "the question reaches further ahead than the recorded history goes back, so no past forecast of it has an outcome yet"
      : `no past forecast could be checked: each needs ${MIN_HISTORY_DAYS} days of history before it and its outcome inside the recorded data`;
  }
  return calibration;
}

/** Fewer scored past forecasts than this and the calibration is too thin to judge. */
export const CALIBRATION_MIN_FORECASTS = 20;
/** Coverage this far (points) from what the forecasts claimed, at p85, reads as off. */
export const CALIBRATION_TOLERANCE = 0.1;

/**
 * One line reading the track record at p85, the figure people plan with: within 10 points of
 * what the past forecasts claimed is "held", below is too optimistic, above too pessimistic.
 */
export function calibrationVerdict(calibration: Calibration): string {
  const row = calibration.coverage.find((c) => c.percentile === 85);
  if (!row || row.coverage === null || row.claimed === null || row.scored < CALIBRATION_MIN_FORECASTS) {
    return `too few past forecasts to judge (fewer than ${CALIBRATION_MIN_FORECASTS} scored)`;
  }
  const points = Math.round((row.coverage - row.claimed) * 100);
  if (row.coverage < row.claimed - CALIBRATION_TOLERANCE) return `the 85% forecast came true ${-points} points less often than it claimed: it has been too optimistic here (throughput fell, or the window held a faster spell)`;
  if (row.coverage > row.claimed + CALIBRATION_TOLERANCE) return `the 85% forecast came true ${points} points more often than it claimed: it has been too cautious here (throughput has been rising)`;
  return "the 85% forecast came true about as often as it claimed: its ranges have held here";
}

function lowerBound(days: readonly string[], day: string): number {
  let low = 0;
  let high = days.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (days[mid]! < day) low = mid + 1;
    else high = mid;
  }
  return low;
}

function chartOf(history: Int32Array, days: readonly string[], workingDays: boolean): ForecastChart | null {
  // A block is one calendar week either way: 7 calendar days or 5 working days.
  const chart = processBehaviour(history, workingDays ? 5 : 7);
  if (!chart) return null;
  const blockDays = workingDays ? 5 : 7;
  const weekOf = (w: number) => ({ start: days[chart.weekStarts[w]!]!, end: days[chart.weekStarts[w]! + blockDays - 1]! });
  return {
    weeks: chart.weeks.map((items, w) => ({ ...weekOf(w), items })),
    mean: round(chart.mean),
    upper_limit: round(chart.upperLimit),
    lower_limit: round(chart.lowerLimit),
    signals: chart.signals.map((signal) => ({ ...signal, from_day: weekOf(signal.from).start, to_day: weekOf(signal.to).end })),
  };
}

function historyWarnings(forecast: ForecastBase): ForecastWarning[] {
  const warnings: ForecastWarning[] = [];
  const { history, chart } = forecast;
  const calendarDays = history.from ? daysBetween(history.from, forecast.first_day) : 0;
  if (calendarDays < MIN_HISTORY_DAYS) {
    warnings.push({
      code: "short_history",
      message: history.from
        ? `only ${calendarDays} days of history (recorded activity starts ${history.first_activity}); under ${MIN_HISTORY_DAYS} days the forecast rests on too little to trust`
        : "no history in the window",
    });
  }
  if (history.days_sampled > 0 && history.items < MIN_HISTORY_ITEMS) {
    warnings.push({ code: "few_items", message: `only ${history.items} ${history.items === 1 ? "item was" : "items were"} finished in the sampled days; a forecast from so few is rough` });
  }
  for (const signal of chart?.signals ?? []) {
    const weeks = chart!.weeks;
    warnings.push({
      code: "shift",
      message: signal.kind === "run"
        ? `throughput shifted: ${signal.to - signal.from + 1} weeks running ${signal.side} the mean of ${chart!.mean} items a week (${signal.from_day} to ${signal.to_day}); the history mixes two processes`
        : `throughput shifted: the week ${signal.from_day} to ${signal.to_day} finished ${weeks[signal.from]!.items} items, ${signal.side} the natural process limit of ${signal.side === "above" ? chart!.upper_limit : chart!.lower_limit}`,
    });
  }
  return warnings;
}

const round = (n: number) => Math.round(n * 100) / 100;
const formatShare = (share: number) => `${Math.round(share * 1000) / 10}%`;
