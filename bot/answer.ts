// Turns a parsed `/flow` command into a MetricAnswer by asking the metric API for this window and
// the same-length window before it. Counts are summed from the API's per-type rows; flow time
// percentiles come from the API's whole-window summary (percentiles cannot be summed). An answer's
// queries are independent and run side by side, on the store's two sessions when it is embedded.
import type { AgingRow, BottleneckReport, FlowTimeRow, ItemRef, MetricFilters, MetricName, Period, QueueGrowthRow } from "../metrics/api.ts";
import type { ItemLine, MetricAnswer } from "./blocks/answer.ts";
import { formatCount, formatDays, formatPercent } from "./blocks/format.ts";
import { localMidnight } from "../core/time.ts";
import { DEFAULT_AGING_LIMIT } from "../metrics/query.ts";
import type { BotMetrics } from "./metrics.ts";
import { previousWindowOf } from "./parse.ts";

type Window = MetricFilters & { sinceMs: number; untilMs: number };

const TITLES: Record<MetricName, string> = {
  velocity: "Flow velocity",
  time: "Flow time",
  efficiency: "Flow efficiency",
  load: "Flow load (WIP)",
  distribution: "Flow distribution",
  bottlenecks: "Bottlenecks",
  aging: "Aging work in progress",
};

export function scopeLabel(filters: MetricFilters): string {
  const parts: string[] = [];
  if (filters.flowType) parts.push(`${filters.flowType} items`);
  if (filters.team) parts.push(`team ${filters.team}`);
  if (filters.stream) parts.push(`stream ${filters.stream}`);
  if (filters.period) parts.push(`by ${filters.period}`);
  return parts.join(" · ");
}

function sumBy<T>(rows: readonly T[], key: (row: T) => string, value: (row: T) => number): Map<string, number> {
  const totals = new Map<string, number>();
  for (const row of rows) totals.set(key(row), (totals.get(key(row)) ?? 0) + value(row));
  return totals;
}

const total = <T>(rows: readonly T[], value: (row: T) => number) => rows.reduce((sum, row) => sum + value(row), 0);

function agingLines(rows: readonly AgingRow[]): ItemLine[] {
  return rows.map((row) => ({
    key: row.key,
    url: row.url,
    title: row.title,
    detail: `${formatDays(row.age_days)} in flow (limit ${formatDays(row.threshold_days)}), now ${row.current_state}`,
  }));
}

