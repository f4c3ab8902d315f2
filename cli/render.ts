// Output of row objects as aligned text tables, JSON or CSV. Generic over the row shape: headers
// and number formats come from field-name conventions (`*_days` are days, `efficiency` and
// `share` are fractions shown as percent), so new metric fields render without changes here.
import { csvCell } from "../connectors/file/records.ts";

export const OUTPUT_FORMATS = ["table", "json", "csv"] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];
export type Row = Record<string, unknown>;

const PERCENT_FIELDS = new Set(["efficiency", "share"]);

// Characters that let printed input act on the terminal instead of being read: C0 controls, DEL
// and C1 controls (ESC and CSI start escape sequences) and the bidi controls that reorder what is
// shown (so `abc` can display as `cba`). U+0009, U+000A, U+000D are C0 too.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
// eslint-disable-next-line no-control-regex -- as above, less the tab and line breaks CSV quotes
const UNSAFE_IN_CSV = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
/** What JSON.stringify leaves raw inside strings (it escapes C0 itself). */
const UNSAFE_IN_JSON = /[\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
const NAMED: Record<string, string> = { "\n": "\\n", "\r": "\\r", "\t": "\\t" };

function escapeChar(ch: string): string {
  const code = ch.charCodeAt(0);
  return NAMED[ch] ?? (code < 0x80 ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u${code.toString(16).padStart(4, "0")}`);
}

/**
 * Text from input (titles, states, file names, rejection reasons and payloads) as it may be
 * printed: every control and bidi character shown as a visible escape (`\x1b`, `\u009b`,
 * `\u202e`, `\n`). Everything the CLI prints from input goes through here.
 */
export function printable(text: string): string {
  UNSAFE.lastIndex = 0;
  return UNSAFE.test(text) ? text.replace(UNSAFE, escapeChar) : text;
}

/** JSON text with the characters JSON.stringify leaves raw (DEL, C1, bidi) as \u escapes: the same data. */
function safeJson(text: string): string {
  return text.replace(UNSAFE_IN_JSON, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/** Header text with its unit: `p85_days` -> `p85 (days)`, `share` -> `share (%)`. */
export function headerOf(field: string): string {
  if (field.endsWith("_days")) return `${field.slice(0, -5).replace(/_/g, " ")} (days)`;
  if (PERCENT_FIELDS.has(field)) return `${field} (%)`;
  if (field === "wip") return "wip (items)";
  if (field === "flow_type") return "type";
  if (field === "period_start") return "period";
  return field.replace(/_/g, " ");
}

function cellText(field: string, value: unknown): string {
  if (value === null || value === undefined) return "-";
  if (typeof value === "number") {
    if (PERCENT_FIELDS.has(field)) return (value * 100).toFixed(1);
    if (field.endsWith("_days")) return value.toFixed(1);
    return Number.isInteger(value) ? String(value) : value.toFixed(2);
  }
  if (Array.isArray(value)) return value.join(", ");
  return String(value);
}

export interface TableOptions {
  /** Fields to show, in order; default: the keys of the first row. */
  fields?: readonly string[];
  /** Cut text cells longer than this. */
  maxWidth?: number;
}

/** Aligned text columns; numbers right-aligned. */
export function renderTable(rows: readonly Row[], options: TableOptions = {}): string {
  if (rows.length === 0) return "(no rows)\n";
  const fields = options.fields ?? Object.keys(rows[0] as Row);
  const max = options.maxWidth ?? 60;
  const numeric = fields.map((f) => rows.every((r) => r[f] === null || r[f] === undefined || typeof r[f] === "number"));
  const body = rows.map((row) =>
    fields.map((f) => {
      const text = printable(cellText(f, row[f]).replace(/\s+/g, " "));
      return text.length > max ? `${text.slice(0, max - 1)}…` : text;
    }),
  );
  const headers = fields.map(headerOf);
  const widths = fields.map((_, i) => Math.max(headers[i]!.length, ...body.map((cells) => cells[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (numeric[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  return [line(headers), line(widths.map((w) => "-".repeat(w))), ...body.map(line)].join("\n") + "\n";
}

/** A CSV cell as printed: quoted line breaks and tabs are data and stay; other controls are escaped. */
function printableCsvCell(value: unknown): string {
  const cell = csvCell(value);
  UNSAFE_IN_CSV.lastIndex = 0;
  return UNSAFE_IN_CSV.test(cell) ? cell.replace(UNSAFE_IN_CSV, escapeChar) : cell;
}

export function renderCsv(rows: readonly Row[], fields?: readonly string[]): string {
  if (rows.length === 0) return fields ? fields.map(printableCsvCell).join(",") + "\n" : "";
  const columns = fields ?? Object.keys(rows[0] as Row);
  const lines = [columns.map(printableCsvCell).join(",")];
  for (const row of rows) {
    lines.push(columns.map((f) => printableCsvCell(Array.isArray(row[f]) ? (row[f] as unknown[]).join("|") : row[f])).join(","));
  }
  return lines.join("\n") + "\n";
}

export function renderJson(value: unknown): string {
  return safeJson(JSON.stringify(value, null, 2)) + "\n";
}

export function render(rows: readonly Row[], format: OutputFormat, options: TableOptions = {}): string {
  if (format === "json") return renderJson(rows);
  if (format === "csv") return renderCsv(rows, options.fields);
  return renderTable(rows, options);
}

/**
 * Long rows (one per period and type) turned into one row per period with a column per type and
 * a total: easier to read in a terminal. Types are ordered feature, defect, risk, debt, others.
 */
export function pivotByType(rows: readonly Row[], periodField: string, valueField: string): Row[] {
  const order = ["feature", "defect", "risk", "debt"];
  const types = [...new Set(rows.map((r) => String(r.flow_type)))].sort(
    (a, b) => (order.indexOf(a) + 1 || 99) - (order.indexOf(b) + 1 || 99) || a.localeCompare(b),
  );
  const byPeriod = new Map<string, Row>();
  for (const row of rows) {
    const period = String(row[periodField]);
    let out = byPeriod.get(period);
    if (!out) {
      out = { [periodField]: period, ...Object.fromEntries(types.map((t) => [t, 0])), total: 0 };
      byPeriod.set(period, out);
    }
    const value = Number(row[valueField]);
    out[String(row.flow_type)] = value;
    out.total = (out.total as number) + value;
  }
  return [...byPeriod.values()];
}
