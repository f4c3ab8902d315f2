// Property test of the import against real chDB: random valid histories (the demo generator) are
// written as JSONL and as CSV with random bad lines and exact duplicates mixed in, and imported in
// random batch sizes. Every metric must equal a clean import of only the valid records, and every
// bad line must be in rejected_records with its file:line and a reason. Seeded: a failure names its
// seed and reproduces.
//
// Built to grow: a Scenario is a list of lines, each either a valid record (whose last copy is what
// the store must end up with: `expected`) or a bad line. Corrections (a later line with the same
// item_id + event_id and a new value) would be one more Mutation that replaces the record in
// `expected`; a kill-and-reimport would be one more way to run `importDirty`.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { importFiles, type ImportOptions } from "../connectors/file/import.ts";
import { csvCell } from "../connectors/file/records.ts";
import { prng, sampleRows } from "../connectors/file/sample.ts";
import type { MetricFilters } from "../metrics/api.ts";
import { aging, distribution, efficiency, flowTime, flowTimeSummary, growingQueues, load, timeInState, velocity } from "../metrics/query.ts";
import type { Store } from "../store/store.ts";
import { freshStore } from "./helpers/store.ts";

const DAY = 86_400_000;
const END = Date.UTC(2026, 5, 1);
const SEEDS = [101, 202, 303];
const CSV_COLUMNS = [
  "kind", "item_id", "source", "stream", "key", "title", "url", "flow_type", "team", "labels", "created_at", "source_type",
  "event_id", "from_state", "to_state", "to_flow_state", "at",
];

type Rec = Record<string, unknown>;
type Format = "jsonl" | "csv";

/** One line of a file as bytes; `bad` names the fault when it must be refused. */
interface FileLine {
  bytes: Buffer;
  bad?: string;
}

interface Scenario {
  lines: FileLine[];
  /** The records the store must hold afterwards, in the order a clean file would list them. */
  expected: Rec[];
}

let dir: string;
let store: Store;
let dispose: () => Promise<void>;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), "fp-import-prop-"));
  ({ store, dispose } = await freshStore());
});

afterAll(async () => {
  await dispose?.();
  rmSync(dir, { recursive: true, force: true });
});

/** The sample's records moved to their own ids and stream, so several imports share one store. */
function history(seed: number, tag: string): Rec[] {
  const random = prng(seed * 7 + 1);
  const rows = [...sampleRows({ seed, items: 40, endMs: END, days: 120 })].map((row) => {
    const out: Rec = { ...row, item_id: String(row.item_id).replace(/^demo:/, `${tag}:`) };
    if (row.kind === "item") {
      out.stream = tag;
      // Quoting to exercise the CSV reader: a comma and a doubled quote in some titles.
      if (random() < 0.3) out.title = `${String(row.title)}, "now" with a comma`;
    } else {
      out.event_id = String(row.event_id).replace(/^demo:/, `${tag}:`);
    }
    return out;
  });
  // Interleave some neighbours, so an item's rows are not always together.
  for (let i = 1; i < rows.length; i++) if (random() < 0.15) [rows[i - 1], rows[i]] = [rows[i] as Rec, rows[i - 1] as Rec];
  return rows;
}

function encode(record: Rec, format: Format): string {
  if (format === "jsonl") return JSON.stringify(record);
  return CSV_COLUMNS.map((c) => csvCell(c === "labels" && Array.isArray(record[c]) ? (record[c] as string[]).join("|") : record[c])).join(",");
}

/** Bad lines built from a real transition, so any of them wrongly accepted would change a metric. */
function badLine(kind: string, base: Rec, n: number, format: Format): FileLine {
  const t = { ...base, event_id: `${String(base.event_id)}-bad${n}` };
  const text = (record: Rec) => Buffer.from(encode(record, format));
  switch (kind) {
    case "syntax":
      return {
        bad: kind,
        bytes: Buffer.from(format === "jsonl" ? `{"kind":"transition","event_id":"${String(t.event_id)}",` : encode({ ...t, to_state: 'Do"ing' }, "csv").replace('"Do""ing"', 'Do"ing')),
      };
    case "unclosed":
      // CSV only: a quote opened and never closed; the lines after it must still import.
      return { bad: kind, bytes: Buffer.from(encode({ ...t, to_state: "Doing" }, "csv").replace(",Doing,", ',"Doing,')) };
    case "timestamp":
      return { bad: kind, bytes: text({ ...t, at: "2026-01-06 09:00:00" }) };
    case "missing":
      return { bad: kind, bytes: text({ ...t, to_state: undefined }) };
    case "latin1":
      return { bad: kind, bytes: Buffer.from(encode({ ...t, to_state: "Prüfung" }, format), "latin1") };
    case "overlong":
      return { bad: kind, bytes: text({ ...t, to_state: "x".repeat(1_100_000) }) };
    default:
      throw new Error(kind);
  }
}