export async function computeAnswer(
  metrics: BotMetrics,
  metric: MetricName,
  filters: Window,
  windowLabel: string,
): Promise<MetricAnswer> {
  const previous: Window = { ...filters, ...previousWindowOf(filters) };
  // Per-type breakdown and change figures use one bucket for the whole window unless asked.
  const whole: Window = { ...filters, period: filters.period ?? "month" };
  const base = { title: TITLES[metric], windowLabel, scopeLabel: scopeLabel(filters), notes: [] as string[] };
  const periodTitle = (period: Period | undefined) => `Per ${period ?? "month"}`;
  const partial = partialLabel(filters);

  const refLines = (items: ItemRef[], verb: string): ItemLine[] =>
    items.map((item) => ({ key: item.key, url: item.url, title: item.title, detail: `${formatDays(item.days)} ${verb} (${item.flow_type})` }));
  const slowestList = async () => refLines(await metrics.slowest(filters, 5), "flow time");
  const oldestList = async () => refLines(await metrics.oldest(filters, 5), "in progress");

  switch (metric) {
    case "velocity": {
      const [now, before, slowest, oldest] = await Promise.all([
        metrics.velocity(whole), metrics.velocity({ ...previous, period: whole.period }), slowestList(), oldestList(),
      ]);
      const byType = sumBy(now, (row) => row.flow_type, (row) => row.items);
      return {
        ...base,
        value: total(now, (row) => row.items),
        kind: "count",
        caption: `${total(now, (row) => row.items) === 1 ? "item" : "items"} delivered`,
        previous: total(before, (row) => row.items),
        higherIsBetter: true,
        breakdown: [...byType].map(([type, items]) => ({ label: type, value: String(items) })),
        ...(filters.period ? { series: { title: periodTitle(filters.period), lines: seriesLines(sumBy(now, (row) => row.period_start, (row) => row.items), String, partial) } } : {}),
        lists: [
          { title: "Slowest delivered", items: slowest },
          { title: "Oldest work in progress", items: oldest },
        ],
      };
    }
    case "time": {
      // Percentiles over all items of the window (they do not add up from per-type or per-period
      // rows); the headline is the p85 teams forecast with, compared with the window before.
      const [now, before, slowest, series] = await Promise.all([
        metrics.flowTimeSummary(filters), metrics.flowTimeSummary(previous), slowestList(), filters.period ? metrics.flowTime(filters) : [],
      ]);
      const none = now.items === 0 || now.p85_days === null;
      return {
        ...base,
        value: now.p85_days ?? NaN,
        kind: "days",
        caption: none ? "no items finished in this window" : `p85 flow time (p50 ${formatDays(now.p50_days ?? NaN)}) over ${formatCount(now.items, "finished item")}`,
        ...(before.p85_days !== null ? { previous: before.p85_days } : {}),
        ...(none ? { hideChange: true } : {}),
        higherIsBetter: false,
        breakdown: now.byType.map((row) => ({ label: `${row.flow_type} (${row.items})`, value: `p50 ${formatDays(row.p50_days)} · p85 ${formatDays(row.p85_days)}` })),
        ...(filters.period ? { series: { title: `${periodTitle(filters.period)}: p85 by type`, lines: periodPercentiles(series, partial) } } : {}),
        lists: [{ title: "Slowest delivered", items: slowest }],
      };
    }
    case "efficiency": {
      const [now, before, slowest] = await Promise.all([metrics.efficiency(whole), metrics.efficiency({ ...previous, period: whole.period }), slowestList()]);
      const ratio = (rows: typeof now) => {
        const active = total(rows, (row) => row.active_days);
        const flow = active + total(rows, (row) => row.wait_days);
        return flow > 0 ? active / flow : NaN;
      };
      const types = [...new Set(now.map((row) => row.flow_type))];
      const value = ratio(now);
      return {
        ...base,
        value: Number.isFinite(value) ? value : 0,
        kind: "share",
        caption: "of flow time was active work",
        ...(before.length ? { previous: ratio(before) } : {}),
        higherIsBetter: true,
        breakdown: types.map((type) => ({ label: type, value: formatPercent(ratio(now.filter((row) => row.flow_type === type))) })),
        ...(filters.period ? {
          series: {
            title: periodTitle(filters.period),
            lines: [...new Set(now.map((row) => row.period_start))].map((p) => `${partial(p)}  ${formatPercent(ratio(now.filter((row) => row.period_start === p)))}`),
          },
        } : {}),
        lists: [{ title: "Slowest delivered", items: slowest }],
        ...(now.length === 0 ? { notes: ["No items finished in this window."] } : {}),
      };
    }
    case "load": {
      const [now, before, oldest] = await Promise.all([metrics.load(filters), metrics.load(previous), oldestList()]);
      const lastDay = (rows: typeof now) => rows.reduce((max, row) => (row.day > max ? row.day : max), "");
      const wipOn = (rows: typeof now, day: string) => total(rows.filter((row) => row.day === day), (row) => row.wip);
      const today = lastDay(now);
      const daily = sumBy(now, (row) => row.day, (row) => row.wip);
      return {
        ...base,
        value: wipOn(now, today),
        kind: "count",
        caption: `${wipOn(now, today) === 1 ? "item" : "items"} in progress now`,
        ...(before.length ? { previous: wipOn(before, lastDay(before)) } : {}),
        higherIsBetter: false,
        breakdown: now.filter((row) => row.day === today && row.wip > 0).map((row) => ({ label: row.flow_type, value: String(row.wip) })),
        ...(filters.period ? { series: { title: `WIP at the end of each ${filters.period}`, lines: seriesLines(lastPerPeriod(daily, filters.period), String, partial) } } : {}),
        lists: [{ title: "Oldest work in progress", items: oldest }],
      };
    }
    case "distribution": {
      const rows = await metrics.distribution(filters);
      const completed = rows.filter((row) => row.scope === "completed").sort((a, b) => b.items - a.items);
      const wip = rows.filter((row) => row.scope === "wip");
      const top = completed[0];
      return {
        ...base,
        value: top ? top.share : 0,
        kind: "share",
        caption: top ? `of delivered items were ${top.flow_type}` : "nothing delivered in this window",
        hideChange: true,
        higherIsBetter: true,
        breakdown: [...new Set(rows.map((row) => row.flow_type))].map((type) => {
          const done = completed.find((row) => row.flow_type === type);
          const open = wip.find((row) => row.flow_type === type);
          return { label: type, value: `delivered ${formatPercent(done?.share ?? 0)} (${done?.items ?? 0}) · WIP ${formatPercent(open?.share ?? 0)} (${open?.items ?? 0})` };
        }),
        lists: [],
      };
    }
    case "bottlenecks": {
      const report = await metrics.bottlenecks(filters);
      const lead = bottleneckLead(report);
      const states = [...report.timeInState].sort((a, b) => b.total_days - a.total_days);
      return {
        ...base,
        value: lead.value,
        kind: lead.kind,
        caption: lead.caption,
        hideChange: true,
        higherIsBetter: false,
        breakdown: states.slice(0, 10).map((row) => ({
          label: `${row.state} (${row.flow_state})`,
          value: `median ${formatDays(row.median_days)} · p85 ${formatDays(row.p85_days)} · ${formatCount(row.items, "item")}`,
        })),
        lists: [
          {
            title: "Queues growing week after week",
            items: report.growingQueues.map((q) => ({ key: q.state, url: "", title: "", detail: `${q.weeks_growing} weeks growing, ${q.queue_before} → ${q.queue_now}` })),
          },
          { title: "Aging work in progress", items: agingLines(report.aging) },
        ],
        notes: [lead.why],
      };
    }
    case "aging": {
      const rows = await metrics.aging(filters);
      return {
        ...base,
        windowLabel: "now",
        value: rows.length,
        kind: "count",
        caption: rows.length === 1 ? "item older than its type's usual flow time" : "items older than their type's usual flow time",
        hideChange: true,
        higherIsBetter: false,
        breakdown: [...sumBy(rows, (row) => row.flow_type, () => 1)].map(([type, n]) => ({ label: type, value: String(n) })),
        lists: [{ title: "Oldest first (by age over limit)", items: agingLines(rows) }],
        ...(rows.length >= DEFAULT_AGING_LIMIT ? { notes: [`The metric lists at most ${DEFAULT_AGING_LIMIT} aging items; there may be more.`] } : {}),
      };
    }
  }
}

