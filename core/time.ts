// Timestamps enter in many shapes (Jira's `2015-11-02T10:15:31.000-0500`, ISO with `Z`, epoch
// milliseconds) and are stored as UTC with millisecond precision. A timestamp without an offset is
// refused: guessing a zone would shift every duration computed from it. Every source parses here,
// so the ranges below are the one rule for what the store accepts.

/** The first and last instants a DateTime64(3, 'UTC') column holds: 1900-01-01 .. 2299-12-31. */
export const MIN_TIME_MS = Date.UTC(1900, 0, 1);
export const MAX_TIME_MS = Date.UTC(2300, 0, 1) - 1;
export const TIME_RANGE = "1900-01-01 .. 2299-12-31 UTC";
/**
 * A number below this magnitude is refused as epoch seconds: every instant the store holds is
 * below 1.1e10 in seconds, while in milliseconds this threshold is only 1973-03-03. So an epoch
 * millisecond value needs 12 digits; the few years 1966..1973 in milliseconds must be sent as ISO.
 */
export const EPOCH_MS_MIN_MAGNITUDE = 1e11;
/** UTC offsets in use run from -12:00 to +14:00; anything beyond ±14:00 is a typo, not a zone. */
const MAX_OFFSET_MINUTES = 14 * 60;

const ISO_WITH_OFFSET =
  /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)$/i;

export type ParsedTime = { ok: true; ms: number } | { ok: false; reason: string };

const outOfRange = (shown: string): ParsedTime => ({ ok: false, reason: `timestamp ${shown} is outside the range the store holds (${TIME_RANGE})` });

/** Epoch milliseconds, from a JSON number or a digit string (shown as given in a reason). */
function fromEpochMs(n: number, shown: string): ParsedTime {
  if (!Number.isFinite(n)) return { ok: false, reason: `timestamp ${shown} is not a finite number` };
  if (Math.abs(n) < EPOCH_MS_MIN_MAGNITUDE) {
    return { ok: false, reason: `timestamp ${shown} looks like epoch seconds; send milliseconds (12 digits or more) or ISO 8601` };
  }
  const ms = Math.trunc(n);
  return ms < MIN_TIME_MS || ms > MAX_TIME_MS ? outOfRange(shown) : { ok: true, ms };
}

/**
 * Parses one timestamp to epoch milliseconds UTC, or says why it cannot be stored: numbers and
 * digit strings are epoch milliseconds; text is ISO 8601 with an offset within ±14:00; the
 * instant must lie in MIN_TIME_MS..MAX_TIME_MS. Never throws, whatever the input.
 */
export function parseTimestamp(input: unknown): ParsedTime {
  if (typeof input === "number") return fromEpochMs(input, String(input));
  if (input === undefined || input === null || (typeof input === "string" && input.trim() === "")) {
    return { ok: false, reason: "timestamp is missing" };
  }
  if (typeof input !== "string") return { ok: false, reason: "timestamp must be an ISO 8601 string or epoch milliseconds" };
  const fixed = parseFixedWidth(input);
  if (fixed !== null) return { ok: true, ms: fixed };
  const text = input.trim();
  if (/^-?\d+$/.test(text)) return fromEpochMs(Number(text), `"${shorten(text)}"`);
  const m = ISO_WITH_OFFSET.exec(text);
  if (!m) {
    if (/^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}/.test(text)) {
      return { ok: false, reason: `timestamp "${shorten(text)}" has no UTC offset (add Z or ±HH:MM)` };
    }
    return { ok: false, reason: `timestamp "${shorten(text)}" is not ISO 8601 with an offset` };
  }
  const [, y, mo, d, h, mi, s = "0", frac = "0", zone = "Z"] = m;
  const offset = offsetMinutes(zone);
  if (offset === null) {
    return { ok: false, reason: `timestamp "${text}" has offset ${zone}, outside -14:00..+14:00 (minutes below 60)` };
  }
  const year = Number(y);
  // Checked before Date.UTC, which would read years 0..99 as 1900..1999. A local 1899-12-31 or
  // 2300-01-01 may still be in range in UTC: the instant decides below.
  if (year < 1899 || year > 2300) return outOfRange(`"${text}"`);
  const millis = Number(frac.padEnd(3, "0").slice(0, 3));
  const utc = Date.UTC(year, Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s), millis);
  const check = new Date(utc);
  if (check.getUTCDate() !== Number(d) || check.getUTCMonth() !== Number(mo) - 1 || Number(h) > 23 || Number(mi) > 59 || Number(s) > 59) {
    return { ok: false, reason: `timestamp "${text}" is not a real date and time` };
  }
  const ms = utc - offset * 60_000;
  return ms < MIN_TIME_MS || ms > MAX_TIME_MS ? outOfRange(`"${text}"`) : { ok: true, ms };
}

