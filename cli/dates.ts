// Date options: `YYYY-MM-DD` is a calendar day in the configured zone (metrics.timezone); anything
// else must be a full ISO 8601 timestamp with an offset (the same rule and range as imported data).
import { localMidnight, MAX_TIME_MS, MIN_TIME_MS, parseTimestamp, TIME_RANGE } from "../core/time.ts";
import { UsageError } from "./errors.ts";

/**
 * Parses a --since/--until value. A date-only `--until` includes that whole day (the window ends
 * at the next day's start), so `--since 2026-03-01 --until 2026-03-31` is all of March.
 */
export function parseDateOption(option: string, text: string, timeZone: string, edge: "start" | "end"): number {
  const accepted = `use a date YYYY-MM-DD or an ISO timestamp with an offset, within ${TIME_RANGE}`;
  const day = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text.trim());
  if (day) {
    const [y, m, d] = [Number(day[1]), Number(day[2]), Number(day[3])];
    // Checked before Date.UTC, which reads years 0..99 as 1900..1999.
    if (y < 1900 || y > 2299) throw new UsageError(`--${option}: "${text}" is outside the range (${accepted})`);
    const check = new Date(Date.UTC(y, m - 1, d));
    if (check.getUTCMonth() !== m - 1 || check.getUTCDate() !== d) throw new UsageError(`--${option}: "${text}" is not a real date`);
    const ms = edge === "start" ? localMidnight(y, m, d, timeZone) : localMidnight(y, m, d + 1, timeZone);
    // The zone may push the first or last day's midnight just past the stored range; an exclusive
    // end may sit one millisecond after it.
    return Math.min(Math.max(ms, MIN_TIME_MS), MAX_TIME_MS + 1);
  }
  const parsed = parseTimestamp(text);
  if (!parsed.ok) throw new UsageError(`--${option}: ${parsed.reason} (${accepted})`);
  return parsed.ms;
}
