// The `/flow` command grammar, as people type it: `/flow velocity defects team:checkout last 30d by
// week`. A pure function of the text, the clock and the time zone, so every phrase is unit-tested.
import { localMidnight } from "../core/time.ts";
import type { MetricFilters, MetricName, Period } from "../metrics/api.ts";

export type CommandMetric = MetricName | "help" | "forecast";

/** What a `/flow forecast` asks: when N items will be done, or how many through a date (inclusive). */
export type ForecastAsk = { kind: "when"; items: number } | { kind: "howmany"; by: string };

export interface ParsedCommand {
  ok: true;
  metric: CommandMetric;
  filters: MetricFilters & { sinceMs: number; untilMs: number };
  /** Human wording of the window, e.g. "last 30 days". */
  windowLabel: string;
  /** Set when metric is "forecast". Its history window is the config's, so filters carry no window. */
  forecast?: ForecastAsk;
}
export interface ParseProblem {
  ok: false;
  /** One short sentence saying what was not understood. */
  problem: string;
}
export type ParseResult = ParsedCommand | ParseProblem;

const DAY_MS = 86_400_000;
/**
 * The earliest instant an answer may reach back to, its comparison window included. The store's
 * period buckets are calendar dates counted from 1970-01-01; a window before that cannot be
 * bucketed, so it is refused here instead of failing in the database.
 */
export const EARLIEST_MS = Date.UTC(1970, 0, 1);
/** Default window when the text names none. */
export const DEFAULT_WINDOW_DAYS = 30;

const METRIC_WORDS: Record<string, CommandMetric> = {
  velocity: "velocity", throughput: "velocity", delivered: "velocity",
  time: "time", "flow-time": "time", flowtime: "time", "cycle-time": "time", cycletime: "time", "lead-time": "time",
  efficiency: "efficiency",
  load: "load", wip: "load",
  distribution: "distribution", mix: "distribution",
  bottlenecks: "bottlenecks", bottleneck: "bottlenecks",
  aging: "aging", ageing: "aging", stale: "aging",
  forecast: "forecast", when: "forecast",
  help: "help", "?": "help",
};

const TYPE_WORDS: Record<string, string> = {
  defect: "defect", defects: "defect", bug: "defect", bugs: "defect",
  feature: "feature", features: "feature",
  risk: "risk", risks: "risk",
  debt: "debt", debts: "debt",
};

const UNIT_DAYS: Record<string, number> = {
  d: 1, day: 1, days: 1,
  w: 7, wk: 7, wks: 7, week: 7, weeks: 7,
  m: 30, mo: 30, month: 30, months: 30,
  q: 91, quarter: 91, quarters: 91,
  y: 365, year: 365, years: 365,
};

const PERIODS: Record<string, Period> = { day: "day", daily: "day", week: "week", weekly: "week", month: "month", monthly: "month" };

export interface ParseContext {
  nowMs: number;
  /** IANA zone for "this month", "since 2026-01-01". */
  timezone: string;
}