export interface BottleneckLead {
  /** The state it points at, if any. */
  state?: string;
  value: number;
  kind: "count" | "days";
  /** Follows the figure: what it is and where. */
  caption: string;
  /** Why this state leads, for the reader to judge. */
  why: string;
  /** One line for the digest. */
  line: string;
}

/**
 * Which state to lead a bottleneck report with. Time in an active state is work being done, so the
 * most summed days there is no bottleneck. In order: a waiting state whose queue grew week after
 * week (the longest streak, then the longest queue); the waiting state holding work longest (most
 * item-days, then the highest p85); an active state whose WIP grew week after week (work started
 * faster than it is finished); otherwise the report says there is no queue to point at.
 */
export function bottleneckLead(report: BottleneckReport): BottleneckLead {
  const flowStateOf = new Map(report.timeInState.map((row) => [row.state, row.flow_state]));
  const growing = [...report.growingQueues].sort((a, b) => b.weeks_growing - a.weeks_growing || b.queue_now - a.queue_now);
  // A state with no time in the window is known only from its queue; it counts as waiting.
  const growingWaiting = growing.find((q) => (flowStateOf.get(q.state) ?? "waiting") === "waiting");
  const growingActive = growing.find((q) => flowStateOf.get(q.state) === "active");
  const grew = (q: QueueGrowthRow, why: string): BottleneckLead => ({
    state: q.state,
    value: q.queue_now,
    kind: "count",
    caption: `${q.queue_now === 1 ? "item" : "items"} in "${q.state}", up from ${q.queue_before} over ${q.weeks_growing} weeks running`,
    why,
    line: `${q.state}: grew ${q.weeks_growing} weeks running (${q.queue_before} → ${q.queue_now})`,
  });
  if (growingWaiting) {
    return grew(growingWaiting, `Chosen because this waiting state's queue grew ${growingWaiting.weeks_growing} weeks in a row: work arrives there faster than it leaves.`);
  }
  const waiting = report.timeInState
    .filter((row) => row.flow_state === "waiting")
    .sort((a, b) => b.total_days - a.total_days || b.p85_days - a.p85_days)[0];
  if (waiting) {
    return {
      state: waiting.state,
      value: waiting.total_days,
      kind: "days",
      caption: `spent waiting in "${waiting.state}" by ${formatCount(waiting.items, "item")} (median ${formatDays(waiting.median_days)}, p85 ${formatDays(waiting.p85_days)})`,
      why: "Chosen because it is the waiting state holding work longest (most item-days); time in active states is work being done, so it is listed below but does not lead.",
      line: `${waiting.state}: waiting state holding work longest, ${formatDays(waiting.total_days)} over ${formatCount(waiting.items, "item")} (median ${formatDays(waiting.median_days)})`,
    };
  }
  if (growingActive) {
    return grew(growingActive, `Chosen because no item waited in a queue state, and work in this active state grew ${growingActive.weeks_growing} weeks in a row: more is started than finished.`);
  }
  return {
    value: 0,
    kind: "days",
    caption: "waiting: no item waited in a queue state in this window and no queue grew",
    why: "Only time in active states (work being done) was recorded, so there is no queue to point at.",
    line: "no waiting state held work and no queue grew",
  };
}

