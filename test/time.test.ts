import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { EPOCH_MS_MIN_MAGNITUDE, MAX_TIME_MS, MIN_TIME_MS, parseTimestamp, toClickHouseTime } from "../core/time.ts";
import { importFiles } from "../connectors/file/import.ts";
import { mapContext, mapIssue, statusCategoriesFrom, type RawIssue } from "../connectors/jira/map.ts";
import { TopicConfigSchema } from "../connectors/kafka/config.ts";
import { validateEvent } from "../connectors/kafka/map.ts";
import { WorkflowSchema } from "../core/workflow.ts";
import { board, boardConfig, WORKFLOW } from "./helpers/jira-board.ts";
import { FlowSink } from "../pipeline/sink.ts";
import { freshStore } from "./helpers/store.ts";
import { prng } from "../connectors/file/sample.ts";

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

  it("refuses offsets no zone has, naming the allowed range", () => {
    for (const text of ["2026-05-01T00:00:00+25:00", "2026-05-01T00:00:00+23:99", "2026-05-01T00:00:00+99:99", "2026-05-01T00:00:00.000+14:30", "2026-05-01T00:00:00.000-1500", "2026-05-01T00:00:00.000+0060"]) {
      expect(parseTimestamp(text), text).toEqual({ ok: false, reason: expect.stringContaining("outside -14:00..+14:00") });
    }
    expect(utc("2026-05-01T00:00:00.000+14:00")).toBe("2026-04-30T10:00:00.000Z");
    expect(utc("2026-05-01T00:00:00-1400")).toBe("2026-05-01T14:00:00.000Z");
  });

  it("refuses years the store cannot hold instead of shifting them", () => {
    // Date.UTC reads year 26 as 1926: the parser must not.
    for (const text of ["0026-05-01T00:00:00Z", "0026-05-01T00:00:00.000Z", "1899-12-31T23:59:59.999Z", "2300-01-01T00:00:00.000Z", "9999-12-31T23:59:59Z", "1900-01-01T00:30:00+01:00"]) {
      expect(parseTimestamp(text), text).toEqual({ ok: false, reason: expect.stringContaining("outside the range the store holds (1900-01-01 .. 2299-12-31 UTC)") });
    }
    expect(parseTimestamp("1900-01-01T00:00:00.000Z")).toEqual({ ok: true, ms: MIN_TIME_MS });
    expect(parseTimestamp("2299-12-31T23:59:59.999Z")).toEqual({ ok: true, ms: MAX_TIME_MS });
    // A local date outside the years can still be an instant inside them.
    expect(utc("1899-12-31T20:00:00-08:00")).toBe("1900-01-01T04:00:00.000Z");
    expect(utc("2300-01-01T09:00:00+10:00")).toBe("2299-12-31T23:00:00.000Z");
  });

  it("reads numbers and digit strings as epoch milliseconds and refuses what looks like seconds", () => {
    expect(parseTimestamp(1767603600)).toEqual({ ok: false, reason: "timestamp 1767603600 looks like epoch seconds; send milliseconds (12 digits or more) or ISO 8601" });
    expect(parseTimestamp("1767603600")).toEqual({ ok: false, reason: expect.stringContaining("looks like epoch seconds") });
    expect(parseTimestamp(-99_999_999_999)).toEqual({ ok: false, reason: expect.stringContaining("looks like epoch seconds") });
    expect(utc(1767603600000)).toBe("2026-01-05T09:00:00.000Z");
    expect(utc("1767603600000")).toBe("2026-01-05T09:00:00.000Z");
    expect(utc(-2_000_000_000_000)).toBe("1906-08-16T20:26:40.000Z");
    expect(utc("-2000000000000")).toBe("1906-08-16T20:26:40.000Z");
    expect(utc(EPOCH_MS_MIN_MAGNITUDE)).toBe("1973-03-03T09:46:40.000Z");
    for (const n of [1e21, -1e21, 1e300, MAX_TIME_MS + 1, MIN_TIME_MS - 1]) {
      expect(parseTimestamp(n), String(n)).toEqual({ ok: false, reason: expect.stringContaining("outside the range the store holds") });
    }
    expect(parseTimestamp("100000000000000000000000")).toEqual({ ok: false, reason: expect.stringContaining("outside the range") });
    for (const n of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
      expect(parseTimestamp(n)).toEqual({ ok: false, reason: `timestamp ${n} is not a finite number` });
    }
  });
});


const pad = (n: number, width = 2) => String(n).padStart(width, "0");