export function parseCommand(text: string, context: ParseContext): ParseResult {
  // "flow time" and "cycle time" are two words people type as one name.
  // Keywords are case-insensitive; team and stream values keep the case they were typed in.
  const original = text.trim().replace(/\b(flow|cycle|lead)\s+time\b/gi, "$1-time").split(/\s+/).filter(Boolean);
  const words = original.map((word) => word.toLowerCase());
  if (words.length === 0) return help();
  const metric = METRIC_WORDS[words[0]!];
  if (!metric) return { ok: false, problem: `I don't know the metric "${words[0]}".` };
  if (metric === "help") return help();
  if (metric === "forecast") return parseForecast(words, original, context);

  const filters: MetricFilters = {};
  let typeWord: string | undefined;
  // One type per answer: the metric API filters on a single type, and silently keeping the last of
  // several would answer a different question than the one asked.
  const setType = (type: string, word: string): ParseProblem | undefined => {
    if (filters.flowType !== undefined && filters.flowType !== type) {
      return { ok: false, problem: `one item type at a time ("${typeWord}" and "${word}"); leave the type out to see every type.` };
    }
    filters.flowType = type;
    typeWord = word;
    return undefined;
  };
  let window: { sinceMs: number; untilMs: number; label: string } | undefined;
  const setWindow = (next: typeof window): ParseProblem | undefined => {
    if (window) return { ok: false, problem: `two time windows ("${window.label}" and "${next!.label}"); give one.` };
    window = next;
    return undefined;
  };

  for (let i = 1; i < words.length; i++) {
    const word = words[i]!;
    const keyValue = /^(team|stream|type):(.+)$/i.exec(original[i]!);
    if (keyValue) {
      const key = keyValue[1]!.toLowerCase();
      const value = keyValue[2]!;
      if (key === "team") filters.team = value;
      else if (key === "stream") filters.stream = value;
      else {
        const problem = setType(TYPE_WORDS[value.toLowerCase()] ?? value, original[i]!);
        if (problem) return problem;
      }
      continue;
    }
    if (TYPE_WORDS[word]) {
      const problem = setType(TYPE_WORDS[word], original[i]!);
      if (problem) return problem;
      continue;
    }
    if (word === "by" || word === "per") {
      const period = PERIODS[words[i + 1] ?? ""];
      if (!period) return { ok: false, problem: `"${word}" needs day, week or month after it.` };
      filters.period = period;
      i++;
      continue;
    }
    if (PERIODS[word] && /ly$/.test(word)) {
      filters.period = PERIODS[word];
      continue;
    }
    if (word === "last" || word === "past") {
      const parsed = parseLast(words, i, context);
      if (!parsed.ok) return parsed;
      const problem = setWindow(parsed.window);
      if (problem) return problem;
      i = parsed.next;
      continue;
    }
    if (word === "this") {
      const unit = words[i + 1] ?? "";
      if (!["week", "month", "quarter", "year"].includes(unit)) {
        return { ok: false, problem: `"this" needs week, month, quarter or year after it.` };
      }
      const sinceMs = startOf(context.nowMs, context.timezone, unit as CalendarUnit);
      const problem = setWindow({ sinceMs, untilMs: context.nowMs, label: `this ${unit}` });
      if (problem) return problem;
      i++;
      continue;
    }
    if (word === "since" || word === "from") {
      const date = words[i + 1] ?? "";
      const sinceMs = parseLocalDate(date, context.timezone);
      if (sinceMs === undefined) return { ok: false, problem: `"${word}" needs a date like 2026-01-01.` };
      if (sinceMs >= context.nowMs) return { ok: false, problem: `${date} is in the future.` };
      const problem = setWindow({ sinceMs, untilMs: context.nowMs, label: `since ${date}` });
      if (problem) return problem;
      i++;
      continue;
    }
    return { ok: false, problem: `I didn't understand "${word}".` };
  }

  const chosen = window ?? {
    sinceMs: context.nowMs - DEFAULT_WINDOW_DAYS * DAY_MS,
    untilMs: context.nowMs,
    label: `last ${DEFAULT_WINDOW_DAYS} days`,
  };
  const comparedFrom = chosen.sinceMs - (chosen.untilMs - chosen.sinceMs);
  if (comparedFrom < EARLIEST_MS) {
    const longestYears = Math.floor((context.nowMs - EARLIEST_MS) / 2 / (365 * DAY_MS));
    return {
      ok: false,
      problem: `"${chosen.label}" with the same length before it to compare with reaches back before 1970-01-01, the earliest date the store can bucket; the longest window today is "last ${longestYears}y".`,
    };
  }
  return {
    ok: true,
    metric,
    filters: { ...filters, sinceMs: chosen.sinceMs, untilMs: chosen.untilMs, timezone: context.timezone },
    windowLabel: chosen.label,
  };
}

/** Forecast item counts beyond this are refused: nobody plans that many items, and a typo is likelier. */
const MAX_FORECAST_ITEMS = 100_000;

/**
 * `/flow forecast 30 features team:payments` (when will 30 be done) and `/flow forecast by
 * 2027-03-31 defects` (how many through that day). Type and scope words as for the metrics; no
 * window, since a forecast resamples the configured history.
 */
function parseForecast(words: string[], original: string[], context: ParseContext): ParseResult {
  const filters: MetricFilters = {};
  let ask: ForecastAsk | undefined;
  const setAsk = (next: ForecastAsk, text: string): ParseProblem | undefined => {
    if (ask) return { ok: false, problem: `a forecast answers one question: "forecast 30" (when will 30 items be done) or "forecast by 2027-03-31" (how many by then), not both ("${text}").` };
    ask = next;
    return undefined;
  };
  for (let i = 1; i < words.length; i++) {
    const word = words[i]!;
    const keyValue = /^(team|stream|type):(.+)$/i.exec(original[i]!);
    if (keyValue) {
      const key = keyValue[1]!.toLowerCase();
      const value = keyValue[2]!;
      if (key === "team") filters.team = value;
      else if (key === "stream") filters.stream = value;
      else if (filters.flowType !== undefined) return { ok: false, problem: "one item type at a time; leave the type out to forecast every type." };
      else filters.flowType = TYPE_WORDS[value.toLowerCase()] ?? value;
      continue;
    }
    if (TYPE_WORDS[word]) {
      if (filters.flowType !== undefined && filters.flowType !== TYPE_WORDS[word]) return { ok: false, problem: "one item type at a time; leave the type out to forecast every type." };
      filters.flowType = TYPE_WORDS[word];
      continue;
    }
    if (/^\d+$/.test(word)) {
      const items = Number(word);
      if (items < 1 || items > MAX_FORECAST_ITEMS) return { ok: false, problem: `"${word}" items: give a number from 1 to ${MAX_FORECAST_ITEMS.toLocaleString("en-US")}.` };
      const problem = setAsk({ kind: "when", items }, word);
      if (problem) return problem;
      continue;
    }
    if (word === "items" || word === "item") continue;
    if (word === "by") {
      const date = words[i + 1] ?? "";
      if (parseLocalDate(date, context.timezone) === undefined) return { ok: false, problem: '"by" needs a date like 2027-03-31 (the last day counted).' };
      if (date < localParts(context.nowMs, context.timezone).iso) return { ok: false, problem: `${date} is in the past.` };
      const problem = setAsk({ kind: "howmany", by: date }, `by ${date}`);
      if (problem) return problem;
      i++;
      continue;
    }
    return { ok: false, problem: `I didn't understand "${word}" in a forecast (try "forecast 30 features" or "forecast by 2027-03-31").` };
  }
  if (!ask) return { ok: false, problem: 'forecast what? "forecast 30 features" (when will 30 be done) or "forecast by 2027-03-31" (how many by then).' };
  const label = ask.kind === "when" ? `when will ${ask.items} be done` : `how many by ${ask.by}`;
  return {
    ok: true,
    metric: "forecast",
    filters: { ...filters, sinceMs: context.nowMs, untilMs: context.nowMs, timezone: context.timezone },
    windowLabel: label,
    forecast: ask,
  };
}

