// Dirty import files for the property tests: random valid histories (the demo generator) written as
// JSONL or CSV with random bad lines, exact repeats and corrections mixed in. A correction is an
// earlier draft of a record (same item_id, and event_id for a transition, with other values) that
// a later line replaces: the later line must win. Every bad line is built from a real record, so
// one wrongly accepted would change a metric.
import { writeFileSync } from "node:fs";
import { csvCell } from "../../connectors/file/records.ts";
import { prng, sampleRows } from "../../connectors/file/sample.ts";
import type { MetricFilters } from "../../metrics/api.ts";
import { aging, distribution, efficiency, flowTime, flowTimeSummary, growingQueues, load, timeInState, velocity } from "../../metrics/query.ts";
import type { Store } from "../../store/store.ts";

export const DAY = 86_400_000;
/** The sample's histories end here, so every figure is fixed but open items' ages. */
export const END = Date.UTC(2026, 5, 1);

const CSV_COLUMNS = [
  "kind", "item_id", "source", "stream", "key", "title", "url", "flow_type", "team", "labels", "created_at", "source_type",
  "event_id", "from_state", "to_state", "to_flow_state", "at",
];

export type Rec = Record<string, unknown>;
export type Format = "jsonl" | "csv";

/** One line of a file as bytes; `bad` names the fault when it must be refused; `draft` when a later line replaces it. */
export interface FileLine {
  bytes: Buffer;
  bad?: string;
  draft?: boolean;
}

export interface Scenario {
  lines: FileLine[];
  /** The records the store must hold afterwards, in the order a clean file would list them. */
  expected: Rec[];
}

/** The sample's records moved to their own ids and stream, so several imports can share one store. */
export function history(seed: number, tag: string, items = 40): Rec[] {
  const random = prng(seed * 7 + 1);
  const rows = [...sampleRows({ seed, items, endMs: END, days: 120 })].map((row) => {
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

export function encode(record: Rec, format: Format): string {
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

/**
 * A draft that `record` corrects: a transition `days` away in time, an item on another team with
 * another title. Both would change figures (flow time, the team filter) if the draft won.
 */
function draftOf(record: Rec, days: number): Rec {
  if (record.kind === "transition") return { ...record, at: new Date(Date.parse(String(record.at)) + days * DAY).toISOString() };
  return { ...record, team: "draft-team", title: `draft of ${String(record.title)}` };
}

export interface ScenarioOptions {
  /** Share of records preceded by a draft that they correct (0: none). */
  corrections?: number;
  items?: number;
}

export function scenario(seed: number, tag: string, format: Format, options: ScenarioOptions = {}): Scenario {
  const random = prng(seed * 31 + (format === "csv" ? 2 : 1));
  const records = history(seed, tag, options.items);
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
    if (random() < (options.corrections ?? 0)) {
      lines.push({ bytes: Buffer.from(encode(draftOf(record, 1 + Math.floor(random() * 3)), format)), draft: true });
    }
    lines.push({ bytes: Buffer.from(encode(record, format)) });
    // An exact repeat of an earlier valid line (never a draft: a repeated draft would be a new correction), somewhere later.
    if (random() < 0.06) {
      const earlier = lines.filter((l) => !l.bad && !l.draft);
      lines.push({ bytes: (earlier[Math.floor(random() * earlier.length)] as FileLine).bytes });
    }
  }
  return { lines, expected: records };
}

export function writeLines(file: string, format: Format, lines: readonly FileLine[]): void {
  const header = format === "csv" ? [Buffer.from(CSV_COLUMNS.join(",") + "\n")] : [];
  writeFileSync(file, Buffer.concat([...header, ...lines.flatMap((l) => [l.bytes, Buffer.from("\n")])]));
}

/** The file line numbers of the bad lines, with their fault. */
export function badLineNumbers(format: Format, lines: readonly FileLine[]): (readonly [number, string])[] {
  const firstLine = format === "csv" ? 2 : 1;
  return lines.flatMap((l, i) => (l.bad ? [[i + firstLine, l.bad] as const] : []));
}

/** Every metric over the histories' window for one stream, to compare a dirty import with a clean one. */
export async function allMetrics(store: Store, stream: string) {
  const filters: MetricFilters = { stream, sinceMs: END - 150 * DAY, untilMs: END + DAY, period: "week", timezone: "UTC" };
  return {
    velocity: await velocity(store, filters),
    flowTime: await flowTime(store, filters),
    flowTimeSummary: await flowTimeSummary(store, filters),
    efficiency: await efficiency(store, filters),
    load: await load(store, filters),
    distribution: await distribution(store, filters),
    timeInState: await timeInState(store, filters),
    aging: await aging(store, filters),
    growingQueues: await growingQueues(store, filters),
  };
}
