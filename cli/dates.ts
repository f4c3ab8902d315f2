// Date options: `YYYY-MM-DD` is a calendar day in the configured zone (metrics.timezone); anything
// else must be a full ISO 8601 timestamp with an offset (the same rule as imported data).
import { parseTimestamp } from "../core/time.ts";
import { UsageError } from "./errors.ts";

/** Milliseconds the zone is ahead of UTC at the instant `utcMs`. */
export function zoneOffsetMs(utcMs: number, timeZone: string): number {
  const parts = new Intl.DateTimeFormat("en-US", {
    timeZone, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit",
  }).formatToParts(new Date(utcMs));
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value);
  const asUtc = Date.UTC(get("year"), get("month") - 1, get("day"), get("hour"), get("minute"), get("second"));
  return asUtc - Math.floor(utcMs / 1000) * 1000;
}

/** The instant a calendar day begins in the zone. */
export function startOfDay(year: number, month: number, day: number, timeZone: string): number {
  const wall = Date.UTC(year, month - 1, day);
  // Two rounds settle the offset across a DST change.
  let utc = wall - zoneOffsetMs(wall, timeZone);
  utc = wall - zoneOffsetMs(utc, timeZone);
  return utc;
}

/**
 * Parses a --since/--until value. A date-only `--until` includes that whole day (the window ends
 * at the next day's start), so `--since 2026-03-01 --until 2026-03-31` is all of March.
 */
export function parseDateOption(option: string, text: string, timeZone: string, edge: "start" | "end"): number {
  const day = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text.trim());
  if (day) {
    const [y, m, d] = [Number(day[1]), Number(day[2]), Number(day[3])];
    const check = new Date(Date.UTC(y, m - 1, d));
    if (check.getUTCMonth() !== m - 1 || check.getUTCDate() !== d) throw new UsageError(`--${option}: "${text}" is not a real date`);
    return edge === "start" ? startOfDay(y, m, d, timeZone) : startOfDay(y, m, d + 1, timeZone);
  }
  const parsed = parseTimestamp(text);
  if (!parsed.ok) throw new UsageError(`--${option}: use YYYY-MM-DD or an ISO timestamp with an offset (${parsed.reason})`);
  return parsed.ms;
}