function help(): ParsedCommand {
  return { ok: true, metric: "help", filters: { sinceMs: 0, untilMs: 0 }, windowLabel: "" };
}

/** `last 30d`, `last 30 days`, `last 2 weeks`, `last week`, `last quarter`. */
function parseLast(
  words: string[],
  at: number,
  context: ParseContext,
): { ok: true; window: { sinceMs: number; untilMs: number; label: string }; next: number } | ParseProblem {
  const first = words[at + 1] ?? "";
  let count: number;
  let unit: string;
  let next: number;
  const compact = /^(\d+)([a-z]+)$/.exec(first);
  if (compact) {
    count = Number(compact[1]);
    unit = compact[2]!;
    next = at + 1;
  } else if (/^\d+$/.test(first)) {
    count = Number(first);
    unit = words[at + 2] ?? "";
    next = at + 2;
  } else {
    count = 1;
    unit = first;
    next = at + 1;
  }
  const days = UNIT_DAYS[unit];
  if (days === undefined || count <= 0 || count > 3650 || !Number.isInteger(count)) {
    return { ok: false, problem: `"${words.slice(at, next + 1).join(" ")}" is not a window I know (try "last 30d" or "last 2 weeks").` };
  }
  const totalDays = count * days;
  const unitName = days === 1 ? "day" : days === 7 ? "week" : days === 30 ? "month" : days === 91 ? "quarter" : "year";
  const label = count === 1 ? `last ${unitName}` : `last ${count} ${unitName}s`;
  return { ok: true, window: { sinceMs: context.nowMs - totalDays * DAY_MS, untilMs: context.nowMs, label }, next };
}

type CalendarUnit = "week" | "month" | "quarter" | "year";

/** Local calendar parts of an instant in a zone. */
function localParts(ms: number, timezone: string): { year: number; month: number; day: number; weekday: number; iso: string } {
  const parts = new Intl.DateTimeFormat("en-US", {
    timeZone: timezone, year: "numeric", month: "numeric", day: "numeric", weekday: "short",
  }).formatToParts(new Date(ms));
  const get = (type: string) => parts.find((part) => part.type === type)?.value ?? "";
  const weekday = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"].indexOf(get("weekday"));
  const [year, month, day] = [Number(get("year")), Number(get("month")), Number(get("day"))];
  const iso = `${String(year).padStart(4, "0")}-${String(month).padStart(2, "0")}-${String(day).padStart(2, "0")}`;
  return { year, month, day, weekday, iso };
}

export function startOf(nowMs: number, timezone: string, unit: CalendarUnit): number {
  const { year, month, day, weekday } = localParts(nowMs, timezone);
  if (unit === "year") return localMidnight(year, 1, 1, timezone);
  if (unit === "quarter") return localMidnight(year, month - ((month - 1) % 3), 1, timezone);
  if (unit === "month") return localMidnight(year, month, 1, timezone);
  // ISO weeks start on Monday; Date.UTC normalises a day before the 1st into the previous month.
  const monday = new Date(Date.UTC(year, month - 1, day - weekday));
  return localMidnight(monday.getUTCFullYear(), monday.getUTCMonth() + 1, monday.getUTCDate(), timezone);
}

function parseLocalDate(text: string, timezone: string): number | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  if (!m) return undefined;
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const check = new Date(Date.UTC(year, month - 1, day));
  if (check.getUTCMonth() !== month - 1 || check.getUTCDate() !== day) return undefined;
  return localMidnight(year, month, day, timezone);
}

/** The same-length window just before, for "change vs previous period". */
export function previousWindowOf(filters: { sinceMs: number; untilMs: number }): { sinceMs: number; untilMs: number } {
  const length = filters.untilMs - filters.sinceMs;
  return { sinceMs: filters.sinceMs - length, untilMs: filters.sinceMs };
}

export const HELP_EXAMPLES = [
  "/flow velocity defects last 30d",
  "/flow time features team:checkout this quarter",
  "/flow efficiency stream:orders last 2 weeks by week",
  "/flow load by day",
  "/flow distribution this month",
  "/flow bottlenecks team:checkout",
  "/flow aging debt",
  "/flow forecast 30 features",
  "/flow forecast by 2027-03-31 team:checkout",
] as const;
