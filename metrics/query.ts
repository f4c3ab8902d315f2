// The metric API: one function per metric, each running one file of sql/queries/ with bound
// parameters. Front ends (CLI, Slack bot, digests) call these and render the rows as they are.
import { isTimeZone, MAX_TIME_MS, MIN_TIME_MS, TIME_RANGE, toClickHouseTime } from "../core/time.ts";
import { sqlFile } from "../store/sql.ts";
import type { QueryParams, Store } from "../store/store.ts";
import type {
  AgingBand,
  AgingRow,
  AgingWipItem,
  CumulativeFlowRow,
  DistributionPeriodRow,
  FlowTimePoint,
  BottleneckReport,
  DistributionRow,
  EfficiencyRow,
  FlowTimeRow,
  FlowTimeSummary,
  FlowTimeTypeStats,
  ItemRef,
  ItemsBehindOptions,
  LoadRow,
  MetricFilters,
  OverviewFigureRow,
  Period,
  QueueGrowthRow,
  ResolvedFilters,
  StateTimeRow,
  VelocityRow,
} from "./api.ts";

const DAY_MS = 86_400_000;
export const DEFAULT_WINDOW_DAYS = 90;
const PERIODS: readonly Period[] = ["day", "week", "month"];

export class MetricError extends Error {
  override name = "MetricError";
}

/** Fills in the defaults: the last 90 days up to now, weekly, UTC, first_active, p85 over 90 days, 3 weeks. */
export function resolveFilters(filters: MetricFilters = {}, nowMs: number = Date.now()): ResolvedFilters {
  const untilMs = filters.untilMs ?? nowMs;
  // The default window is cut at the first instant the store holds rather than refused.
  const sinceMs = filters.sinceMs ?? Math.max(MIN_TIME_MS, untilMs - DEFAULT_WINDOW_DAYS * DAY_MS);
  // An exclusive end may sit one millisecond past the last instant the store holds.
  for (const [name, ms, last] of [["until", untilMs, MAX_TIME_MS + 1], ["since", sinceMs, MAX_TIME_MS]] as const) {
    if (!(Number.isFinite(ms) && ms >= MIN_TIME_MS && ms <= last)) {
      throw new MetricError(`${name} (${Number.isFinite(ms) ? ms : String(ms)} ms) is outside the dates the store holds (${TIME_RANGE})`);
    }
  }
  const resolved: ResolvedFilters = {
    stream: filters.stream ?? "",
    team: filters.team ?? "",
    flowType: filters.flowType ?? "",
    sinceMs,
    untilMs,
    period: filters.period ?? "week",
    timezone: filters.timezone ?? "UTC",
    flowTimeStart: filters.flowTimeStart ?? "first_active",
    agingPercentile: filters.agingPercentile ?? 0.85,
    agingBaselineDays: filters.agingBaselineDays ?? 90,
    growthWeeks: filters.growthWeeks ?? 3,
  };
  if (!(sinceMs < untilMs)) throw new MetricError(`the window is empty: since (${new Date(sinceMs).toISOString()}) must be before until (${new Date(untilMs).toISOString()})`);
  if (!PERIODS.includes(resolved.period)) throw new MetricError(`period must be one of ${PERIODS.join(", ")}, not "${resolved.period}"`);
  if (!isTimeZone(resolved.timezone)) throw new MetricError(`unknown time zone "${resolved.timezone}" (use an IANA name such as UTC or America/New_York)`);
  if (!(resolved.agingPercentile > 0 && resolved.agingPercentile < 1)) throw new MetricError("aging percentile must be between 0 and 1 (exclusive)");
  if (!Number.isInteger(resolved.agingBaselineDays) || resolved.agingBaselineDays < 1) throw new MetricError("aging baseline must be a whole number of days, at least 1");
  if (!Number.isInteger(resolved.growthWeeks) || resolved.growthWeeks < 1) throw new MetricError("growing-queue weeks must be a whole number, at least 1");
  return resolved;
}

