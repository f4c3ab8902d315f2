// `flowpulse metrics <name>`: runs one metric of metrics/query.ts and prints its rows. The demo
// prints its sections through the same functions.
import type { Config } from "./config.ts";
import { METRIC_NAMES, type MetricFilters, type MetricName, type Period } from "../metrics/api.ts";
import * as metrics from "../metrics/query.ts";
import type { Store } from "../store/store.ts";
import { parseDateOption } from "./dates.ts";
import { UsageError } from "./errors.ts";
import { OUTPUT_FORMATS, pivotByType, render, renderJson, type OutputFormat, type Row } from "./render.ts";

export const PERIODS: readonly Period[] = ["day", "week", "month"];

export interface FilterOptions {
  type?: string;
  team?: string;
  stream?: string;
  since?: string;
  until?: string;
  period?: string;
}

export function outputFormat(text: string | undefined, allowed: readonly OutputFormat[] = OUTPUT_FORMATS): OutputFormat {
  const format = (text ?? "table") as OutputFormat;
  if (!allowed.includes(format)) throw new UsageError(`--format must be one of ${allowed.join(", ")}, not "${text}"`);
  return format;
}

export function metricName(text: string | undefined): MetricName {
  if (!text) throw new UsageError(`name a metric: ${METRIC_NAMES.join(", ")}`);
  if (!(METRIC_NAMES as readonly string[]).includes(text)) {
    throw new UsageError(`unknown metric "${text}"; use one of ${METRIC_NAMES.join(", ")}`);
  }
  return text as MetricName;
}

/** Command-line filters plus the config's metric settings. */
export function metricFilters(options: FilterOptions, config: Config): MetricFilters {
  const zone = config.metrics.timezone;
  if (options.period !== undefined && !(PERIODS as readonly string[]).includes(options.period)) {
    throw new UsageError(`--period must be one of ${PERIODS.join(", ")}, not "${options.period}"`);
  }
  const filters: MetricFilters = {
    timezone: zone,
    flowTimeStart: config.metrics.flow_time_start,
    agingPercentile: config.metrics.aging_percentile,
    agingBaselineDays: config.metrics.aging_baseline_days,
  };
  if (options.type) filters.flowType = options.type;
  if (options.team) filters.team = options.team;
  if (options.stream) filters.stream = options.stream;
  if (options.period) filters.period = options.period as Period;
  if (options.since) filters.sinceMs = parseDateOption("since", options.since, zone, "start");
  if (options.until) filters.untilMs = parseDateOption("until", options.until, zone, "end");
  return filters;
}

const CAPTIONS: Record<MetricName, (period: string) => string> = {
  velocity: (p) => `Flow velocity: items finished (done) per ${p}, by type`,
  time: (p) => `Flow time: days from start to finish of items done, per ${p}`,
  efficiency: (p) => `Flow efficiency: active time / flow time of items done, per ${p}`,
  load: () => "Flow load: work in progress (items in active or waiting states) at the end of each day",
  distribution: () => "Flow distribution: share of each type among items done in the window and in WIP now",
  bottlenecks: () => "Bottlenecks",
  aging: () => "Aging WIP: open items older than their type's usual flow time",
};

const AGING_FIELDS = ["key", "flow_type", "team", "current_state", "age_days", "threshold_days", "title"];

/** Renders one metric in the chosen format; tables get a caption and, for counts, a pivot by type. */
export async function renderMetric(store: Store, name: MetricName, filters: MetricFilters, format: OutputFormat, options: { top?: number } = {}): Promise<string> {
  const period = filters.period ?? "week";
  if (name === "bottlenecks") {
    const report = await metrics.bottlenecks(store, filters);
    if (format === "json") return renderJson(report);
    // CSV has one header: the time-in-state table, the main signal (aging has its own command).
    if (format === "csv") return render(report.timeInState as unknown as Row[], "csv");
    const top = options.top ?? Infinity;
    const byTotal = [...report.timeInState].sort((a, b) => b.total_days - a.total_days).slice(0, top);
    const aging = report.aging.slice(0, top);
    return [
      "Bottlenecks: time in state (each item's total, in the window it last left the state; most total time first)",
      render(byTotal as unknown as Row[], "table"),
      "Aging WIP (furthest past its type's threshold first)",
      render(aging as unknown as Row[], "table", { fields: AGING_FIELDS }),
      "Growing queues (count grew week over week)",
      render(report.growingQueues as unknown as Row[], "table"),
    ].join("\n");
  }
  const rows = (await runMetric(store, name, filters)) as Row[];
  if (format !== "table") return render(rows, format);
  const caption = CAPTIONS[name](period) + "\n";
  if (name === "time") return (await flowTimeSummaryTable(store, filters)) + "\n" + caption + render(rows, "table");
  if (name === "velocity") return caption + render(pivotByType(rows, "period_start", "items"), "table");
  if (name === "load") return caption + render(pivotByType(rows, "day", "wip"), "table");
  if (name === "aging") {
    const shown = options.top ? rows.slice(0, options.top) : rows;
    return caption + render(shown, "table", { fields: AGING_FIELDS });
  }
  return caption + render(rows, "table");
}

/**
 * Table output of `metrics time` starts with the whole window: percentiles over all items (every
 * type and period) and per type, which cannot be read off the per-period rows. JSON and CSV keep
 * the per-period rows only.
 */
async function flowTimeSummaryTable(store: Store, filters: MetricFilters): Promise<string> {
  const summary = await metrics.flowTimeSummary(store, filters);
  const heading = "Flow time over the whole window (all periods), days from start to finish of items done\n";
  if (summary.items === 0) return heading + "(no items)\n";
  const rows: Row[] = [{ ...summary, flow_type: "all types" }, ...summary.byType.map((row) => ({ ...row }))];
  return heading + render(rows, "table", { fields: ["flow_type", "items", "p50_days", "p85_days", "p95_days", "mean_days"] });
}

export async function runMetric(store: Store, name: Exclude<MetricName, "bottlenecks">, filters: MetricFilters): Promise<unknown[]> {
  switch (name) {
    case "velocity": return metrics.velocity(store, filters);
    case "time": return metrics.flowTime(store, filters);
    case "efficiency": return metrics.efficiency(store, filters);
    case "load": return metrics.load(store, filters);
    case "distribution": return metrics.distribution(store, filters);
    case "aging": return metrics.aging(store, filters);
  }
}
