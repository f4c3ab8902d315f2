// The one place that decides what data a Slack channel may see. `channel_teams` maps a channel to a
// flow team; everything the bot sends to that channel (answers, digests, alerts) is computed through
// channelMetrics(), which forces the team on every metric call, so no output path can forget it.
import type { MetricFilters } from "../metrics/api.ts";
import type { SlackConfig } from "./config.ts";
import type { BotMetrics, StoreNames } from "./metrics.ts";

export type ChannelTeams = SlackConfig["channel_teams"];

/** The team a channel is limited to, if any. */
export function channelTeam(channelTeams: ChannelTeams, channelId: string): string | undefined {
  return Object.hasOwn(channelTeams, channelId) ? channelTeams[channelId] : undefined;
}

/**
 * Filters as the channel may see them: the channel's team replaces whatever team was asked for.
 * The note says so when a different team was asked for.
 */
export function scopeFilters<F extends MetricFilters>(channelTeams: ChannelTeams, channelId: string, filters: F): { filters: F; note?: string } {
  const team = channelTeam(channelTeams, channelId);
  if (team === undefined) return { filters };
  const note = filters.team && filters.team !== team ? `This channel only sees team ${team}'s data, so team:${filters.team} was ignored.` : undefined;
  return { filters: { ...filters, team }, ...(note ? { note } : {}) };
}

/** The metric API as one channel may use it: every call goes through scopeFilters. */
export function channelMetrics(metrics: BotMetrics, channelTeams: ChannelTeams, channelId: string): BotMetrics {
  if (channelTeam(channelTeams, channelId) === undefined) return metrics;
  const s = <F extends MetricFilters>(filters: F): F => scopeFilters(channelTeams, channelId, filters).filters;
  return {
    velocity: (f) => metrics.velocity(s(f)),
    flowTime: (f) => metrics.flowTime(s(f)),
    flowTimeSummary: (f) => metrics.flowTimeSummary(s(f)),
    efficiency: (f) => metrics.efficiency(s(f)),
    load: (f) => metrics.load(s(f)),
    distribution: (f) => metrics.distribution(s(f)),
    bottlenecks: (f) => metrics.bottlenecks(s(f)),
    aging: (f) => metrics.aging(s(f)),
    growingQueues: (f) => metrics.growingQueues(s(f)),
    slowest: (f, limit) => metrics.slowest(s(f), limit),
    oldest: (f, limit) => metrics.oldest(s(f), limit),
    forecastWhen: (scope, items) => metrics.forecastWhen(s(scope), items),
    forecastHowMany: (scope, by) => metrics.forecastHowMany(s(scope), by),
    names: (fresh) => metrics.names(fresh),
  };
}

const NAME_KINDS = [["team", "team"], ["stream", "stream"], ["flowType", "type"]] as const;
/** Names listed in a refusal before the rest are counted. */
const NAMES_LISTED = 20;

/**
 * Checks the team, stream and type a person typed against the names the store holds. A name that
 * matches one stored name regardless of case becomes that name; one that matches none is refused
 * with the names there are, so nobody reads "0 items" for a typo.
 */
export function resolveNames<F extends MetricFilters>(filters: F, names: StoreNames): { ok: true; filters: F } | { ok: false; problem: string } {
  const resolved: F = { ...filters };
  for (const [key, kind] of NAME_KINDS) {
    const asked = filters[key];
    if (!asked) continue;
    const stored = names[kind];
    if (stored.includes(asked)) continue;
    const matches = stored.filter((name) => name.toLowerCase() === asked.toLowerCase());
    if (matches.length === 1) {
      resolved[key] = matches[0]!;
      continue;
    }
    if (matches.length > 1) return { ok: false, problem: `${kind} ${asked} matches ${matches.join(" and ")}; type one of them exactly.` };
    const listed = stored.slice(0, NAMES_LISTED).join(", ") + (stored.length > NAMES_LISTED ? ` and ${stored.length - NAMES_LISTED} more` : "");
    return { ok: false, problem: `no ${kind} called ${asked}; ${kind}s here: ${listed || "none yet"}.` };
  }
  return { ok: true, filters: resolved };
}
