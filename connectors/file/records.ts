// Pure mapping of import rows (a JSONL object or a CSV row) to canonical records. A fast path
// accepts the common well-formed shape with cheap checks; anything it is unsure about goes
// through the zod schemas, which are the authority and produce the reason for a rejection.
import {
  FLOW_STATES,
  TransitionSchema,
  WorkItemSchema,
  describeIssues,
  type FlowState,
  type Transition,
  type WorkItem,
} from "../../core/model.ts";
import { parseTimestamp } from "../../core/time.ts";

export type ImportRecord = { kind: "item"; item: WorkItem } | { kind: "transition"; transition: Transition };
export type MapResult = { ok: true; record: ImportRecord } | { ok: false; reason: string };

export const RECORD_KINDS = ["item", "transition"] as const;

/** The item a record belongs to. */
export function recordItemId(record: ImportRecord): string {
  return record.kind === "item" ? record.item.item_id : record.transition.item_id;
}

const FLOW_STATE_SET = new Set<string>(FLOW_STATES);

/** Printable ASCII other than space: a character zod's trim() certainly keeps. */
const isPlainEnd = (code: number) => code > 32 && code < 127;
/**
 * A required name the schema keeps as is: non-empty, and both ends plain. Anything else (blanks,
 * or a non-ASCII end such as a no-break space, which trim() removes too) goes to zod.
 */
const isName = (v: unknown): v is string =>
  typeof v === "string" && v.length > 0 && isPlainEnd(v.charCodeAt(0)) && isPlainEnd(v.charCodeAt(v.length - 1));
const optString = (v: unknown) => v === undefined || typeof v === "string";

function timestampMs(v: unknown): number | undefined {
  const parsed = parseTimestamp(v);
  return parsed.ok ? parsed.ms : undefined;
}

function fastTransition(o: Record<string, unknown>): Transition | undefined {
  const { event_id, item_id, from_state, to_state, to_flow_state } = o;
  if (!isName(event_id) || !isName(item_id) || !isName(to_state) || !optString(from_state)) return undefined;
  if (typeof to_flow_state !== "string" || !FLOW_STATE_SET.has(to_flow_state)) return undefined;
  const at = timestampMs(o.at);
  if (at === undefined) return undefined;
  return { event_id, item_id, from_state: (from_state as string | undefined) ?? "", to_state, to_flow_state: to_flow_state as FlowState, at };
}

function fastItem(o: Record<string, unknown>): WorkItem | undefined {
  const { item_id, source, stream, key, flow_type, title, url, team, source_type, labels, deleted } = o;
  if (!isName(item_id) || !isName(source) || !isName(stream) || !isName(key) || !isName(flow_type)) return undefined;
  if (!optString(title) || !optString(url) || !optString(team) || !optString(source_type)) return undefined;
  if (labels !== undefined && !(Array.isArray(labels) && labels.every((l) => typeof l === "string"))) return undefined;
  if (deleted !== undefined && typeof deleted !== "boolean") return undefined;
  const created_at = timestampMs(o.created_at);
  if (created_at === undefined) return undefined;
  return {
    item_id, source, stream, key, flow_type, created_at,
    title: (title as string | undefined) ?? "",
    url: (url as string | undefined) ?? "",
    team: (team as string | undefined) ?? "",
    labels: (labels as string[] | undefined) ?? [],
    source_type: (source_type as string | undefined) ?? "",
    deleted: (deleted as boolean | undefined) ?? false,
  };
}

/** Maps one decoded object carrying `kind: "item" | "transition"` to a canonical record. */
export function mapObject(raw: unknown): MapResult {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    return { ok: false, reason: "expected a JSON object" };
  }
  const o = raw as Record<string, unknown>;
  if (o.kind === "transition") {
    const fast = fastTransition(o);
    if (fast) return { ok: true, record: { kind: "transition", transition: fast } };
    const checked = TransitionSchema.safeParse(o);
    return checked.success
      ? { ok: true, record: { kind: "transition", transition: checked.data } }
      : { ok: false, reason: describeIssues(checked.error) };
  }
  if (o.kind === "item") {
    const fast = fastItem(o);
    if (fast) return { ok: true, record: { kind: "item", item: fast } };
    const checked = WorkItemSchema.safeParse(o);
    return checked.success
      ? { ok: true, record: { kind: "item", item: checked.data } }
      : { ok: false, reason: describeIssues(checked.error) };
  }
  return {
    ok: false,
    reason: o.kind === undefined ? 'kind: missing (use "item" or "transition")' : `kind: ${JSON.stringify(o.kind)} is not "item" or "transition"`,
  };
}

/** One JSONL line to a record; blank lines are the caller's business. */
export function mapJsonLine(line: string): MapResult {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch (error) {
    return { ok: false, reason: `not valid JSON: ${(error as Error).message}` };
  }
  return mapObject(parsed);
}

// ---- CSV ---------------------------------------------------------------------------------

