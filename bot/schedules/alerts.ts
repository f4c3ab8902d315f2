// Alert rules: each is evaluated on a schedule and posts once when it trips and once when it
// recovers. The state lives in the store (alert_state), so a restarted bot does not post again.
import cron, { type ScheduledTask } from "node-cron";
import { toClickHouseTime } from "../../core/time.ts";
import type { MetricFilters } from "../../metrics/api.ts";
import { nextVersion } from "../../pipeline/sink.ts";
import { sqlFile } from "../../store/sql.ts";
import type { Store } from "../../store/store.ts";
import type { ItemLine } from "../blocks/answer.ts";
import { alertBlocks, alertFallback } from "../blocks/digest.ts";
import { formatCount, formatDays, formatPercent } from "../blocks/format.ts";
import { postable } from "../blocks/kit.ts";
import type { AlertRule } from "../config.ts";
import { channelMetrics, scopeFilters, type ChannelTeams } from "../scope.ts";
import type { ScheduleDeps } from "./digest.ts";

const DAY_MS = 86_400_000;
const ITEMS_LISTED = 15;

export interface Evaluation {
  tripped: boolean;
  summary: string;
  items: ItemLine[];
  /** How many items are behind it when more exist than were fetched. */
  total?: number;
}

/** What a rule asks for, as the rule's channel may see it (channel_teams, bot/scope.ts). */
function scopeOf(rule: AlertRule, channelTeams: ChannelTeams): MetricFilters {
  return scopeFilters(channelTeams, rule.channel, {
    ...(rule.stream ? { stream: rule.stream } : {}),
    ...(rule.team ? { team: rule.team } : {}),
    ...("flow_type" in rule && rule.flow_type ? { flowType: rule.flow_type } : {}),
  }).filters;
}

function scopeTextOf(rule: AlertRule, channelTeams: ChannelTeams): string {
  const f = scopeOf(rule, channelTeams);
  return [f.flowType && `${f.flowType} items`, f.team && `team ${f.team}`, f.stream && `stream ${f.stream}`].filter(Boolean).join(", ") || "all items";
}

/** Whether a rule is tripped now, with the items behind it. */
export async function evaluateRule(deps: Pick<ScheduleDeps, "metrics" | "channelTeams">, rule: AlertRule, nowMs: number): Promise<Evaluation> {
  const metrics = channelMetrics(deps.metrics, deps.channelTeams, rule.channel);
  const scope = scopeOf(rule, deps.channelTeams);
  const scopeText = (r: AlertRule) => scopeTextOf(r, deps.channelTeams);
  const refLines = (refs: { key: string; url: string; title: string; days: number; flow_type: string }[], what: string) =>
    refs.map((ref) => ({ key: ref.key, url: ref.url, title: ref.title, detail: `${formatDays(ref.days)} ${what} (${ref.flow_type})` }));
  switch (rule.kind) {
    case "wip": {
      const rows = await metrics.load({ ...scope, sinceMs: nowMs - DAY_MS, untilMs: nowMs, period: "day" });
      const last = rows.reduce((max, row) => (row.day > max ? row.day : max), "");
      const wip = rows.filter((row) => row.day === last).reduce((sum, row) => sum + row.wip, 0);
      const tripped = wip > rule.limit;
      return {
        tripped,
        summary: `${formatCount(wip, "item")} in progress (${scopeText(rule)}), limit ${rule.limit}.`,
        items: tripped ? refLines(await metrics.oldest(scope, ITEMS_LISTED), "in progress") : [],
        ...(tripped ? { total: wip } : {}),
      };
    }
    case "aging": {
      const rows = await metrics.aging(scope);
      return {
        tripped: rows.length > 0,
        summary: rows.length
          ? `${rows.length === 1 ? "1 item in progress is" : `${rows.length} items in progress are`} older than their type's usual flow time (${scopeText(rule)}).`
          : `No item in progress is older than its type's usual flow time (${scopeText(rule)}).`,
        items: rows.map((row) => ({
          key: row.key, url: row.url, title: row.title,
          detail: `${formatDays(row.age_days)} in flow (limit ${formatDays(row.threshold_days)}), now ${row.current_state}`,
        })),
      };
    }
    case "queue_growth": {
      const rows = (await metrics.growingQueues({ ...scope, growthWeeks: rule.periods }))
        .filter((row) => !rule.state || row.state.toLowerCase() === rule.state.toLowerCase());
      return {
        tripped: rows.length > 0,
        summary: rows.length
          ? `${rows.map((row) => `"${row.state}"`).join(", ")} grew ${rule.periods}+ weeks running (${scopeText(rule)}).`
          : `No queue grew ${rule.periods} weeks running (${scopeText(rule)}).`,
        items: rows.map((row) => ({ key: row.state, url: "", title: "", detail: `${row.queue_before} → ${row.queue_now} over ${row.weeks_growing} weeks` })),
      };
    }
    case "efficiency": {
      const window = { ...scope, sinceMs: nowMs - rule.window_days * DAY_MS, untilMs: nowMs, period: "month" as const };
      const rows = await metrics.efficiency(window);
      const active = rows.reduce((sum, row) => sum + row.active_days, 0);
      const flow = active + rows.reduce((sum, row) => sum + row.wait_days, 0);
      // No finished item = no figure; that is not a breach.
      const ratio = flow > 0 ? active / flow : NaN;
      const tripped = Number.isFinite(ratio) && ratio < rule.floor;
      return {
        tripped,
        summary: Number.isFinite(ratio)
          ? `Flow efficiency ${formatPercent(ratio)} over the last ${rule.window_days} days (${scopeText(rule)}), floor ${formatPercent(rule.floor)}.`
          : `No items finished in the last ${rule.window_days} days (${scopeText(rule)}).`,
        items: tripped ? refLines(await metrics.slowest(window, ITEMS_LISTED), "flow time") : [],
      };
    }
  }
}

