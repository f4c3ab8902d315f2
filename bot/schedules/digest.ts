// Scheduled digests: five flow metrics this window vs the same-length window before (flow time as
// the p85 over all items), the top bottlenecks, aging items, and a WIP chart uploaded as a PNG.
import type { webApi } from "@slack/bolt";
import cron, { type ScheduledTask } from "node-cron";
import type { MetricFilters } from "../../metrics/api.ts";
import { scopeLabel } from "../answer.ts";
import { changeText, formatDays, formatPercent } from "../blocks/format.ts";
import { digestBlocks, digestFallback, type DigestData } from "../blocks/digest.ts";
import { wipChartPng } from "../chart.ts";
import type { DigestConfig } from "../config.ts";
import type { BotMetrics } from "../metrics.ts";

const DAY_MS = 86_400_000;

export interface ScheduleDeps {
  client: webApi.WebClient;
  metrics: BotMetrics;
  log: { info(message: string): void; error(message: string): void };
  now?: () => number;
}

/** Gathers the digest's figures. Separate from posting so it can be checked on its own. */
export async function buildDigest(metrics: BotMetrics, digest: DigestConfig, nowMs: number) {
  const filters: MetricFilters & { sinceMs: number; untilMs: number } = {
    sinceMs: nowMs - digest.window_days * DAY_MS,
    untilMs: nowMs,
    ...(digest.stream ? { stream: digest.stream } : {}),
    ...(digest.team ? { team: digest.team } : {}),
    // One bucket per month keeps the per-type rows few; totals are summed across them.
    period: "month",
  };
  const length = filters.untilMs - filters.sinceMs;
  const previous = { ...filters, sinceMs: filters.sinceMs - length, untilMs: filters.sinceMs };
  const sum = <T>(rows: readonly T[], value: (row: T) => number) => rows.reduce((s, row) => s + value(row), 0);

  const velocityNow = sum(await metrics.velocity(filters), (row) => row.items);
  const velocityBefore = sum(await metrics.velocity(previous), (row) => row.items);
  // Flow time: p85 over all items of the window (percentiles do not add up from per-type rows).
  const timeNow = await metrics.flowTimeSummary(filters);
  const timeBefore = await metrics.flowTimeSummary(previous);
  const effRows = await metrics.efficiency(filters);
  const effBeforeRows = await metrics.efficiency(previous);
  const ratio = (rows: typeof effRows) => {
    const active = sum(rows, (row) => row.active_days);
    const flow = active + sum(rows, (row) => row.wait_days);
    return flow > 0 ? active / flow : NaN;
  };
  const loadRows = await metrics.load({ ...filters, period: "day" });
  const loadBeforeRows = await metrics.load({ ...previous, period: "day" });
  const lastWip = (rows: typeof loadRows) => {
    const last = rows.reduce((max, row) => (row.day > max ? row.day : max), "");
    return sum(rows.filter((row) => row.day === last), (row) => row.wip);
  };
  const distribution = (await metrics.distribution(filters)).filter((row) => row.scope === "completed").sort((a, b) => b.items - a.items);
  const bottlenecks = await metrics.bottlenecks(filters);

  const windowLabel = `last ${digest.window_days} days`;
  const data: DigestData = {
    name: digest.name,
    windowLabel,
    scopeLabel: scopeLabel({ ...filters, period: undefined }),
    figures: [
      { label: "Velocity", value: `${velocityNow} delivered`, change: changeText(velocityNow, velocityBefore, "count", true) },
      {
        label: "Flow time (p85)",
        value: timeNow.p85_days === null ? "–" : `${formatDays(timeNow.p85_days)} · p50 ${formatDays(timeNow.p50_days ?? NaN)}`,
        change: timeNow.p85_days === null ? "nothing finished" : changeText(timeNow.p85_days, timeBefore.p85_days ?? undefined, "days", false),
      },
      { label: "Efficiency", value: formatPercent(ratio(effRows)), change: Number.isFinite(ratio(effRows)) ? changeText(ratio(effRows), Number.isFinite(ratio(effBeforeRows)) ? ratio(effBeforeRows) : undefined, "share", true) : "nothing finished" },
      { label: "Load (WIP now)", value: String(lastWip(loadRows)), change: changeText(lastWip(loadRows), loadBeforeRows.length ? lastWip(loadBeforeRows) : undefined, "count", false) },
      {
        label: "Distribution (delivered)",
        value: distribution.length ? distribution.slice(0, 4).map((row) => `${row.flow_type} ${formatPercent(row.share)}`).join(", ") : "–",
        change: " ",
      },
    ],
    bottlenecks: [
      ...[...bottlenecks.timeInState].sort((a, b) => b.total_days - a.total_days).slice(0, 3)
        .map((row) => `${row.state}: ${formatDays(row.total_days)} in total over ${row.items} items (median ${formatDays(row.median_days)})`),
      ...bottlenecks.growingQueues.map((q) => `${q.state}: queue grew ${q.weeks_growing} weeks running (${q.queue_before} → ${q.queue_now})`),
    ],
    aging: bottlenecks.aging.map((row) => ({
      key: row.key, url: row.url, title: row.title,
      detail: `${formatDays(row.age_days)} in flow (limit ${formatDays(row.threshold_days)}), now ${row.current_state}`,
    })),
  };
  const png = wipChartPng(loadRows, `Work in progress per day, ${windowLabel}`);
  return { data, png };
}

/** Builds and posts one digest: the message, then the chart as a file in the same channel. */
export async function runDigest(deps: ScheduleDeps, digest: DigestConfig): Promise<void> {
  const nowMs = (deps.now ?? Date.now)();
  const { data, png } = await buildDigest(deps.metrics, digest, nowMs);
  await deps.client.chat.postMessage({ channel: digest.channel, text: digestFallback(data), blocks: digestBlocks(data) });
  await deps.client.filesUploadV2({
    channel_id: digest.channel,
    file: png,
    filename: `flow-wip-${new Date(nowMs).toISOString().slice(0, 10)}.png`,
    title: `Work in progress per day (${digest.name})`,
    alt_text: "Stacked bars of work items in progress per day and item type",
  });
  deps.log.info(`digest "${digest.name}" posted to ${digest.channel}`);
}

/** One node-cron task per digest; a failing run is logged and the schedule goes on. */
export function scheduleDigests(deps: ScheduleDeps, digests: readonly DigestConfig[]): ScheduledTask[] {
  return digests.map((digest) =>
    cron.schedule(
      digest.cron,
      async () => {
        try {
          await runDigest(deps, digest);
        } catch (error) {
          deps.log.error(`digest "${digest.name}" failed: ${(error as Error).message}`);
        }
      },
      { timezone: digest.timezone, name: `digest:${digest.name}`, noOverlap: true },
    ),
  );
}
