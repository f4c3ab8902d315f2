// Pure mapping of import rows (a JSONL object or a CSV row) to canonical records. A fast path
// accepts the common well-formed shape with cheap checks; anything it is unsure about goes
// through the zod schemas, which are the authority and produce the reason for a rejection.
import {
  FLOW_STATES,
  isWellFormedText,
  TransitionSchema,
  WorkItemSchema,
  describeIssues,
  type FlowState,
  type Transition,
  type WorkItem,
} from "../../core/model.ts";
import { parseTimestamp } from "../../core/time.ts";
import { lineText, MAX_RECORD_BYTES, type Line } from "./lines.ts";

export type ImportRecord = { kind: "item"; item: WorkItem } | { kind: "transition"; transition: Transition };
export type MapResult = { ok: true; record: ImportRecord } | { ok: false; reason: string };

export const RECORD_KINDS = ["item", "transition"] as const;

/** The item a record belongs to. */
export function recordItemId(record: ImportRecord): string {
  return record.kind === "item" ? record.item.item_id : record.transition.item_id;
}

/**
 * Counts records that repeat an earlier one of the same batch (the same item_id for items, the
 * same item_id and event_id for transitions): the store keeps one row for them, so a summary
 * must not count them as stored twice. Held per batch, not per file, so memory stays bounded;
 * repeats across batches or of rows stored earlier are not seen here. The keys it keeps also
 * give the batch's item ids, so the JSONL worker needs no second set for those.
 */
export class RepeatCounter {
  items = 0;
  transitions = 0;
  private seenItems = new Set<string>();
  /** Per item, its event ids so far: a short array (most items move a few times), a set past that. */
  private seenEvents = new Map<string, string[] | Set<string>>();
  private lastItemId = "";
  private lastEvents: string[] | Set<string> | undefined;

  see(record: ImportRecord): void {
    if (record.kind === "item") {
      const size = this.seenItems.size;
      if (this.seenItems.add(record.item.item_id).size === size) this.items += 1;
      return;
    }
    const { item_id, event_id } = record.transition;
    // Files usually keep an item's moves together: the previous record's list saves the map lookup.
    let events = item_id === this.lastItemId ? this.lastEvents : this.seenEvents.get(item_id);
    if (!events) {
      events = [];
      this.seenEvents.set(item_id, events);
    }
    if (Array.isArray(events)) {
      if (events.includes(event_id)) this.transitions += 1;
      else if (events.push(event_id) > 32) {
        events = new Set(events);
        this.seenEvents.set(item_id, events);
      }
    } else {
      const size = events.size;
      if (events.add(event_id).size === size) this.transitions += 1;
    }
    this.lastItemId = item_id;
    this.lastEvents = events;
  }

  /** Every item the batch's records touch, once each (what the sink queues for derivation). */
  itemIds(): string[] {
    const ids = [...this.seenEvents.keys()];
    for (const id of this.seenItems) if (!this.seenEvents.has(id)) ids.push(id);
    return ids;
  }

  /** A new batch: the counts start again, and what the next records repeat is no longer known. */
  clear(): void {
    this.items = 0;
    this.transitions = 0;
    this.seenItems = new Set();
    this.seenEvents = new Map();
    this.lastItemId = "";
    this.lastEvents = undefined;
  }
}

const FLOW_STATE_SET = new Set<string>(FLOW_STATES);

/** Printable ASCII other than space: a character zod's trim() certainly keeps. */
const isPlainEnd = (code: number) => code > 32 && code < 127;
/**
 * A required name the schema keeps as is: non-empty, and both ends plain. Anything else (blanks,
 * or a non-ASCII end such as a no-break space, which trim() removes too) goes to zod.
 */
const isName = (v: unknown): v is string =>
  typeof v === "string" && v.length > 0 && isPlainEnd(v.charCodeAt(0)) && isPlainEnd(v.charCodeAt(v.length - 1)) && isWellFormedText(v);