/** The wall clock of `ms` at `offset` minutes east of UTC, written by hand (no parser involved). */
function wallClock(ms: number, offset: number, separator: string, fraction: boolean): string {
  const local = new Date(ms + offset * 60_000);
  return `${pad(local.getUTCFullYear(), 4)}-${pad(local.getUTCMonth() + 1)}-${pad(local.getUTCDate())}${separator}` +
    `${pad(local.getUTCHours())}:${pad(local.getUTCMinutes())}:${pad(local.getUTCSeconds())}` +
    (fraction ? `.${pad(local.getUTCMilliseconds(), 3)}` : "");
}

function zone(offset: number, colon: boolean): string {
  const sign = offset < 0 ? "-" : "+";
  const abs = Math.abs(offset);
  return `${sign}${pad(Math.floor(abs / 60))}${colon ? ":" : ""}${pad(abs % 60)}`;
}

/** Every accepted way to write the instant `ms` (whole seconds when `fraction` is false). */
function shapes(ms: number, offset: number): { text: unknown; expected: number }[] {
  const whole = ms - (((ms % 1000) + 1000) % 1000);
  return [
    { text: `${wallClock(ms, 0, "T", true)}Z`, expected: ms },
    { text: `${wallClock(ms, 0, " ", true)}z`, expected: ms },
    { text: `${wallClock(ms, offset, "T", true)}${zone(offset, true)}`, expected: ms },
    { text: `${wallClock(ms, offset, "T", true)}${zone(offset, false)}`, expected: ms },
    { text: `${wallClock(ms, offset, "T", false)}${zone(offset, false)}`, expected: whole },
    { text: `${wallClock(ms, offset, " ", false)}${zone(offset, true)}`, expected: whole },
    { text: ms, expected: ms },
    { text: String(ms), expected: ms },
  ];
}

describe("parseTimestamp, property: random instants over the whole range", () => {
  it("reads every accepted shape to the same millisecond, and the store gives it back exactly", async () => {
    const seed = 20261201;
    const random = prng(seed);
    const span = MAX_TIME_MS - MIN_TIME_MS;
    // The edges and the epoch-seconds threshold are drawn as often as the middle.
    const edges = [MIN_TIME_MS, MAX_TIME_MS, EPOCH_MS_MIN_MAGNITUDE, -EPOCH_MS_MIN_MAGNITUDE, EPOCH_MS_MIN_MAGNITUDE - 1, 0];
    const instants: number[] = [];
    for (let i = 0; i < 3000; i++) {
      const pick = random();
      instants.push(pick < 0.1 ? edges[Math.floor(random() * edges.length)]! + Math.floor((random() - 0.5) * 1e5 * (random() < 0.5 ? 1 : 0)) : MIN_TIME_MS + Math.floor(random() * (span + 1)));
    }
    const accepted = new Map<string, number>();
    for (const [i, drawn] of instants.entries()) {
      const ms = Math.min(MAX_TIME_MS, Math.max(MIN_TIME_MS, drawn));
      const offset = Math.round((random() * 2 - 1) * 14 * 60);
      for (const { text, expected } of shapes(ms, offset)) {
        const parsed = parseTimestamp(text);
        const context = `seed ${seed}, case ${i}: ${JSON.stringify(text)} at offset ${offset}`;
        const epoch = typeof text === "number" || /^-?\d+$/.test(String(text));
        if (epoch && Math.abs(ms) < EPOCH_MS_MIN_MAGNITUDE) {
          expect(parsed, context).toEqual({ ok: false, reason: expect.stringContaining("looks like epoch seconds") });
          continue;
        }
        expect(parsed, context).toEqual({ ok: true, ms: expected });
        accepted.set(`r${i}-${accepted.size}`, expected);
      }
    }

    // Round trip through the real store: the sink writes each instant as a transition's `at`.
    const { store, dispose } = await freshStore();
    try {
      const sink = new FlowSink(store);
      const transitions = [...accepted].map(([id, at]) => ({
        event_id: id, item_id: `p:${id.split("-")[0]}`, from_state: "", to_state: "Open", to_flow_state: "new" as const, at,
      }));
      await sink.write({ transitions });
      await sink.commit();
      const rows = await store.query<{ event_id: string; ms: string; text: string }>(
        "SELECT event_id, toString(toUnixTimestamp64Milli(at)) AS ms, toString(at) AS text FROM transitions FINAL",
      );
      expect(rows.length).toBe(accepted.size);
      for (const row of rows) {
        const expected = accepted.get(row.event_id)!;
        expect({ id: row.event_id, ms: Number(row.ms), text: row.text }).toEqual({ id: row.event_id, ms: expected, text: toClickHouseTime(expected) });
      }
    } finally {
      await dispose();
    }
  }, 120_000);

  it("refuses random garbage and out-of-range values with a reason, never by throwing", () => {
    const seed = 7;
    const random = prng(seed);
    const alphabet = "0123456789-+:TZ .,eE";
    const inputs: unknown[] = [];
    for (let i = 0; i < 5000; i++) {
      const kind = Math.floor(random() * 5);
      if (kind === 0) {
        // Text from timestamp characters: mostly nonsense, sometimes well formed.
        const length = Math.floor(random() * 32);
        inputs.push(Array.from({ length }, () => alphabet[Math.floor(random() * alphabet.length)]).join(""));
      } else if (kind === 1) {
        // Numbers of any magnitude and sign, fractions included.
        inputs.push((random() - 0.5) * 10 ** Math.floor(random() * 40));
      } else if (kind === 2) {
        // Well-formed text with fields out of range: year, month, day, hour, minute, second, offset.
        const f = () => Math.floor(random() * 100);
        inputs.push(`${pad(Math.floor(random() * 10000), 4)}-${pad(f())}-${pad(f())}T${pad(f())}:${pad(f())}:${pad(f())}.${pad(Math.floor(random() * 1000), 3)}${random() < 0.5 ? "+" : "-"}${pad(f())}${random() < 0.5 ? ":" : ""}${pad(f())}`);
      } else if (kind === 3) {
        inputs.push([null, undefined, true, {}, [], Number.NaN, -0, Number.MAX_VALUE, ""][Math.floor(random() * 9)]);
      } else {
        // Instants just outside the range, written as ISO with Z.
        const ms = random() < 0.5 ? MIN_TIME_MS - 1 - Math.floor(random() * 1e12) : MAX_TIME_MS + 1 + Math.floor(random() * 1e12);
        inputs.push(new Date(ms).toISOString());
      }
    }
    let refused = 0;
    for (const [i, input] of inputs.entries()) {
      let outcome: ReturnType<typeof parseTimestamp> | undefined;
      expect(() => (outcome = parseTimestamp(input)), `seed ${seed}, case ${i}: ${String(input)}`).not.toThrow();
      const parsed = outcome!;
      if (parsed.ok) {
        // Whatever is accepted is a storable instant, and says the same when written back as ISO.
        expect(parsed.ms >= MIN_TIME_MS && parsed.ms <= MAX_TIME_MS, `seed ${seed}, case ${i}: ${String(input)}`).toBe(true);
        expect(parseTimestamp(new Date(parsed.ms).toISOString())).toEqual(parsed);
      } else {
        refused++;
        expect(parsed.reason.length, `seed ${seed}, case ${i}`).toBeGreaterThan(0);
      }
    }
    // Nearly all of these must be refused; a parser that accepted them would fail here.
    expect(refused).toBeGreaterThan(4000);
  });
});

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const run = promisify(execFile);