function seriesLines(values: Map<string, number>, format: (n: number) => string, label: (key: string) => string): string[] {
  const max = Math.max(1, ...values.values());
  return [...values].sort(([a], [b]) => a.localeCompare(b)).map(([key, n]) => `${key} ${"█".repeat(Math.round((n / max) * 20)).padEnd(20)} ${format(n)}${label(key).slice(key.length)}`);
}

/**
 * Labels a period the window covers only in part ("2026-11-02 (partial)"): the first one when the
 * window starts inside it, the last one when it is not over yet. Otherwise a short week reads as a
 * drop.
 */
export function partialLabel(window: { sinceMs: number; untilMs: number; period?: Period; timezone?: string }): (key: string) => string {
  const period = window.period;
  const zone = window.timezone ?? "UTC";
  return (key) => {
    const m = /^(\d{4})-(\d{2})(?:-(\d{2}))?$/.exec(key);
    if (!period || !m) return key;
    const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3] ?? 1)];
    const start = localMidnight(year, month, day, zone);
    const next = new Date(Date.UTC(year, month - 1 + (period === "month" ? 1 : 0), day + (period === "week" ? 7 : period === "day" ? 1 : 0)));
    const end = localMidnight(next.getUTCFullYear(), next.getUTCMonth() + 1, next.getUTCDate(), zone);
    return start < window.sinceMs || end > window.untilMs ? `${key} (partial)` : key;
  };
}

/** Per period, each type's p85: percentiles of different types cannot be merged into one figure. */
function periodPercentiles(rows: readonly FlowTimeRow[], label: (key: string) => string): string[] {
  const periods = [...new Set(rows.map((row) => row.period_start))].sort();
  return periods.map((p) => `${label(p)}  ${rows.filter((row) => row.period_start === p).map((row) => `${row.flow_type} ${formatDays(row.p85_days)}`).join(" · ")}`);
}

/** The value of each period's last day (WIP at the period's end). */
function lastPerPeriod(daily: Map<string, number>, period: Period): Map<string, number> {
  const out = new Map<string, number>();
  for (const [day, wip] of [...daily].sort(([a], [b]) => a.localeCompare(b))) {
    const key = period === "day" ? day : period === "month" ? day.slice(0, 7) : mondayOf(day);
    out.set(key, wip);
  }
  return out;
}

function mondayOf(day: string): string {
  const date = new Date(`${day}T00:00:00Z`);
  const weekday = (date.getUTCDay() + 6) % 7;
  return new Date(date.getTime() - weekday * 86_400_000).toISOString().slice(0, 10);
}