/** The window of the same length just before since..until, to show change against it. */
export function previousWindow(filters: MetricFilters = {}, nowMs: number = Date.now()): ResolvedFilters {
  const current = resolveFilters(filters, nowMs);
  const length = current.untilMs - current.sinceMs;
  return { ...current, sinceMs: Math.max(MIN_TIME_MS, current.sinceMs - length), untilMs: current.sinceMs };
}

/** Every query gets the same parameters; each file uses the ones it needs. */
function params(filters: MetricFilters, extra: QueryParams = {}): QueryParams {
  const f = resolveFilters(filters);
  return {
    stream: f.stream,
    team: f.team,
    flow_type: f.flowType,
    since: toClickHouseTime(f.sinceMs),
    until: toClickHouseTime(f.untilMs),
    period: f.period,
    tz: f.timezone,
    flow_time_start: f.flowTimeStart,
    percentile: f.agingPercentile,
    baseline_days: f.agingBaselineDays,
    growth_weeks: f.growthWeeks,
    ...extra,
  };
}

function run<T>(store: Store, file: string, filters: MetricFilters, extra?: QueryParams): Promise<T[]> {
  return store.query<T>(sqlFile(`queries/${file}`), params(filters, extra));
}

/** Items finished 'done' per period (of finished_at, in the zone) and type. */
export function velocity(store: Store, filters: MetricFilters = {}): Promise<VelocityRow[]> {
  return run<VelocityRow>(store, "velocity.sql", filters);
}

/** Flow time percentiles (days) of the items finished 'done', per period and type. */
export async function flowTime(store: Store, filters: MetricFilters = {}): Promise<FlowTimeRow[]> {
  const rows = await run<FlowTimeRow & { q?: unknown }>(store, "flow_time.sql", filters);
  // q is the percentile array the SQL reads its columns from; the contract has the named columns.
  return rows.map(({ q: _q, ...row }) => row);
}

interface SummaryRow { scope: "all" | "type"; group_type: string; items: number; p50_days: number; p85_days: number; p95_days: number; mean_days: number }

/**
 * Flow time over the whole window (period and zone do not apply): percentiles over all items of
 * every type, and per type. Same items and definitions as flowTime().
 */
export async function flowTimeSummary(store: Store, filters: MetricFilters = {}): Promise<FlowTimeSummary> {
  const rows = await run<SummaryRow>(store, "flow_time_summary.sql", filters);
  const all = rows.find((row) => row.scope === "all");
  const byType: FlowTimeTypeStats[] = rows
    .filter((row) => row.scope === "type")
    .map((row) => ({ flow_type: row.group_type, items: row.items, p50_days: row.p50_days, p85_days: row.p85_days, p95_days: row.p95_days, mean_days: row.mean_days }));
  if (!all) return { items: 0, p50_days: null, p85_days: null, p95_days: null, mean_days: null, byType };
  return { items: all.items, p50_days: all.p50_days, p85_days: all.p85_days, p95_days: all.p95_days, mean_days: all.mean_days, byType };
}

/** sum(active) / sum(flow) of the items finished 'done', per period and type. */
export function efficiency(store: Store, filters: MetricFilters = {}): Promise<EfficiencyRow[]> {
  return run<EfficiencyRow>(store, "efficiency.sql", filters);
}

/** WIP at the end of each day of the window, per type (the last day: as of until). */
export async function load(store: Store, filters: MetricFilters = {}): Promise<LoadRow[]> {
  return (await loadWithStart(store, filters)).days;
}

/**
 * load()'s rows and, from the same pass over the stays, the WIP per type as of `since` (the
 * previous window's end): for every type with a row, 0 when none of its items was in progress then.
 */