async function flowpulse(cwd: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [path.join(ROOT, "bin", "flowpulse.js"), ...args], {
      cwd, env: { ...process.env, FLOWPULSE_CONFIG: "", FLOWPULSE_DATA: "" },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === "number" ? e.code : -1, stdout: e.stdout ?? "", stderr: e.stderr ?? "" };
  }
}

describe("CLI date options", () => {
  it("refuse a date outside the range, or unparsable, in one line with exit 2, naming the range", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "fp-dates-"));
    try {
      const data = path.join(dir, "store");
      const cases: [string, string, RegExp][] = [
        ["--until", "9999-12-31", /^flowpulse: --until: "9999-12-31" is outside the range/],
        ["--since", "0026-05-01", /^flowpulse: --since: "0026-05-01" is outside the range/],
        ["--since", "1899-12-31", /^flowpulse: --since: "1899-12-31" is outside the range/],
        ["--until", "2026-02-30", /^flowpulse: --until: "2026-02-30" is not a real date/],
        ["--until", "2400-01-01T00:00:00Z", /^flowpulse: --until: timestamp "2400-01-01T00:00:00Z" is outside the range the store holds/],
        ["--since", "1767603600", /^flowpulse: --since: timestamp "1767603600" looks like epoch seconds/],
        ["--since", "next tuesday", /^flowpulse: --since: timestamp "next tuesday" is not ISO 8601/],
      ];
      for (const [option, value, message] of cases) {
        const result = await flowpulse(dir, "--data", data, "metrics", "velocity", option, value);
        expect(result.code, `${option} ${value}: ${result.stderr}`).toBe(2);
        expect(result.stderr.trim().split("\n"), `${option} ${value}`).toHaveLength(1);
        expect(result.stderr, `${option} ${value}`).toMatch(message);
        if (!/real date/.test(result.stderr)) expect(result.stderr).toContain("1900-01-01 .. 2299-12-31");
      }
      // The whole range itself is accepted, both ends included (on a store: metrics refuse a
      // directory that holds none).
      const file = path.join(dir, "one.jsonl");
      writeFileSync(file, JSON.stringify({ kind: "item", item_id: "t:1", source: "t", stream: "s", key: "T-1", flow_type: "feature", created_at: "2026-01-01T00:00:00Z" }) + "\n");
      expect((await flowpulse(dir, "--data", data, "import", file)).code).toBe(0);
      const whole = await flowpulse(dir, "--data", data, "metrics", "velocity", "--since", "1900-01-01", "--until", "2299-12-31", "--format", "json");
      expect(whole.stderr).toBe("");
      expect(whole.code).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});

