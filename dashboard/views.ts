// Each view's data: the metric API's functions (metrics/query.ts) with the filters the browser
// asked for, nothing else. The overview sets each figure beside the same figure of the window just
// before, per flow item type, with its trend per period.
import type {
  AgingBand, AgingRow, AgingWipItem, CumulativeFlowRow, DistributionPeriodRow, DistributionRow, EfficiencyRow, FlowTimeRow,
  FlowTimeSummary, FlowTimePoint, LoadRow, MetricFilters, QueueGrowthRow, ResolvedFilters, StateTimeRow, VelocityRow,
} from "../metrics/api.ts";
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
  // The WIP at the previous window's end is the last row of a one-day load ending there.
  const previousEnd: MetricFilters = { ...previous, sinceMs: Math.max(previous.sinceMs, previous.untilMs - 1) };
  // Nine queries side by side (the store runs two at a time). The distribution figure is the
  // completed share, which is each type's velocity over the total: the same items as
  // distribution.sql's 'completed' scope, so it needs no query of its own.
  const [velocity, summary, time, efficiency, load, prevVelocity, prevSummary, prevEfficiency, prevLoad] = await Promise.all([
    metrics.velocity(store, current),
    metrics.flowTimeSummary(store, current),
    metrics.flowTime(store, current),
    metrics.efficiency(store, current),
    metrics.load(store, current),
    metrics.velocity(store, previous),
    metrics.flowTimeSummary(store, previous),
    metrics.efficiency(store, previous),
    metrics.load(store, previousEnd),
  ]);
  const types = [...new Set([...velocity, ...load, ...prevVelocity, ...prevLoad].map((row) => row.flow_type))].sort();
  const periods = [...new Set(velocity.map((row) => row.period_start))].sort();
  const days = [...new Set(load.map((row) => row.day))].sort();
  const totalDone = sum(velocity.map((row) => row.items));
  const prevTotalDone = sum(prevVelocity.map((row) => row.items));
  const lastDay = days.at(-1);
  const prevLastDay = [...new Set(prevLoad.map((row) => row.day))].sort().at(-1);
  const doneIn = (rows: VelocityRow[], type: string | null) => sum(rows.filter((row) => type === null || row.flow_type === type).map((row) => row.items));
  const wipOn = (rows: LoadRow[], day: string | undefined, type: string | null) =>
    day === undefined ? null : sum(rows.filter((row) => row.day === day && (type === null || row.flow_type === type)).map((row) => row.wip));
  const efficiencyOf = (rows: EfficiencyRow[], type: string | null) => {
    const chosen = rows.filter((row) => type === null || row.flow_type === type);
    const active = sum(chosen.map((row) => row.active_days));
    const flow = active + sum(chosen.map((row) => row.wait_days));
    return flow > 0 ? round(active / flow, 4) : null;
  };
  const p85 = (s: FlowTimeSummary, type: string | null) => (type === null ? s.p85_days : (s.byType.find((row) => row.flow_type === type)?.p85_days ?? null));
  const timeTrend = (rows: FlowTimeRow[], type: string | null) =>
    periods.map((period_start) => ({
      period_start,
      value: type === null ? null : (rows.find((row) => row.period_start === period_start && row.flow_type === type)?.p85_days ?? null),
    }));
  const row = (type: string | null): OverviewRow => ({
    flow_type: type ?? ALL_TYPES,
    velocity: {
      current: doneIn(velocity, type),
      previous: doneIn(prevVelocity, type),
      trend: periods.map((period_start) => ({ period_start, value: doneIn(velocity.filter((r) => r.period_start === period_start), type) })),
    },
    // Percentiles of all types together cannot be built from per-type rows per period, so the
    // all-types trend is left out rather than guessed.
    time: { current: p85(summary, type), previous: p85(prevSummary, type), trend: timeTrend(time, type) },
    efficiency: {
      current: efficiencyOf(efficiency, type),
      previous: efficiencyOf(prevEfficiency, type),
      trend: periods.map((period_start) => ({ period_start, value: efficiencyOf(efficiency.filter((r) => r.period_start === period_start), type) })),
    },
    load: {
      current: wipOn(load, lastDay, type),
      previous: wipOn(prevLoad, prevLastDay, type),
      trend: days.map((day) => ({ period_start: day, value: wipOn(load, day, type) })),
    },
    distribution: {
      current: type === null ? (totalDone > 0 ? 1 : null) : totalDone > 0 ? round(doneIn(velocity, type) / totalDone, 4) : null,
      previous: type === null ? (prevTotalDone > 0 ? 1 : null) : prevTotalDone > 0 ? round(doneIn(prevVelocity, type) / prevTotalDone, 4) : null,
      trend: periods.map((period_start) => {
        const inPeriod = velocity.filter((r) => r.period_start === period_start);
        const all = doneIn(inPeriod, null);
        return { period_start, value: all > 0 ? round(doneIn(inPeriod, type) / all, 4) : null };
      }),
    },
  });
  return { previous: { sinceMs: previous.sinceMs, untilMs: previous.untilMs }, rows: [row(null), ...types.map(row)] };
}

const sum = (values: number[]) => values.reduce((total, value) => total + value, 0);
/** Rounds as ClickHouse's round() does floats (ties to even), so a share equals the SQL's to the last digit. */
function round(value: number, places: number): number {
  const scaled = value * 10 ** places;
  const nearest = Math.round(scaled);
  const tie = Math.abs(scaled - Math.trunc(scaled)) === 0.5;
  return (tie && nearest % 2 !== 0 ? nearest - 1 : nearest) / 10 ** places;
}
