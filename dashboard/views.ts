// Each view's data: the metric API's functions (metrics/query.ts) with the filters the browser
// asked for, nothing else. The overview sets each figure beside the same figure of the window just
// before, per flow item type, with its trend per period.
import type {
  AgingBand, AgingRow, AgingWipItem, CumulativeFlowRow, DistributionPeriodRow, DistributionRow,
  FlowTimeSummary, FlowTimePoint, LoadRow, MetricFilters, QueueGrowthRow, ResolvedFilters, StateTimeRow, VelocityRow,
} from "../metrics/api.ts";
import {
  calibrationVerdict, DEFAULT_FORECAST_SETTINGS, forecastHowMany, forecastWhen, type Forecast, type ForecastQuestion, type ForecastSettings,
} from "../metrics/forecast-query.ts";
import * as metrics from "../metrics/query.ts";
import type { Store } from "../store/store.ts";
import type { ViewName } from "./filters.ts";

/** A WIP limit some config sets (a Slack `wip` alert rule) and the scope it watches. */
export interface WipLimit { name: string; limit: number; stream?: string; team?: string; flow_type?: string }

export interface ViewContext {
  store: Store;
  wipLimits: readonly WipLimit[];
  /** Cap on points drawn in the scatterplot and the aging chart. */
  pointsLimit: number;
  /** The forecast view's question and the config's metrics.forecast settings, as the CLI uses them. */
  forecast?: { question: ForecastQuestion; settings: ForecastSettings };
}

/** One figure of the overview for one type (or all types): this window, the one before, per period. */
export interface Figure { current: number | null; previous: number | null; trend: { period_start: string; value: number | null }[] }
export interface OverviewRow {
  flow_type: string;
  velocity: Figure;
  /** Flow time p85 (days). */
  time: Figure;
  efficiency: Figure;
  /** WIP at the window's end; trend per day. */
  load: Figure;
  /** Share of the items finished in the window; trend per period. */
  distribution: Figure;
}
export interface Overview { previous: { sinceMs: number; untilMs: number }; rows: OverviewRow[] }

export interface ViewData {
  overview: Overview;
  "flow-time": { points: FlowTimePoint[]; summary: FlowTimeSummary; limit: number };
  cfd: { rows: CumulativeFlowRow[] };
  throughput: { rows: VelocityRow[] };
  load: { rows: LoadRow[]; limits: WipLimit[] };
  aging: { items: AgingWipItem[]; bands: AgingBand[]; percentile: number; limit: number };
  distribution: { window: DistributionRow[]; periods: DistributionPeriodRow[] };
  bottlenecks: { timeInState: StateTimeRow[]; aging: AgingRow[]; growingQueues: QueueGrowthRow[] };
  /** The forecast exactly as forecastWhen / forecastHowMany return it, and the calibration's one-line reading. */
  forecast: { forecast: Forecast; verdict: string };
}

export const ALL_TYPES = "all types";

export async function viewData<V extends ViewName>(view: V, filters: MetricFilters, context: ViewContext): Promise<ViewData[V]> {
  const { store } = context;
  const resolved = metrics.resolveFilters(filters);
  let data: ViewData[ViewName];
  switch (view) {
    case "overview":
      data = await overview(store, filters);
      break;
    case "flow-time": {
      const [points, summary] = await Promise.all([
        metrics.flowTimePoints(store, filters, { limit: context.pointsLimit }),
        metrics.flowTimeSummary(store, filters),
      ]);
      data = { points, summary, limit: context.pointsLimit };
      break;
    }
    case "cfd":
      data = { rows: await metrics.cumulativeFlow(store, filters) };
      break;
    case "throughput":
      data = { rows: await metrics.velocity(store, filters) };
      break;
    case "load":
      data = { rows: await metrics.load(store, filters), limits: limitsFor(context.wipLimits, resolved) };
      break;
    case "aging": {
      const [items, bands] = await Promise.all([
        metrics.agingWip(store, filters, { limit: context.pointsLimit }),
        metrics.agingBands(store, filters),
      ]);
      data = { items, bands, percentile: resolved.agingPercentile, limit: context.pointsLimit };
      break;
    }
    case "distribution": {
      const [window, periods] = await Promise.all([metrics.distribution(store, filters), metrics.distributionOverTime(store, filters)]);
      data = { window, periods };
      break;
    }
    case "bottlenecks":
      data = await metrics.bottlenecks(store, filters);
      break;
    case "forecast": {
      // A forecast looks ahead from today: the page's window, since and until do not apply to it.
      const { question, settings } = context.forecast ?? { question: { kind: "when", items: 30 }, settings: DEFAULT_FORECAST_SETTINGS };
      const scope = { stream: filters.stream, team: filters.team, flowType: filters.flowType, timezone: resolved.timezone };
      const forecast = question.kind === "when"
        ? await forecastWhen(store, scope, question.items, settings)
        : await forecastHowMany(store, scope, question.by, settings);
      data = { forecast, verdict: calibrationVerdict(forecast.calibration) };
      break;
    }
    default:
      throw new Error(`no view "${String(view)}"`);
  }
  return data as ViewData[V];
}

