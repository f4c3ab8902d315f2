// What the browser may ask for: a named view and the filters of the page's URL, validated here
// strictly (an unknown or repeated key, a malformed value or a window that ends before it starts is
// refused with a message a person can act on) and turned into the metric API's MetricFilters. The
// same filter words as the command line: a date-only `until` includes that whole day.
import { z } from "zod";
import { localMidnight } from "../core/time.ts";
import type { MetricFilters, Period } from "../metrics/api.ts";
import { addDays } from "../metrics/forecast.ts";
import { localDay, type ForecastQuestion } from "../metrics/forecast-query.ts";
import { MetricError, resolveFilters } from "../metrics/query.ts";

export { VIEW_NAMES, type ViewName } from "../present/links.ts";

const DAY_MS = 86_400_000;
export const DEFAULT_WINDOW = "90d";
export const FILTER_KEYS = ["stream", "team", "type", "window", "since", "until", "period", "items", "by"] as const;
/** The forecast view's question when the address asks none: when will this many items be done? */
export const DEFAULT_FORECAST_ITEMS = 30;

/** A problem with what the browser asked for: shown to the person as it is, answered with 400. */
export class FilterError extends Error {
  override name = "FilterError";
}

const Name = z.string().trim().min(1, "must not be empty").max(200, "is longer than 200 characters");
const DateText = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, "must be a date YYYY-MM-DD");

const FilterQuerySchema = z.strictObject({
  stream: Name.optional(),
  team: Name.optional(),
  type: Name.optional(),
  window: z
    .string()
    .regex(/^[1-9]\d{0,4}d$/, "must be a number of days such as 30d or 90d")
    .refine((text) => !/^\d+d$/.test(text) || Number(text.slice(0, -1)) <= 36_500, "must be at most 36500d")
    .optional(),
  since: DateText.optional(),
  until: DateText.optional(),
  period: z.enum(["day", "week", "month"], { error: "must be day, week or month" }).optional(),
  // The forecast view's question (other views ignore it, so it survives a visit to them).
  items: z.string().regex(/^[1-9]\d{0,5}$/, "must be a whole number of items from 1 to 999999, such as 30").optional(),
  by: DateText.optional(),
});
export type FilterQuery = z.infer<typeof FilterQuerySchema>;

/** The filters of a query string, checked; `view` (the page's own key) is allowed and ignored. */
export function parseFilterQuery(search: URLSearchParams): FilterQuery {
  const raw: Record<string, string> = {};
  for (const [key, value] of search) {
    if (key === "view" || key === "token") continue;
    if (key in raw) throw new FilterError(`give the filter "${key}" once (it appears more than once)`);
    // Empty values are what a form sends for "all": the same as leaving the filter out.
    if (value !== "") raw[key] = value;
  }
  const parsed = FilterQuerySchema.safeParse(raw);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => {
      if (issue.code === "unrecognized_keys") {
        return `unknown filter ${issue.keys.map((k) => `"${k}"`).join(", ")}: use ${FILTER_KEYS.join(", ")}`;
      }
      const key = String(issue.path[0]);
      return `${key} "${raw[key]}" ${issue.message}`;
    });
    throw new FilterError(lines.join("; "));
  }
  if (parsed.data.window && parsed.data.since) throw new FilterError("give either window or since, not both");
  if (parsed.data.items && parsed.data.by) throw new FilterError("ask either items (when will N be done) or by (how many by a date), not both");
  return parsed.data;
}

/**
 * The forecast view's question: "when will `items` be done" (30 unless asked) or "how many by
 * `by`", a real date no earlier than today in the zone, as the command line checks it.
 */
export function forecastQuestion(query: FilterQuery, timezone: string, nowMs: number = Date.now()): ForecastQuestion {
  if (!query.by) return { kind: "when", items: query.items ? Number(query.items) : DEFAULT_FORECAST_ITEMS };
  if (addDays(query.by, 0) !== query.by) throw new FilterError(`by "${query.by}" is not a real date`);
  const today = localDay(nowMs, timezone);
  if (query.by < today) throw new FilterError(`by "${query.by}" is in the past (today is ${today} in ${timezone}): give today or a later date`);
  return { kind: "howmany", by: query.by };
}

/** The defaults the config sets for every metric (zone, flow-time rule, aging settings). */
export type MetricDefaults = Pick<MetricFilters, "timezone" | "flowTimeStart" | "agingPercentile" | "agingBaselineDays">;

function dayStart(key: "since" | "until", text: string, zone: string, next: boolean): number {
  const [y, m, d] = text.split("-").map(Number) as [number, number, number];
  const check = new Date(Date.UTC(y, m - 1, d));
  if (y < 1900 || y > 2299 || check.getUTCMonth() !== m - 1 || check.getUTCDate() !== d) {
    throw new FilterError(`${key} "${text}" is not a real date between 1900-01-01 and 2299-12-31`);
  }
  return localMidnight(y, m, next ? d + 1 : d, zone);
}

/** The metric filters the query asks for, on top of the config's defaults, at `nowMs`. */
export function toMetricFilters(query: FilterQuery, defaults: MetricDefaults, nowMs: number = Date.now()): MetricFilters {
  const zone = defaults.timezone ?? "UTC";
  const untilMs = query.until ? dayStart("until", query.until, zone, true) : nowMs;
  const windowDays = Number((query.window ?? DEFAULT_WINDOW).slice(0, -1));
  const sinceMs = query.since ? dayStart("since", query.since, zone, false) : untilMs - windowDays * DAY_MS;
  const filters: MetricFilters = { ...defaults, sinceMs, untilMs, period: (query.period ?? "week") as Period };
  if (query.stream) filters.stream = query.stream;
  if (query.team) filters.team = query.team;
  if (query.type) filters.flowType = query.type;
  try {
    resolveFilters(filters, nowMs);
  } catch (error) {
    if (error instanceof MetricError) throw new FilterError(error.message);
    throw error;
  }
  return filters;
}