const ITEM_COLUMNS = ["item_id", "source", "stream", "key", "title", "url", "flow_type", "team", "labels", "created_at", "source_type", "deleted"];
const TRANSITION_COLUMNS = ["event_id", "item_id", "from_state", "to_state", "to_flow_state", "at"];
const KNOWN_COLUMNS = new Set(["kind", ...ITEM_COLUMNS, ...TRANSITION_COLUMNS]);

/** How a CSV file's rows are told apart, decided once from its header. */
export interface CsvLayout {
  columns: string[];
  /** A fixed kind for every row, or "column" when each row names its own in a `kind` column. */
  kind: "item" | "transition" | "column";
}

/** Reads the header: a `kind` column, or the columns of one record kind (event_id => transitions). */
export function csvLayout(header: readonly string[]): { ok: true; layout: CsvLayout } | { ok: false; reason: string } {
  const columns = header.map((name, i) => (i === 0 ? name.replace(/^\uFEFF/, "") : name).trim().toLowerCase());
  const unknown = columns.filter((c) => !KNOWN_COLUMNS.has(c));
  if (unknown.length) return { ok: false, reason: `unknown column(s) ${unknown.join(", ")}` };
  const duplicate = columns.find((c, i) => columns.indexOf(c) !== i);
  if (duplicate) return { ok: false, reason: `column ${duplicate} appears twice` };
  if (columns.includes("kind")) return { ok: true, layout: { columns, kind: "column" } };
  if (columns.includes("event_id")) return { ok: true, layout: { columns, kind: "transition" } };
  if (columns.includes("created_at")) return { ok: true, layout: { columns, kind: "item" } };
  return { ok: false, reason: "header needs a kind column, or event_id (transitions), or created_at (items)" };
}

/**
 * One CSV row to a record. Empty cells are absent values (defaults apply); `labels` is split on
 * `|`; `deleted` accepts true/false/1/0; timestamps are ISO 8601 with an offset or epoch ms.
 */
export function mapCsvRow(layout: CsvLayout, cells: readonly string[]): MapResult {
  if (cells.length !== layout.columns.length) {
    return { ok: false, reason: `expected ${layout.columns.length} cells, found ${cells.length}` };
  }
  const o: Record<string, unknown> = {};
  for (let i = 0; i < cells.length; i++) {
    const cell = cells[i] as string;
    if (cell === "") continue;
    o[layout.columns[i] as string] = cell;
  }
  if (layout.kind !== "column") o.kind = layout.kind;
  if (typeof o.labels === "string") o.labels = o.labels.split("|").map((l) => l.trim()).filter(Boolean);
  if (typeof o.deleted === "string") {
    const d = o.deleted.trim().toLowerCase();
    if (d === "true" || d === "1") o.deleted = true;
    else if (d === "false" || d === "0") o.deleted = false;
    else return { ok: false, reason: `deleted: "${o.deleted}" is not true, false, 1 or 0` };
  }
  return mapObject(o);
}

/**
 * Assembles CSV records from lines (RFC 4180: `,` separators, `"` quoting with `""` escapes, line
 * breaks allowed inside quotes). feed() returns the cells once a record is complete, else null.
 */
export class CsvRecordReader {
  private cells: string[] = [];
  private cell = "";
  private quoted = false;
  private started = false;

  feed(line: string): string[] | null {
    if (this.quoted) this.cell += "\n";
    this.started = true;
    let i = 0;
    const n = line.length;
    while (i < n) {
      const ch = line.charCodeAt(i);
      if (this.quoted) {
        if (ch === 34 /* " */) {
          if (line.charCodeAt(i + 1) === 34) {
            this.cell += '"';
            i += 2;
            continue;
          }
          this.quoted = false;
          i += 1;
          continue;
        }
        // Copy the run up to the next quote at once.
        const next = line.indexOf('"', i);
        const end = next === -1 ? n : next;
        this.cell += line.slice(i, end);
        i = end;
        continue;
      }
      if (ch === 44 /* , */) {
        this.cells.push(this.cell);
        this.cell = "";
        i += 1;
      } else if (ch === 34 && this.cell.trim() === "") {
        this.cell = "";
        this.quoted = true;
        i += 1;
      } else if ((ch === 32 || ch === 9) && this.cell.trim() === "") {
        // Blanks before an opening quote are dropped with it; keep them until we know.
        this.cell += line[i];
        i += 1;
      } else {
        const next = line.indexOf(",", i);
        const end = next === -1 ? n : next;
        this.cell += line.slice(i, end);
        i = end;
      }
    }
    if (this.quoted) return null;
    const cells = this.cells;
    cells.push(this.cell);
    this.cells = [];
    this.cell = "";
    this.started = false;
    return cells;
  }

  /** True when a quoted cell is still open (the file ended inside a quote). */
  get pending(): boolean {
    return this.started && this.quoted;
  }

  reset(): void {
    this.cells = [];
    this.cell = "";
    this.quoted = false;
    this.started = false;
  }
}

/** CSV text for one row (used by docs, tests and exporters): quotes only where needed. */
export function csvCell(value: unknown): string {
  const text = value === null || value === undefined ? "" : String(value);
  return /[",\r\n]/.test(text) || /^\s|\s$/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}