/** A reason quotes at most 40 characters of what it refuses. */
function shorten(text: string): string {
  return text.length > 40 ? `${text.slice(0, 40)}...` : text;
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** The decimal number in text[start, start + length), or -1 if any character is not a digit. */
function digitsAt(text: string, start: number, length: number): number {
  let value = 0;
  for (let i = start; i < start + length; i++) {
    const digit = text.charCodeAt(i) - 48;
    if (digit < 0 || digit > 9) return -1;
    value = value * 10 + digit;
  }
  return value;
}

/**
 * The shapes sources send by the million (`2026-03-01T10:15:31.000Z`, GitHub's `2026-03-01T10:15:31Z`, Jira's
 * `2015-11-02T10:15:31.000-0500`, and `...-05:00`), read without a regex: imports, the Kafka
 * stream and the Jira mapper all pass through here. Anything else, or anything odd, returns null
 * and takes the general path, which gives the same answer, only slower.
 */
function parseFixedWidth(t: string): number | null {
  const n = t.length;
  if (n !== 20 && n !== 24 && n !== 28 && n !== 29) return null;
  if (t[4] !== "-" || t[7] !== "-" || t[10] !== "T" || t[13] !== ":" || t[16] !== ":" || (n === 20 ? t[19] !== "Z" : t[19] !== ".")) return null;
  let offset = 0;
  if (n === 20) {
    // GitHub's form, whole seconds in UTC: `2026-03-01T10:15:31Z`.
  } else if (n === 24) {
    if (t[23] !== "Z") return null;
  } else {
    const sign = t[23] === "+" ? 1 : t[23] === "-" ? -1 : 0;
    const hours = digitsAt(t, 24, 2);
    const minutes = n === 28 ? digitsAt(t, 26, 2) : t[26] === ":" ? digitsAt(t, 27, 2) : -1;
    if (sign === 0 || hours < 0 || minutes < 0 || minutes > 59) return null;
    offset = sign * (hours * 60 + minutes);
    if (offset > MAX_OFFSET_MINUTES || offset < -MAX_OFFSET_MINUTES) return null;
  }
  const y = digitsAt(t, 0, 4), mo = digitsAt(t, 5, 2), d = digitsAt(t, 8, 2);
  const h = digitsAt(t, 11, 2), mi = digitsAt(t, 14, 2), s = digitsAt(t, 17, 2), ms = n === 20 ? 0 : digitsAt(t, 20, 3);
  // Years the store cannot hold go the general way, which words the refusal.
  if (y < 1900 || y > 2299 || mo < 1 || mo > 12 || d < 1 || h < 0 || h > 23 || mi < 0 || mi > 59 || s < 0 || s > 59 || ms < 0) return null;
  const leap = mo === 2 && y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0) ? 1 : 0;
  if (d > (DAYS_IN_MONTH[mo - 1] as number) + leap) return null;
  const utc = Date.UTC(y, mo - 1, d, h, mi, s, ms) - offset * 60_000;
  // Only the first and last hours of the range can cross it through the offset.
  return utc < MIN_TIME_MS || utc > MAX_TIME_MS ? null : utc;
}

/** Minutes ahead of UTC, or null for an offset no zone has (beyond ±14:00, or minutes of 60+). */
function offsetMinutes(zone: string): number | null {
  if (zone.toUpperCase() === "Z") return 0;
  const sign = zone.startsWith("-") ? -1 : 1;
  const digits = zone.slice(1).replace(":", "");
  const hours = Number(digits.slice(0, 2));
  const minutes = digits.length > 2 ? Number(digits.slice(2, 4)) : 0;
  const total = hours * 60 + minutes;
  return minutes > 59 || total > MAX_OFFSET_MINUTES ? null : sign * total;
}

/** True for an IANA zone name this runtime knows (UTC, America/New_York, ...). */
export function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** Milliseconds the zone is ahead of UTC at the instant `utcMs` (negative west of Greenwich). */
export function zoneOffsetMs(utcMs: number, timeZone: string): number {
  const parts = new Intl.DateTimeFormat("en-US", {
    timeZone, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit",
  }).formatToParts(new Date(utcMs));
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value);
  const asUtc = Date.UTC(get("year"), get("month") - 1, get("day"), get("hour"), get("minute"), get("second"));
  return asUtc - Math.floor(utcMs / 1000) * 1000;
}

/** The instant a calendar day begins in the zone (days past a month's end roll over, as Date.UTC does). */
export function localMidnight(year: number, month: number, day: number, timeZone: string): number {
  const wall = Date.UTC(year, month - 1, day);
  // Two rounds settle the offset across a DST change between the guess and midnight.
  const first = wall - zoneOffsetMs(wall, timeZone);
  return wall - zoneOffsetMs(first, timeZone);
}

/** ClickHouse DateTime64(3) literal in UTC, the form every table stores. */
export function toClickHouseTime(ms: number): string {
  // toISOString throws a RangeError for an invalid time, which is what a caller should see.
  return new Date(ms).toISOString().replace("T", " ").replace("Z", "");
}

/** Parses ClickHouse's `YYYY-MM-DD hh:mm:ss.fff` (a UTC column) back to epoch milliseconds. */
export function fromClickHouseTime(text: string): number {
  return Date.parse(text.replace(" ", "T") + "Z");
}

/** Runs `work` and adds the milliseconds it took to `totals[key]`, whether it succeeds or fails. */
export async function addElapsed<K extends string, T>(totals: Record<K, number>, key: K, work: () => Promise<T>): Promise<T> {
  const started = performance.now();
  try {
    return await work();
  } finally {
    totals[key] += performance.now() - started;
  }
}