describe("an import with bad timestamps", () => {
  it("refuses each bad timestamp on its own line with its reason and keeps every row around it", async () => {
    const { store, dir, dispose } = await freshStore();
    try {
      const item = { kind: "item", item_id: "t:1", source: "t", stream: "s", key: "T-1", flow_type: "feature", created_at: "2026-01-05T09:00:00Z" };
      const move = (n: number, at: unknown) => ({ kind: "transition", event_id: `T-1#${n}`, item_id: "t:1", from_state: "", to_state: `S${n}`, to_flow_state: "active", at });
      const lines = [
        item,
        move(1, "2026-01-05T09:00:00Z"),
        move(2, 1e21), // crashed the whole batch before
        move(3, 1767603600), // epoch seconds
        move(4, "2026-01-06T09:00:00+25:00"),
        move(5, "0026-05-01T00:00:00Z"), // stored as 1926 before
        move(6, 1767693600000),
      ];
      const file = path.join(dir, "times.jsonl");
      writeFileSync(file, lines.map((line) => JSON.stringify(line)).join("\n") + "\n");
      const summary = await importFiles(store, [file]);
      expect({ items: summary.items, transitions: summary.transitions, rejected: summary.rejected }).toEqual({ items: 1, transitions: 2, rejected: 4 });
      const stored = await store.query<{ event_id: string; at: string }>("SELECT event_id, toString(at) AS at FROM transitions FINAL ORDER BY event_id");
      expect(stored).toEqual([{ event_id: "T-1#1", at: "2026-01-05 09:00:00.000" }, { event_id: "T-1#6", at: "2026-01-06 10:00:00.000" }]);
      const rejected = await store.query<{ reference: string; reason: string }>("SELECT reference, reason FROM rejected_records ORDER BY length(reference), reference");
      expect(rejected.map((r) => [r.reference.slice(r.reference.lastIndexOf(":") + 1), r.reason])).toEqual([
        ["3", expect.stringContaining("timestamp 1e+21 is outside the range the store holds")],
        ["4", expect.stringContaining("timestamp 1767603600 looks like epoch seconds")],
        ["5", expect.stringContaining("outside -14:00..+14:00")],
        ["6", expect.stringContaining("outside the range the store holds")],
      ]);
    } finally {
      await dispose();
    }
  }, 60_000);
});

describe("every source reads timestamps through the one parser", () => {
  it("a Kafka contract refuses epoch seconds, a 25-hour offset and year 26 as schema errors with the reason", () => {
    const orders = TopicConfigSchema.parse({ topic: "orders", contract: "order" });
    const order = { schema: "order.v1", order_id: "o-1", status: "approved" };
    expect(validateEvent(orders, { ...order, event_time: 1767603600 })).toEqual({ ok: false, reason: "schema", detail: expect.stringContaining("looks like epoch seconds") });
    expect(validateEvent(orders, { ...order, event_time: "2026-01-05T09:00:00+25:00" })).toEqual({ ok: false, reason: "schema", detail: expect.stringContaining("outside -14:00..+14:00") });
    expect(validateEvent(orders, { ...order, event_time: "0026-01-05T09:00:00.000Z" })).toEqual({ ok: false, reason: "schema", detail: expect.stringContaining("outside the range the store holds") });
    expect(validateEvent(orders, { ...order, event_time: 1e21 })).toEqual({ ok: false, reason: "schema", detail: expect.stringContaining("outside the range the store holds") });
    expect(validateEvent(orders, { ...order, event_time: 1767603600000 })).toMatchObject({ ok: true, event: { event_time: 1767603600000 } });
  });

  it("the Jira mapper rejects an issue created in year 26 instead of storing 1926", () => {
    const jira = boardConfig("https://acme.atlassian.net", "cloud").sources.jira!;
    const ctx = mapContext(jira, WorkflowSchema.parse(WORKFLOW), statusCategoriesFrom(board.statuses));
    const issue = structuredClone(board.issues[0]) as RawIssue;
    (issue.fields as Record<string, unknown>).created = "0026-11-02T10:15:31.000-0500";
    const mapped = mapIssue(issue, ctx);
    expect(mapped.item).toBeNull();
    expect(mapped.rejections.map((r) => r.reason)).toEqual([expect.stringContaining("fields.created: timestamp \"0026-11-02T10:15:31.000-0500\" is outside the range")]);
  });
});