function scenario(seed: number, tag: string, format: Format): Scenario {
  const random = prng(seed * 31 + (format === "csv" ? 2 : 1));
  const records = history(seed, tag);
  const transitions = records.filter((r) => r.kind === "transition");
  const kinds = ["syntax", "timestamp", "missing", "latin1", ...(format === "csv" ? ["unclosed"] : [])];
  const lines: FileLine[] = [];
  let overlong = false;
  let bad = 0;
  for (const record of records) {
    if (random() < 0.08) {
      const base = transitions[Math.floor(random() * transitions.length)] as Rec;
      const useOverlong: boolean = !overlong && random() < 0.2;
      overlong ||= useOverlong;
      lines.push(badLine(useOverlong ? "overlong" : (kinds[Math.floor(random() * kinds.length)] as string), base, ++bad, format));
    }
    lines.push({ bytes: Buffer.from(encode(record, format)) });
    // An exact repeat of an earlier valid line, somewhere later.
    if (random() < 0.06) {
      const earlier = lines.filter((l) => !l.bad);
      lines.push({ bytes: (earlier[Math.floor(random() * earlier.length)] as FileLine).bytes });
    }
  }
  return { lines, expected: records };
}

function write(file: string, format: Format, lines: readonly FileLine[]): void {
  const header = format === "csv" ? [Buffer.from(CSV_COLUMNS.join(",") + "\n")] : [];
  writeFileSync(file, Buffer.concat([...header, ...lines.flatMap((l) => [l.bytes, Buffer.from("\n")])]));
}

const strip = (id: string) => id.replace(/^[^:]+:/, "");

async function allMetrics(stream: string) {
  const filters: MetricFilters = { stream, sinceMs: END - 150 * DAY, untilMs: END + DAY, period: "week", timezone: "UTC" };
  return {
    velocity: await velocity(store, filters),
    flowTime: await flowTime(store, filters),
    flowTimeSummary: await flowTimeSummary(store, filters),
    efficiency: await efficiency(store, filters),
    load: await load(store, filters),
    distribution: await distribution(store, filters),
    timeInState: await timeInState(store, filters),
    aging: (await aging(store, filters)).map((row) => ({ ...row, item_id: strip(row.item_id) })),
    growingQueues: await growingQueues(store, filters),
  };
}

async function importDirty(file: string, options: ImportOptions) {
  return importFiles(store, [file], options);
}

describe("import property: bad lines refused one by one, metrics as a clean import", () => {
  it.each(SEEDS)("seed %i", async (seed) => {
    const random = prng(seed);
    // The clean reference: only the valid records, once each, default batches.
    const cleanTag = `c${seed}`;
    const clean = history(seed, cleanTag);
    const cleanFile = path.join(dir, `${cleanTag}.jsonl`);
    write(cleanFile, "jsonl", clean.map((r) => ({ bytes: Buffer.from(JSON.stringify(r)) })));
    expect(await importFiles(store, [cleanFile])).toMatchObject({ rejected: 0 });
    const expected = await allMetrics(cleanTag);
    expect(expected.velocity.length, "the sample delivers something").toBeGreaterThan(0);

    for (const format of ["jsonl", "csv"] as const) {
      const tag = `${format === "jsonl" ? "j" : "v"}${seed}`;
      const { lines } = scenario(seed, tag, format);
      const file = path.join(dir, `${tag}.${format}`);
      write(file, format, lines);
      const options = { batchSize: 1 + Math.floor(random() * 60), commitEvery: 1 + Math.floor(random() * 200) };
      const where = `seed ${seed}, ${format}, ${JSON.stringify(options)}`;
      const summary = await importDirty(file, options);

      const firstLine = format === "csv" ? 2 : 1;
      const badLines = lines.flatMap((l, i) => (l.bad ? [[i + firstLine, l.bad] as const] : []));
      expect(badLines.length, where).toBeGreaterThan(0);
      expect(summary.read, where).toBe(lines.length);
      expect(summary.rejected, where).toBe(badLines.length);
      const rejected = await store.query<{ reference: string; reason: string }>(
        "SELECT reference, reason FROM rejected_records WHERE startsWith(reference, {prefix:String})",
        { prefix: `${file}:` },
      );
      const byLine = new Map(rejected.map((r) => [Number(r.reference.slice(file.length + 1)), r.reason]));
      expect([...byLine.keys()].sort((a, b) => a - b), where).toEqual(badLines.map(([line]) => line));
      for (const [line, kind] of badLines) expect(byLine.get(line), `${where}: line ${line} (${kind})`).toMatch(/\w/);

      expect(await allMetrics(tag), where).toEqual(JSON.parse(JSON.stringify(expected).replaceAll(cleanTag, tag)));
    }
  }, 120_000);
});
