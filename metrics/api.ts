// The metric API every front end uses (CLI, Slack bot, digests, alerts). Each metric is one .sql
// file under sql/queries/ run with bound parameters; these types are the contract.
import type { FlowState } from "../core/model.ts";

export const METRIC_NAMES = ["velocity", "time", "efficiency", "load", "distribution", "bottlenecks", "aging"] as const;
export type MetricName = (typeof METRIC_NAMES)[number];
export type Period = "day" | "week" | "month";

export interface MetricFilters {
  /** Value stream, e.g. "software", "orders", "incidents". Empty = all. */
  stream?: string;
  team?: string;
  /** Flow item type, e.g. "defect". */
  flowType?: string;
  /** Inclusive start / exclusive end, epoch ms UTC. Default: the last 90 days up to now. */
  sinceMs?: number;
  untilMs?: number;
  period?: Period;
  /** IANA zone whose calendar buckets the periods (config metrics.timezone). */
  timezone?: string;
  /** Flow-time start rule (config metrics.flow_time_start). */
  flowTimeStart?: "first_active" | "created";
  /** Aging WIP: percentile of the type's flow time an item's age must exceed (config metrics.aging_percentile). */
  agingPercentile?: number;
  /** Aging WIP: items finished in this many days before now set the threshold (config metrics.aging_baseline_days). */
  agingBaselineDays?: number;
  /** Growing queues: consecutive weekly increases that make a queue "growing". Default 3. */
  growthWeeks?: number;
}

/** MetricFilters with every default applied (what the queries actually ran with). */
export type ResolvedFilters = Required<MetricFilters>;

/** Which items behind a figure: the slowest finished in the window, or the oldest in WIP now. */
export interface ItemsBehindOptions { which: "slowest" | "oldest"; limit?: number }

/** One row per period and flow item type; totals are derivable by summing. */
export interface VelocityRow { period_start: string; flow_type: string; items: number }
export interface FlowTimeRow {
  period_start: string; flow_type: string; items: number;
  p50_days: number; p85_days: number; p95_days: number; mean_days: number;
}
/** Flow time figures over a set of items (days). */
export interface FlowTimeStats { items: number; p50_days: number; p85_days: number; p95_days: number; mean_days: number }
export interface FlowTimeTypeStats extends FlowTimeStats { flow_type: string }
/**
 * Flow time over the whole window, not split by period: over all items (every type) and per type.
 * Percentiles do not add up, so the overall figure is computed from the items, not from rows.
 * With no item, `items` is 0, the figures are null and `byType` is empty.
 */
export interface FlowTimeSummary {
  items: number;
  p50_days: number | null; p85_days: number | null; p95_days: number | null; mean_days: number | null;
  byType: FlowTimeTypeStats[];
}
export interface EfficiencyRow {
  period_start: string; flow_type: string; items: number;
  /** sum(active) / sum(flow) over the items, 0..1 */
  efficiency: number; active_days: number; wait_days: number;
}
export interface LoadRow { day: string; flow_type: string; wip: number }
export interface DistributionRow { scope: "completed" | "wip"; flow_type: string; items: number; share: number }
export interface StateTimeRow {
  state: string; flow_state: FlowState; items: number;
  median_days: number; p85_days: number; total_days: number;
}
export interface AgingRow {
  item_id: string; key: string; title: string; url: string; flow_type: string; team: string;
  current_state: string; age_days: number; threshold_days: number;
}
export interface QueueGrowthRow { state: string; weeks_growing: number; queue_now: number; queue_before: number }
export interface BottleneckReport { timeInState: StateTimeRow[]; aging: AgingRow[]; growingQueues: QueueGrowthRow[] }
/** A completed item behind a figure, for links ("the slowest"). */
export interface ItemRef { item_id: string; key: string; title: string; url: string; flow_type: string; days: number }

/** A point of the flow time scatterplot: one item finished 'done' in the window. */
export interface FlowTimePoint {
  item_id: string; key: string; title: string; url: string; flow_type: string; team: string;
  /** UTC, `YYYY-MM-DD hh:mm:ss.fff`. */
  finished_at: string; days: number;
}
/**
 * Cumulative flow at the end of a day: items in one active/waiting state (band 'wip') or finished
 * 'done' since the window began (band 'done', state ''). rank orders the states in the workflow.
 */
export interface CumulativeFlowRow { day: string; band: "wip" | "done"; state: string; rank: number; items: number }
/** An item in WIP now, for the aging chart; state_rank orders its state among the others. */
export interface AgingWipItem {
  item_id: string; key: string; title: string; url: string; flow_type: string; team: string;
  current_state: string; state_rank: number; age_days: number;
}
/** Flow time percentiles of the aging baseline, over all types (flow_type '') or one. */
export interface AgingBand { flow_type: string; items: number; p50_days: number; p70_days: number; p85_days: number; p95_days: number }
/** Share of a type per period: among the items finished in it, or the WIP at its last day in the window. */
export interface DistributionPeriodRow { period_start: string; scope: "completed" | "wip"; flow_type: string; items: number; share: number }
/**
 * Velocity, flow time and efficiency of a window and the one before it, over all types
 * (flow_type '') and per type, for the whole window (period_start '') and per period of the
 * current one. Figures with no item behind them are null.
 */
export interface OverviewFigureRow {
  window: "current" | "previous"; flow_type: string; period_start: string;
  items: number; flow_items: number; p50_days: number | null; p85_days: number | null; efficiency: number | null;
}
