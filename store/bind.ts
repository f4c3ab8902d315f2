// Query parameters written into the statement as typed literals, for the embedded engine.
// libchdb binds `{name:Type}` placeholders in engine-wide state, so the chdb package runs every
// parameterized query of the process one at a time (its globalParamChain): a derive, an import's
// stage and a dashboard view would all queue behind each other on a two-core machine. Statements
// without parameters run side by side on separate sessions, so the adapter binds the values here,
// with the same meaning the engine gives them: a String value becomes a quoted literal, an
// Identifier a checked name, and any other type the engine's own cast of the value's text.
import type { QueryParams } from "./store.ts";
import { identifier, StoreError } from "./store.ts";

/** A `{name:Type}` placeholder starting at the scanner's position. */
const PLACEHOLDER = /\{([A-Za-z_][A-Za-z0-9_]*):([^{}]+)\}/y;

const ESCAPES: Record<string, string> = { "\\": "\\\\", "'": "\\'", "\0": "\\0", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t" };

/** A ClickHouse string literal holding exactly `text`. */
export function stringLiteral(text: string): string {
  return `'${text.replace(/[\\'\0\b\f\n\r\t]/g, (c) => ESCAPES[c] as string)}'`;
}

function valueLiteral(value: unknown): string {
  if (typeof value === "string") return stringLiteral(value);
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new StoreError(`query parameter ${value} is not a finite number`);
    // Integers print without an exponent up to 2^53, the most a JS number holds exactly.
    return Number.isInteger(value) ? value.toFixed(0) : String(value);
  }
  if (typeof value === "boolean") return value ? "true" : "false";
  if (Array.isArray(value)) return `[${value.map(valueLiteral).join(", ")}]`;
  throw new StoreError(`query parameter of type ${typeof value} cannot be bound`);
}

function literal(name: string, type: string, params: QueryParams): string | undefined {
  if (!Object.hasOwn(params, name)) return undefined;
  const value = params[name];
  const kind = type.trim();
  if (kind === "Identifier") {
    if (typeof value !== "string") throw new StoreError(`"${String(value)}" is not a plain table or column name`);
    return `\`${identifier(value)}\``;
  }
  if (kind === "String") return typeof value === "string" ? stringLiteral(value) : `toString(${valueLiteral(value)})`;
  // The engine parses a bound value from its text: the cast of that text means the same.
  const text = Array.isArray(value) ? valueLiteral(value) : typeof value === "string" ? stringLiteral(value) : stringLiteral(valueLiteral(value));
  return `CAST(${text} AS ${kind})`;
}

/**
 * `sql` with every `{name:Type}` placeholder outside quotes and comments that has a value replaced
 * by the value's literal. One without a value is left for the engine: a parameterized view's
 * definition keeps its placeholders, and anywhere else the engine refuses the statement.
 */
export function bindParams(sql: string, params: QueryParams): string {
  let out = "";
  let last = 0;
  let i = 0;
  const n = sql.length;
  while (i < n) {
    const c = sql[i];
    if (c === "-" && sql[i + 1] === "-") {
      const end = sql.indexOf("\n", i);
      i = end === -1 ? n : end + 1;
    } else if (c === "/" && sql[i + 1] === "*") {
      const end = sql.indexOf("*/", i + 2);
      i = end === -1 ? n : end + 2;
    } else if (c === "'" || c === '"' || c === "`") {
      // A quoted string or name: a backslash escapes the next character, a doubled quote is one.
      i += 1;
      while (i < n) {
        if (sql[i] === "\\") i += 2;
        else if (sql[i] === c) {
          if (sql[i + 1] === c) i += 2;
          else break;
        } else i += 1;
      }
      i += 1;
    } else if (c === "{") {
      PLACEHOLDER.lastIndex = i;
      const match = PLACEHOLDER.exec(sql);
      const bound = match ? literal(match[1] as string, match[2] as string, params) : undefined;
      if (match && bound !== undefined) {
        out += sql.slice(last, i) + bound;
        last = i + match[0].length;
      }
      i += match ? match[0].length : 1;
    } else i += 1;
  }
  return last === 0 ? sql : out + sql.slice(last);
}