const optString = (v: unknown) => v === undefined || (typeof v === "string" && isWellFormedText(v));

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
  if (labels !== undefined && !(Array.isArray(labels) && labels.every((l) => typeof l === "string" && isWellFormedText(l)))) return undefined;
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

/** A JSONL line as read (text, or the fault that kept it from being text): blank, or mapped with the payload a refusal keeps. */
export function mapJsonlLine(raw: Line, lineNo: number): (MapResult & { payload: string }) | undefined {
  if (typeof raw !== "string") return { ok: false, reason: raw.reason, payload: raw.payload };
  const line = lineText(raw, lineNo);
  if (line.trim() === "") return undefined;
  return { ...mapJsonLine(line), payload: raw };
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

/** A CSV record read from one or more lines, or a refused record with the reason. */
export type CsvOutcome =
  | { ok: true; cells: string[]; line: number; text: string }
  | { ok: false; line: number; reason: string; text: string };

interface HeldLine {
  text: Line;
  no: number;
}

const isBlank = (code: number) => code === 32 || code === 9;

/**
 * Assembles RFC 4180 records from lines: `,` separators, `"` quoting with `""` escapes, line
 * breaks allowed inside quotes. A record that cannot be right is refused on its own and the
 * reader resynchronises: when a quoted cell opened on a line never closes properly (the file
 * ends inside it, the record grows past MAX_RECORD_BYTES, the record it closes has the wrong
 * number of cells, or a line inside it cannot be read), only that first line is refused and the
 * lines after it are read again as new records. So one stray quote costs one line, not the rest
 * of the file, and no more than the cap is ever held.
 */
export class CsvRecordReader {
  /** Cells a record must have once the header is known (0: not known yet). */
  expectedCells = 0;
  /** The lines of the record still open (a quoted cell spans them), first line first. */
  private held: HeldLine[] = [];
  private heldBytes = 0;
  private cells: string[] = [];
  private cell = "";
  private quoted = false;
  /** The current cell was quoted and its closing quote seen: only blanks or `,` may follow. */
  private closed = false;

  constructor(private readonly maxBytes = MAX_RECORD_BYTES) {}

  /** Reads line `no`; finished or refused records are appended to `out` in file order. */
  feed(line: Line, no: number, out: CsvOutcome[]): void {
    const replay = this.step(line, no, out);
    if (replay) this.run(replay, out);
  }

  /** The file ended: a record still open is refused at its first line and the rest read again. */
  end(out: CsvOutcome[]): void {
    while (this.held.length) {
      this.run(this.fail("a quoted cell opened on this line is never closed (the file ends inside it)", out), out);
    }
  }

  /** True while a quoted cell is open across lines. */
  get pending(): boolean {
    return this.held.length > 0;
  }

  private run(lines: HeldLine[], out: CsvOutcome[]): void {
    let queue = lines;
    for (let i = 0; i < queue.length; i++) {
      const { text, no } = queue[i] as HeldLine;
      const replay = this.step(text, no, out);
      if (replay) {
        queue = replay.concat(queue.slice(i + 1));
        i = -1;
      }
    }
  }

  /** One line; returns the lines to read again when the open record was refused. */
  private step(line: Line, no: number, out: CsvOutcome[]): HeldLine[] | null {
    if (typeof line !== "string") {
      if (this.held.length === 0) {
        out.push({ ok: false, line: no, reason: line.reason, text: line.payload });
        return null;
      }
      return this.fail(`a quoted cell opened on this line runs into line ${no}, which cannot be read`, out, { text: line, no });
    }
    if (this.held.length === 0) {
      // Blank lines between records are skipped; trim() only for lines that start blank.
      if (line.length === 0 || (line.charCodeAt(0) <= 32 && line.trim() === "")) return null;
    } else {
      const bytes = Buffer.byteLength(line) + 1;
      if (this.heldBytes + bytes > this.maxBytes) {
        return this.fail(`the record starting here grows past ${this.maxBytes / 1_048_576} MiB: is a quote left open?`, out, { text: line, no });
      }
      this.heldBytes += bytes;
      this.cell += "\n";
    }
    const error = this.parse(line);
    if (error) {
      if (this.held.length === 0) {
        this.reset();
        out.push({ ok: false, line: no, reason: error, text: line });
        return null;
      }
      return this.fail(`a quoted cell opened on this line ends in a malformed record on line ${no} (${error})`, out, { text: line, no });
    }
    if (this.quoted) {
      if (this.held.length === 0) this.heldBytes = Buffer.byteLength(line);
      this.held.push({ text: line, no });
      return null;
    }
    const cells = this.cells;
    cells.push(this.cell);
    if (this.held.length === 0) {
      this.cells = [];
      this.cell = "";
      this.closed = false;
      out.push({ ok: true, cells, line: no, text: line });
      return null;
    }
    if (this.expectedCells > 0 && cells.length !== this.expectedCells) {
      return this.fail(
        `a quoted cell opened on this line closes on line ${no} with ${cells.length} cells, expected ${this.expectedCells}: is a quote left open?`,
        out,
        { text: line, no },
      );
    }
    const first = (this.held[0] as HeldLine).no;
    const text = [...this.held.map((h) => h.text as string), line].join("\n");
    this.reset();
    out.push({ ok: true, cells, line: first, text });
    return null;
  }

  /** Refuses the open record's first line; returns the lines after it (and `current`) to read again. */
  private fail(reason: string, out: CsvOutcome[], current?: HeldLine): HeldLine[] {
    const [first, ...rest] = this.held as [HeldLine, ...HeldLine[]];
    out.push({ ok: false, line: first.no, reason, text: first.text as string });
    this.reset();
    if (current) rest.push(current);
    return rest;
  }

  /** Continues the current record with one line's characters; returns an RFC 4180 error, if any. */
  private parse(line: string): string | undefined {
    let i = 0;
    const n = line.length;
    // The next quote at or after i in unquoted text (-1: none), found once rather than per cell.
    let quoteAt = this.quoted ? 0 : line.indexOf('"');
    while (i < n) {
      if (this.quoted) {
        const q = line.indexOf('"', i);
        if (q === -1) {
          this.cell += i === 0 ? line : line.slice(i);
          return undefined;
        }
        this.cell += line.slice(i, q);
        if (line.charCodeAt(q + 1) === 34 /* " */) {
          this.cell += '"';
          i = q + 2;
        } else {
          this.quoted = false;
          this.closed = true;
          i = q + 1;
        }
        continue;
      }
      const ch = line.charCodeAt(i);
      if (ch === 44 /* , */) {
        this.cells.push(this.cell);
        this.cell = "";
        this.closed = false;
        i += 1;
      } else if (this.closed) {
        if (!isBlank(ch)) return `cell ${this.cells.length + 1}: text after the closing quote (a quote inside a quoted cell is written "")`;
        i += 1;
      } else if (ch === 34 && this.cell.trim() === "") {
        // Blanks before an opening quote go with it.
        this.cell = "";
        this.quoted = true;
        i += 1;
      } else if (isBlank(ch) && this.cell.trim() === "") {
        // Keep leading blanks until we know whether a quote follows.
        this.cell += line[i];
        i += 1;
      } else {
        const comma = line.indexOf(",", i);
        const end = comma === -1 ? n : comma;
        if (quoteAt !== -1 && quoteAt < i) quoteAt = line.indexOf('"', i);
        if (quoteAt !== -1 && quoteAt < end) {
          return `cell ${this.cells.length + 1}: a quote inside an unquoted cell (quote the whole cell and write the quote as "")`;
        }
        this.cell += line.slice(i, end);
        i = end;
      }
    }
    return undefined;
  }

  private reset(): void {
    this.held = [];
    this.heldBytes = 0;
    this.cells = [];
    this.cell = "";
    this.quoted = false;
    this.closed = false;
  }
}

/** CSV text for one row (used by docs, tests and exporters): quotes only where needed. */
export function csvCell(value: unknown): string {
  const text = value === null || value === undefined ? "" : String(value);
  return /[",\r\n]/.test(text) || /^\s|\s$/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}
