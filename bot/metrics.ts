// The part of the metric API (metrics/query.ts) the bot uses, bound to one store and to the
// config's metric defaults (zone, flow-time rule, aging percentile). The bot has no metric SQL of
// its own: every front end runs the same queries.
import type {
  AgingRow, BottleneckReport, DistributionRow, EfficiencyRow, FlowTimeRow, FlowTimeSummary, ItemRef, LoadRow, MetricFilters, QueueGrowthRow, VelocityRow,
} from "../metrics/api.ts";
import * as api from "../metrics/query.ts";
import { DEFAULT_FORECAST_SETTINGS, forecastHowMany, forecastWhen, type ForecastScope, type ForecastSettings, type HowManyForecast, type WhenForecast } from "../metrics/forecast-query.ts";
import { sqlFile } from "../store/sql.ts";
import type { Store } from "../store/store.ts";

/** How long the store's names are reused: one scan of work_items is ~15 ms per 200k items. */
const NAMES_TTL_MS = 60_000;

/** The names the store holds, per kind, sorted (sql/queries/names.sql). */
export interface StoreNames { team: string[]; stream: string[]; type: string[] }

export interface BotMetrics {
  velocity(filters: MetricFilters): Promise<VelocityRow[]>;
  flowTime(filters: MetricFilters): Promise<FlowTimeRow[]>;
  /** Flow time over the whole window: percentiles over all items, and per type. */
  flowTimeSummary(filters: MetricFilters): Promise<FlowTimeSummary>;
  efficiency(filters: MetricFilters): Promise<EfficiencyRow[]>;
  load(filters: MetricFilters): Promise<LoadRow[]>;
  distribution(filters: MetricFilters): Promise<DistributionRow[]>;
  bottlenecks(filters: MetricFilters): Promise<BottleneckReport>;
  aging(filters: MetricFilters): Promise<AgingRow[]>;
  growingQueues(filters: MetricFilters): Promise<QueueGrowthRow[]>;
  /** The completed items behind a figure, slowest first. */
  slowest(filters: MetricFilters, limit: number): Promise<ItemRef[]>;
  /** The items in WIP now, oldest first. */
  oldest(filters: MetricFilters, limit: number): Promise<ItemRef[]>;
  /** When will `items` items of the scope be done (metrics/forecast-query.ts). */
  forecastWhen(scope: ForecastScope, items: number): Promise<WhenForecast>;
  /** How many items of the scope will be done from today through `by` (YYYY-MM-DD). */
  forecastHowMany(scope: ForecastScope, by: string): Promise<HowManyForecast>;
  /**
   * Teams, streams and item types present in the store; remembered for a minute unless `fresh`
   * (a name not found is looked up fresh before it is refused, so a new team is never refused).
   */
  names(fresh?: boolean): Promise<StoreNames>;
}

export function metricsFor(store: Store, defaults: MetricFilters = {}, forecast: ForecastSettings = DEFAULT_FORECAST_SETTINGS): BotMetrics {
  const f = (filters: MetricFilters): MetricFilters => ({ ...defaults, ...definedOnly(filters) });
  const scoped = (scope: ForecastScope): ForecastScope => ({ timezone: defaults.timezone, ...definedOnly(scope) });
  let names: { at: number; value: StoreNames } | undefined;
  return {
    velocity: (filters) => api.velocity(store, f(filters)),
    flowTime: (filters) => api.flowTime(store, f(filters)),
    flowTimeSummary: (filters) => api.flowTimeSummary(store, f(filters)),
    efficiency: (filters) => api.efficiency(store, f(filters)),
    load: (filters) => api.load(store, f(filters)),
    distribution: (filters) => api.distribution(store, f(filters)),
    bottlenecks: (filters) => api.bottlenecks(store, f(filters)),
    aging: (filters) => api.aging(store, f(filters)),
    growingQueues: (filters) => api.growingQueues(store, f(filters)),
    slowest: (filters, limit) => api.itemsBehind(store, f(filters), { which: "slowest", limit }),
    oldest: (filters, limit) => api.itemsBehind(store, f(filters), { which: "oldest", limit }),
    forecastWhen: (scope, items) => forecastWhen(store, scoped(scope), items, forecast),
    forecastHowMany: (scope, by) => forecastHowMany(store, scoped(scope), by, forecast),
    async names(fresh = false) {
      if (!fresh && names && Date.now() - names.at < NAMES_TTL_MS) return names.value;
      const [row] = await store.query<StoreNames>(sqlFile("queries/names.sql"));
      names = { at: Date.now(), value: { team: row?.team ?? [], stream: row?.stream ?? [], type: row?.type ?? [] } };
      return names.value;
    },
  };
}

/** Drops unset keys so they do not override the defaults. */
function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined && v !== "")) as Partial<T>;
}