export async function loadWithStart(store: Store, filters: MetricFilters = {}): Promise<{ days: LoadRow[]; atSince: { flow_type: string; wip: number }[] }> {
  const rows = await run<LoadRow & { wip_at_since: number }>(store, "load.sql", filters);
  const atSince = new Map<string, number>();
  for (const row of rows) atSince.set(row.flow_type, row.wip_at_since);
  return {
    days: rows.map(({ day, flow_type, wip }) => ({ day, flow_type, wip })),
    atSince: [...atSince].map(([flow_type, wip]) => ({ flow_type, wip })),
  };
}

/** Share of each type among the items finished in the window and among the WIP now. */
export function distribution(store: Store, filters: MetricFilters = {}): Promise<DistributionRow[]> {
  return run<DistributionRow>(store, "distribution.sql", filters);
}

/** Time spent per state: each item's closed stays there added up, counted in the window in which it last left the state. */
export async function timeInState(store: Store, filters: MetricFilters = {}): Promise<StateTimeRow[]> {
  const rows = await run<StateTimeRow & { q?: unknown }>(store, "time_in_state.sql", filters);
  return rows.map(({ q: _q, ...row }) => row);
}

/** Default cap on listed aging items: a chat message or a terminal has room for a few. */
export const DEFAULT_AGING_LIMIT = 200;

/** WIP items older than the configured percentile of their type's recent flow time, most overdue first. */
export function aging(store: Store, filters: MetricFilters = {}, options: { limit?: number } = {}): Promise<AgingRow[]> {
  return run<AgingRow>(store, "aging.sql", filters, { limit: checkedLimit(options.limit ?? DEFAULT_AGING_LIMIT) });
}

/** Active/waiting states whose week-end count grew for growthWeeks weeks in a row. */
export function growingQueues(store: Store, filters: MetricFilters = {}): Promise<QueueGrowthRow[]> {
  return run<QueueGrowthRow>(store, "queue_growth.sql", filters);
}

/**
 * The three bottleneck signals together, side by side on the store's two sessions: 0.27-0.32 s
 * against 0.33-0.47 s in a row at 1M items (session 11). When every query still read every item,
 * side by side had measured no faster (546 ms p95 against 65 + 140 + 230 ms alone). The
 * dashboard's bottleneck view and the bot's /flow bottlenecks wait for all three.
 */
export async function bottlenecks(store: Store, filters: MetricFilters = {}): Promise<BottleneckReport> {
  const [timeInStateRows, agingRows, queues] = await Promise.all([timeInState(store, filters), aging(store, filters), growingQueues(store, filters)]);
  return { timeInState: timeInStateRows, aging: agingRows, growingQueues: queues };
}

/** The slowest items finished in the window, or the oldest WIP now, for links behind a figure. */
export async function itemsBehind(store: Store, filters: MetricFilters, options: ItemsBehindOptions): Promise<ItemRef[]> {
  return run<ItemRef>(store, "items_behind.sql", filters, { which: options.which, limit: checkedLimit(options.limit ?? 5) });
}

function checkedLimit(limit: number): number {
  if (!Number.isInteger(limit) || limit < 1) throw new MetricError("the number of items must be a whole number, at least 1");
  return limit;
}

/** Default cap on the points of the flow time scatterplot and the aging chart. */
export const DEFAULT_POINTS_LIMIT = 5_000;

/** The items finished 'done' in the window with their flow time, newest first (the scatterplot). */
export function flowTimePoints(store: Store, filters: MetricFilters = {}, options: { limit?: number } = {}): Promise<FlowTimePoint[]> {
  return run<FlowTimePoint>(store, "flow_time_points.sql", filters, { limit: checkedLimit(options.limit ?? DEFAULT_POINTS_LIMIT) });
}

/** Items per active/waiting state at the end of each day, and items done since the window began. */
export function cumulativeFlow(store: Store, filters: MetricFilters = {}): Promise<CumulativeFlowRow[]> {
  return run<CumulativeFlowRow>(store, "cumulative_flow.sql", filters);
}

