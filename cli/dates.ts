// Date options: `YYYY-MM-DD` is a calendar day in the configured zone (metrics.timezone); anything
// else must be a full ISO 8601 timestamp with an offset (the same rule as imported data).
import { localMidnight, parseTimestamp } from "../core/time.ts";
import { UsageError } from "./errors.ts";

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
    return edge === "start" ? localMidnight(y, m, d, timeZone) : localMidnight(y, m, d + 1, timeZone);
  }
  const parsed = parseTimestamp(text);
  if (!parsed.ok) throw new UsageError(`--${option}: use YYYY-MM-DD or an ISO timestamp with an offset (${parsed.reason})`);
  return parsed.ms;
}
