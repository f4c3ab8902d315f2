// Addresses of dashboard views, for the front ends that point people at one (Slack answers and
// digests): the view that shows the same metric with the same filters, in the page's own filter
// words (dashboard/filters.ts). Here, below the front ends, so the bot need not import the
// dashboard: front ends import shared layers, never each other.
import { localMidnight } from "../core/time.ts";
import type { MetricFilters, MetricName } from "../metrics/api.ts";
import type { ForecastQuestion } from "../metrics/forecast-query.ts";

/** The dashboard's views, by the names its addresses and its JSON API use. */
export const VIEW_NAMES = ["overview", "flow-time", "cfd", "throughput", "load", "aging", "distribution", "bottlenecks", "forecast"] as const;
export type ViewName = (typeof VIEW_NAMES)[number];

/** The view that shows each metric. */
export const VIEW_OF_METRIC: Record<MetricName, ViewName> = {
  velocity: "throughput",
  time: "flow-time",
  efficiency: "overview",
  load: "load",
  distribution: "distribution",
  bottlenecks: "bottlenecks",
  aging: "aging",
};

const DAY_MS = 86_400_000;
/** An end this close to now is "now": the page's own default, so the link stays live. */
const NOW_SLACK_MS = 5 * 60_000;

/** The local calendar day (YYYY-MM-DD) of an instant in the zone. */
function localDay(ms: number, zone: string): string {
  return new Intl.DateTimeFormat("en-CA", { timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit" }).format(new Date(ms));
}

const isMidnight = (ms: number, zone: string) => {
  const [y, m, d] = localDay(ms, zone).split("-").map(Number) as [number, number, number];
  return localMidnight(y, m, d, zone) === ms;
};

/**
 * The address of `view` under `publicUrl` showing `filters`. A window that ends now becomes
 * `window=Nd` (or `since=` when it starts at a local midnight, "this month"); one that ends earlier
 * becomes since/until dates, the until date inclusive as the page reads it.
 */
export function dashboardLink(publicUrl: string, view: ViewName, filters: MetricFilters, nowMs: number = Date.now()): string {
  const url = new URL(publicUrl);
  const params = new URLSearchParams();
  if (view !== "overview") params.set("view", view);
  if (filters.stream) params.set("stream", filters.stream);
  if (filters.team) params.set("team", filters.team);
  if (filters.flowType) params.set("type", filters.flowType);
  const zone = filters.timezone ?? "UTC";
  if (filters.sinceMs !== undefined) {
    const untilMs = filters.untilMs ?? nowMs;
    if (Math.abs(untilMs - nowMs) <= NOW_SLACK_MS) {
      if (isMidnight(filters.sinceMs, zone)) params.set("since", localDay(filters.sinceMs, zone));
      else params.set("window", `${Math.max(1, Math.round((untilMs - filters.sinceMs) / DAY_MS))}d`);
    } else {
      params.set("since", localDay(filters.sinceMs, zone));
      params.set("until", localDay(untilMs - 1, zone));
    }
  }
  if (filters.period && filters.period !== "week") params.set("period", filters.period);
  url.search = params.toString();
  return url.toString();
}

/**
 * The address of the forecast view asking `question` for the scope: the page's `items` or `by`
 * words. A forecast looks ahead from today, so no window is carried.
 */
export function forecastLink(publicUrl: string, scope: Pick<MetricFilters, "stream" | "team" | "flowType">, question: ForecastQuestion): string {
  const url = new URL(publicUrl);
  const params = new URLSearchParams({ view: "forecast" });
  if (scope.stream) params.set("stream", scope.stream);
  if (scope.team) params.set("team", scope.team);
  if (scope.flowType) params.set("type", scope.flowType);
  if (question.kind === "when") params.set("items", String(question.items));
  else params.set("by", question.by);
  url.search = params.toString();
  return url.toString();
}
