// Scheduled digests: five flow metrics this window vs the same-length window before (flow time as
// the p85 over all items), the top bottlenecks, aging items, and a WIP chart uploaded as a PNG.
import { dashboardLink } from "../../present/links.ts";
import type { webApi } from "@slack/bolt";
import cron, { type ScheduledTask } from "node-cron";
import type { BottleneckReport, MetricFilters } from "../../metrics/api.ts";
import { bottleneckLead, scopeLabel } from "../answer.ts";
import { changeText, formatCount, formatDays, formatPercent } from "../blocks/format.ts";
import { digestBlocks, digestFallback, type DigestData } from "../blocks/digest.ts";
import { image, postable } from "../blocks/kit.ts";
import { wipChartPng } from "../chart.ts";
import type { DigestConfig } from "../config.ts";
import type { BotMetrics } from "../metrics.ts";
import { channelMetrics, scopeFilters, type ChannelTeams } from "../scope.ts";

const DAY_MS = 86_400_000;

export interface ScheduleDeps {
  client: webApi.WebClient;
  metrics: BotMetrics;
  /** slack.channel_teams: what each channel may see (bot/scope.ts). */
  channelTeams: ChannelTeams;
  log: { info(message: string): void; error(message: string): void };
  now?: () => number;
  /** dashboard.public_url: digests link to the dashboard's overview of their scope and window. */
  dashboardUrl?: string;
}

/**
 * Gathers the digest's figures, as the digest's channel may see them (channel_teams). Separate from
 * posting so it can be checked on its own.
 */
export async function buildDigest(allMetrics: BotMetrics, digest: DigestConfig, nowMs: number, channelTeams: ChannelTeams = {}, dashboardUrl?: string) {
  const metrics = channelMetrics(allMetrics, channelTeams, digest.channel);
  const { filters } = scopeFilters(channelTeams, digest.channel, {
    sinceMs: nowMs - digest.window_days * DAY_MS,
    untilMs: nowMs,
    ...(digest.stream ? { stream: digest.stream } : {}),
    ...(digest.team ? { team: digest.team } : {}),
    // One bucket per month keeps the per-type rows few; totals are summed across them.
    period: "month",
  } as MetricFilters & { sinceMs: number; untilMs: number });
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
    bottlenecks: bottleneckLines(bottlenecks),
    aging: bottlenecks.aging.map((row) => ({
      key: row.key, url: row.url, title: row.title,
      detail: `${formatDays(row.age_days)} in flow (limit ${formatDays(row.threshold_days)}), now ${row.current_state}`,
    })),
    ...(dashboardUrl ? { dashboardUrl: dashboardLink(dashboardUrl, "overview", { ...filters, period: undefined }, nowMs) } : {}),
  };
  // The day buckets of since..until include the partial day the window starts in; the chart shows
  // exactly window_days whole-or-current days so its title and its bars agree.
  const chartDays = new Set([...new Set(loadRows.map((row) => row.day))].sort().slice(-digest.window_days));
  const chartTitle = `Work in progress per day, ${windowLabel} · ${data.scopeLabel || "all items"}`;
  const png = wipChartPng(loadRows.filter((row) => chartDays.has(row.day)), chartTitle);
  return { data, png, chartTitle, chartDays: chartDays.size };
}

/**
 * Led by what `/flow bottlenecks` leads with, then the other growing queues and waiting states.
 * Time in active states is work being done, not a bottleneck, so it is not listed here.
 */
function bottleneckLines(report: BottleneckReport): string[] {
  if (report.timeInState.length === 0 && report.growingQueues.length === 0) return [];
  const lead = bottleneckLead(report);
  const others = [
    ...report.growingQueues.map((q) => ({ state: q.state, line: `${q.state}: queue grew ${q.weeks_growing} weeks running (${q.queue_before} → ${q.queue_now})` })),
    ...report.timeInState.filter((row) => row.flow_state === "waiting").sort((a, b) => b.total_days - a.total_days)
      .map((row) => ({ state: row.state, line: `${row.state}: waiting, ${formatDays(row.total_days)} over ${formatCount(row.items, "item")} (median ${formatDays(row.median_days)})` })),
  ].filter((other) => other.state !== lead.state);
  return [lead.line, ...others.map((other) => other.line)].slice(0, 3);
}

/**
 * Builds and posts one digest with its chart inside the message: the PNG is uploaded first without
 * sharing it anywhere, then the message carries it as an image block. Should Slack refuse the block
 * (a file still being processed), the message goes out without it and the chart follows in its
 * thread, so the figures are never held back by the picture.
 */
export async function runDigest(deps: ScheduleDeps, digest: DigestConfig): Promise<void> {
  const nowMs = (deps.now ?? Date.now)();
  const { data, png, chartTitle } = await buildDigest(deps.metrics, digest, nowMs, deps.channelTeams, deps.dashboardUrl);
  const file = {
    file: png,
    filename: `flow-wip-${new Date(nowMs).toISOString().slice(0, 10)}.png`,
    title: chartTitle,
    alt_text: "Stacked bars of work items in progress per day and item type",
  };
  const uploaded = await deps.client.filesUploadV2(file);
  const fileId = (uploaded as { files?: { files?: { id?: string }[] }[] }).files?.[0]?.files?.[0]?.id;
  const blocks = digestBlocks(data);
  try {
    if (!fileId) throw new Error("the upload returned no file id");
    await deps.client.chat.postMessage({ channel: digest.channel, ...postable(digestFallback(data), [...blocks, image(fileId, chartTitle, file.alt_text)]) });
  } catch (error) {
    deps.log.error(`digest "${digest.name}": chart could not go in the message (${(error as Error).message}); posting it in the thread`);
    const posted = await deps.client.chat.postMessage({ channel: digest.channel, ...postable(digestFallback(data), blocks) });
    if (posted.ts) await deps.client.filesUploadV2({ ...file, channel_id: digest.channel, thread_ts: posted.ts });
    else await deps.client.filesUploadV2({ ...file, channel_id: digest.channel });
  }
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