/** Every item in WIP now with its state and age, oldest first (the aging chart). */
export function agingWip(store: Store, filters: MetricFilters = {}, options: { limit?: number } = {}): Promise<AgingWipItem[]> {
  return run<AgingWipItem>(store, "aging_wip.sql", filters, { limit: checkedLimit(options.limit ?? DEFAULT_POINTS_LIMIT) });
}

/** p50/p70/p85/p95 of the aging baseline's flow time, over all types and per type. */
export async function agingBands(store: Store, filters: MetricFilters = {}): Promise<AgingBand[]> {
  const rows = await run<Omit<AgingBand, "flow_type"> & { group_type: string; q?: unknown }>(store, "aging_bands.sql", filters);
  return rows.map(({ group_type, q: _q, ...row }) => ({ flow_type: group_type, ...row }));
}

/**
 * Flow distribution per period: each type's share of the items finished 'done' in the period
 * (velocity()'s rows) and of the WIP at the end of the period's last day in the window (load()'s
 * rows). Two queries, the same definitions as velocity and load; the shares are computed here.
 */
export async function distributionOverTime(store: Store, filters: MetricFilters = {}): Promise<DistributionPeriodRow[]> {
  const resolved = resolveFilters(filters);
  const [done, wip] = [await velocity(store, filters), await load(store, filters)];
  const lastDay = new Map<string, string>();
  for (const row of wip) {
    const start = periodStart(row.day, resolved.period);
    if ((lastDay.get(start) ?? "") < row.day) lastDay.set(start, row.day);
  }
  const counts: Omit<DistributionPeriodRow, "share">[] = [
    ...done.map((row) => ({ period_start: row.period_start, scope: "completed" as const, flow_type: row.flow_type, items: row.items })),
    ...wip
      .filter((row) => row.wip > 0 && lastDay.get(periodStart(row.day, resolved.period)) === row.day)
      .map((row) => ({ period_start: periodStart(row.day, resolved.period), scope: "wip" as const, flow_type: row.flow_type, items: row.wip })),
  ];
  const totals = new Map<string, number>();
  for (const row of counts) totals.set(`${row.scope}|${row.period_start}`, (totals.get(`${row.scope}|${row.period_start}`) ?? 0) + row.items);
  return counts
    .map((row) => ({ ...row, share: Math.round((row.items / totals.get(`${row.scope}|${row.period_start}`)!) * 10_000) / 10_000 }))
    .sort((a, b) => a.scope.localeCompare(b.scope) || a.period_start.localeCompare(b.period_start) || a.flow_type.localeCompare(b.flow_type));
}

/** The local day (YYYY-MM-DD) a period starts on: the day itself, its Monday, or its month's first. */
export function periodStart(day: string, period: Period): string {
  if (period === "day") return day;
  if (period === "month") return day.slice(0, 8) + "01";
  const ms = Date.parse(day + "T00:00:00Z");
  const sinceMonday = (new Date(ms).getUTCDay() + 6) % 7;
  return new Date(ms - sinceMonday * DAY_MS).toISOString().slice(0, 10);
}

/**
 * The window's and the previous window's (same length, just before) velocity, flow time and
 * efficiency in one pass: the same items and definitions as velocity(), flowTimeSummary(),
 * flowTime() and efficiency(), grouped for an overview.
 */
export async function overviewFigures(store: Store, filters: MetricFilters = {}): Promise<OverviewFigureRow[]> {
  const previous = previousWindow(filters);
  const rows = await run<Omit<OverviewFigureRow, "flow_type" | "period_start"> & { group_type: string; group_period: string; q?: unknown }>(
    store, "overview.sql", filters, { previous_since: toClickHouseTime(previous.sinceMs) },
  );
  return rows.map(({ group_type, group_period, q: _q, ...row }) => ({ ...row, flow_type: group_type, period_start: group_period }));
}
