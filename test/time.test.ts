import { describe, expect, it } from "vitest";
import { parseTimestamp, toClickHouseTime } from "../core/time.ts";

const utc = (input: unknown) => {
  const parsed = parseTimestamp(input);
  if (!parsed.ok) throw new Error(parsed.reason);
  return new Date(parsed.ms).toISOString();
};

describe("parseTimestamp", () => {
  it("converts Jira's compact offset to UTC exactly", () => {
    expect(utc("2015-11-02T10:15:31.000-0500")).toBe("2015-11-02T15:15:31.000Z");
    expect(utc("2015-11-02T23:30:00.123+0530")).toBe("2015-11-02T18:00:00.123Z");
  });
  it("accepts colon offsets, Z, a space separator and epoch milliseconds", () => {
    expect(utc("2026-03-01T00:30:00-05:00")).toBe("2026-03-01T05:30:00.000Z");
    expect(utc("2026-03-01 00:30:00Z")).toBe("2026-03-01T00:30:00.000Z");
    expect(utc(1_772_325_000_000)).toBe("2026-03-01T00:30:00.000Z");
  });
  it("keeps milliseconds and truncates finer fractions", () => {
    expect(utc("2026-01-01T00:00:00.9876Z")).toBe("2026-01-01T00:00:00.987Z");
  });
  it("refuses timestamps without an offset, missing ones and impossible dates, saying why", () => {
    expect(parseTimestamp("2026-01-01T10:00:00")).toEqual({ ok: false, reason: expect.stringContaining("no UTC offset") });
    expect(parseTimestamp(undefined)).toEqual({ ok: false, reason: "timestamp is missing" });
    expect(parseTimestamp("2026-02-30T10:00:00Z")).toEqual({ ok: false, reason: expect.stringContaining("not a real date") });
    expect(parseTimestamp("yesterday")).toEqual({ ok: false, reason: expect.stringContaining("not ISO 8601") });
    expect(parseTimestamp(true)).toEqual({ ok: false, reason: expect.stringContaining("must be an ISO 8601 string") });
  });
  it("reads the fixed-width shapes of Jira, Kafka and imports exactly as the calendar says", () => {
    // Oracle: Date.parse on the same instant written with a colon offset.
    const oracle = (text: string) => Date.parse(text.replace(/([+-]\d{2})(\d{2})$/, "$1:$2"));
    for (const text of [
      "2015-11-02T10:15:31.000-0500", "2024-02-29T23:59:59.999+0000", "2024-03-10T02:30:00.000+0530",
      "1999-12-31T23:00:00.123-1200", "2024-03-01T10:00:00.000Z", "2024-03-01T10:00:00.000+01:00",
      "2026-12-31T23:59:59.999-05:00", "2000-02-29T00:00:00.000Z",
    ]) {
      expect(parseTimestamp(text), text).toEqual({ ok: true, ms: oracle(text) });
    }
    for (const impossible of ["2023-02-29T10:00:00.000+0000", "2024-13-01T10:00:00.000+0000", "2024-03-01T24:00:00.000+0000", "1900-02-29T00:00:00.000Z"]) {
      expect(parseTimestamp(impossible), impossible).toEqual({ ok: false, reason: expect.stringContaining("not a real date") });
    }
    expect(parseTimestamp("2024-03-01T10:00:00.000")).toEqual({ ok: false, reason: expect.stringContaining("no UTC offset") });
    expect(parseTimestamp("")).toEqual({ ok: false, reason: "timestamp is missing" });
    expect(parseTimestamp(1_700_000_000_000)).toEqual({ ok: true, ms: 1_700_000_000_000 });
  });

  it("formats the ClickHouse DateTime64(3) literal in UTC", () => {
    expect(toClickHouseTime(Date.UTC(2026, 0, 2, 3, 4, 5, 6))).toBe("2026-01-02 03:04:05.006");
  });
});