interface StateRow { rule: string; tripped: number; summary: string; changed_at: string }

export async function readAlertState(store: Store, rules: readonly string[]): Promise<Map<string, StateRow>> {
  const rows = await store.query<StateRow>(sqlFile("queries/alert_state.sql"), { rules });
  return new Map(rows.map((row) => [row.rule, row]));
}

async function saveAlertState(store: Store, rule: string, tripped: boolean, summary: string, nowMs: number): Promise<void> {
  await store.insertRows("alert_state", [{ rule, tripped: tripped ? 1 : 0, summary, changed_at: toClickHouseTime(nowMs), version: nextVersion() }]);
}

export interface AlertRunResult {
  rule: string;
  posted: "tripped" | "recovered" | null;
  evaluation?: Evaluation;
  /** Why this rule did not finish (evaluation or Slack failed); the other rules still ran. */
  error?: string;
}

/** Slack's own error code (not_in_channel, channel_not_found) when the Web API gave one. */
function slackError(error: unknown): string {
  const code = (error as { data?: { error?: unknown } }).data?.error;
  return typeof code === "string" ? code : (error as Error).message;
}

/**
 * Evaluates every rule and posts the changes. Each rule runs on its own: a rule whose query or
 * channel fails is logged with its name and the cause, and the rules after it still run. The
 * message goes out before the state is saved, so a crash in between repeats one message rather
 * than losing it.
 */
export async function runAlerts(deps: ScheduleDeps & { store: Store }, rules: readonly AlertRule[]): Promise<AlertRunResult[]> {
  const nowMs = (deps.now ?? Date.now)();
  const state = await readAlertState(deps.store, rules.map((rule) => rule.name));
  const results: AlertRunResult[] = [];
  for (const rule of rules) {
    let evaluation: Evaluation;
    try {
      evaluation = await evaluateRule(deps, rule, nowMs);
    } catch (error) {
      const cause = (error as Error).message;
      deps.log.error(`alert "${rule.name}" could not be evaluated: ${cause}`);
      results.push({ rule: rule.name, posted: null, error: `could not be evaluated: ${cause}` });
      continue;
    }
    const wasTripped = state.get(rule.name)?.tripped === 1;
    if (evaluation.tripped === wasTripped) {
      results.push({ rule: rule.name, posted: null, evaluation });
      continue;
    }
    const message = { rule: rule.name, tripped: evaluation.tripped, summary: evaluation.summary, items: evaluation.items, ...(evaluation.total !== undefined ? { total: evaluation.total } : {}) };
    try {
      await deps.client.chat.postMessage({ channel: rule.channel, ...postable(alertFallback(message), alertBlocks(message)) });
    } catch (error) {
      // The state is left as it was, so the next run tries this message again.
      const cause = slackError(error);
      deps.log.error(`alert "${rule.name}" could not be posted to ${rule.channel}: ${cause}`);
      results.push({ rule: rule.name, posted: null, evaluation, error: `could not be posted to ${rule.channel}: ${cause}` });
      continue;
    }
    await saveAlertState(deps.store, rule.name, evaluation.tripped, evaluation.summary, nowMs);
    deps.log.info(`alert "${rule.name}" ${evaluation.tripped ? "tripped" : "recovered"}`);
    results.push({ rule: rule.name, posted: evaluation.tripped ? "tripped" : "recovered", evaluation });
  }
  return results;
}

export function scheduleAlerts(
  deps: ScheduleDeps & { store: Store },
  alerts: { cron: string; timezone: string; rules: readonly AlertRule[] },
): ScheduledTask | undefined {
  if (alerts.rules.length === 0) return undefined;
  return cron.schedule(
    alerts.cron,
    async () => {
      try {
        await runAlerts(deps, alerts.rules);
      } catch (error) {
        deps.log.error(`alert run failed: ${(error as Error).message}`);
      }
    },
    { timezone: alerts.timezone, name: "alerts", noOverlap: true },
  );
}