/** The WIP limits whose scope is exactly the page's: same stream, team and type (unset = all). */
function limitsFor(limits: readonly WipLimit[], filters: ResolvedFilters): WipLimit[] {
  return limits.filter(
    (limit) => (limit.stream ?? "") === filters.stream && (limit.team ?? "") === filters.team && (limit.flow_type ?? "") === filters.flowType,
  );
}

async function overview(store: Store, filters: MetricFilters): Promise<Overview> {
  const current = metrics.resolveFilters(filters);
  const previous = metrics.previousWindow(filters);
  // The WIP at the previous window's end (= this window's start) comes with this window's load.
  const [figures, { days: load, atSince }] = await Promise.all([metrics.overviewFigures(store, current), metrics.loadWithStart(store, current)]);
  // With no stay in this window there are no rows to carry it: a one-day load ending there says
  // whether the previous window ended with nothing in progress (0) or had no stays at all (none).
  const prevLoad: LoadRow[] =
    load.length > 0
      ? atSince.map(({ flow_type, wip }) => ({ day: "since", flow_type, wip }))
      : await metrics.load(store, { ...previous, sinceMs: Math.max(previous.sinceMs, previous.untilMs - 1) });
  const whole = (window: "current" | "previous", type: string) => figures.find((r) => r.window === window && r.flow_type === type && r.period_start === "");
  const types = [...new Set([...figures.map((r) => r.flow_type).filter(Boolean), ...load.map((r) => r.flow_type), ...prevLoad.map((r) => r.flow_type)])].sort();
  const periods = [...new Set(figures.filter((r) => r.period_start !== "").map((r) => r.period_start))].sort();
  const days = [...new Set(load.map((row) => row.day))].sort();
  const lastDay = days.at(-1);
  const prevLastDay = [...new Set(prevLoad.map((row) => row.day))].sort().at(-1);
  const wipOn = (rows: LoadRow[], day: string | undefined, type: string) =>
    day === undefined ? null : sum(rows.filter((row) => row.day === day && (type === "" || row.flow_type === type)).map((row) => row.wip));
  const inPeriod = (type: string, period: string) => figures.find((r) => r.window === "current" && r.flow_type === type && r.period_start === period);
  const trend = (type: string, value: (type: string, period: string) => number | null) => periods.map((period_start) => ({ period_start, value: value(type, period_start) }));
  const share = (window: "current" | "previous", type: string) => {
    const all = whole(window, "")?.items ?? 0;
    return all > 0 ? round((whole(window, type)?.items ?? 0) / all, 4) : null;
  };
  const row = (type: string): OverviewRow => ({
    flow_type: type || ALL_TYPES,
    velocity: {
      current: whole("current", type)?.items ?? 0,
      previous: whole("previous", type)?.items ?? 0,
      trend: trend(type, (t, p) => inPeriod(t, p)?.items ?? 0),
    },
    time: { current: whole("current", type)?.p85_days ?? null, previous: whole("previous", type)?.p85_days ?? null, trend: trend(type, (t, p) => inPeriod(t, p)?.p85_days ?? null) },
    efficiency: { current: whole("current", type)?.efficiency ?? null, previous: whole("previous", type)?.efficiency ?? null, trend: trend(type, (t, p) => inPeriod(t, p)?.efficiency ?? null) },
    load: {
      current: wipOn(load, lastDay, type),
      previous: wipOn(prevLoad, prevLastDay, type),
      trend: days.map((day) => ({ period_start: day, value: wipOn(load, day, type) })),
    },
    distribution: {
      current: share("current", type),
      previous: share("previous", type),
      trend: trend(type, (t, p) => {
        const all = inPeriod("", p)?.items ?? 0;
        return all > 0 ? round((inPeriod(t, p)?.items ?? 0) / all, 4) : null;
      }),
    },
  });
  return { previous: { sinceMs: previous.sinceMs, untilMs: previous.untilMs }, rows: [row(""), ...types.map(row)] };
}

const sum = (values: number[]) => values.reduce((total, value) => total + value, 0);
/** Rounds as ClickHouse's round() does floats (ties to even), so a share equals the SQL's to the last digit. */
function round(value: number, places: number): number {
  const scaled = value * 10 ** places;
  const nearest = Math.round(scaled);
  const tie = Math.abs(scaled - Math.trunc(scaled)) === 0.5;
  return (tie && nearest % 2 !== 0 ? nearest - 1 : nearest) / 10 ** places;
}
