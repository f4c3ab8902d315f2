// One store interface, several adapters (embedded chDB, ClickHouse server, a running `flowpulse
// serve`) that all run the same SQL files. Values reach SQL only as bound parameters.

/** Query parameters, bound server-side as `{name:Type}` placeholders. */
export type QueryParams = Record<string, string | number | boolean | readonly string[] | readonly number[]>;

export interface Store {
  readonly kind: "embedded" | "server" | "remote";
  /** Runs a SELECT and returns its rows as objects (JSONEachRow). */
  query<T = Record<string, unknown>>(sql: string, params?: QueryParams): Promise<T[]>;
  /** Runs a statement that returns nothing (DDL, INSERT ... SELECT). */
  command(sql: string, params?: QueryParams): Promise<void>;
  /** Inserts rows, already shaped like the table's columns, in one request. */
  insertRows(table: string, rows: readonly object[]): Promise<void>;
  /**
   * The bulk writers' path: positional rows (values in `columns` order) in one request,
   * DateTime64 values as epoch milliseconds. Skips building and key-matching an object per row.
   */
  insertCompact(table: string, columns: readonly string[], rows: readonly (readonly unknown[])[]): Promise<void>;
  /**
   * The bulk writers' cheapest path: rows already encoded as JSONCompactEachRow lines in `columns`
   * order (see pipeline/sink.ts encodeItems/encodeTransitions), possibly on another thread.
   */
  insertLines(table: string, columns: readonly string[], lines: string | Uint8Array): Promise<void>;
  /**
   * insertLines for rows spooled to a file on this host (a parse worker's output). The embedded
   * store reads the file itself, which costs ClickHouse about a third less CPU than the same
   * bytes passed inline; the other adapters stream it. The caller deletes the file afterwards.
   */
  insertFile(table: string, columns: readonly string[], file: string): Promise<void>;
  /**
   * Runs one statement as a person typed it, read-only by the engine's own `readonly` setting and
   * within `limits`, and returns the answer in `format` (`flowpulse sql`; see store/readonly.ts).
   */
  readOnlyQuery?(sql: string, format: string, limits?: EngineLimits): Promise<Uint8Array>;
  close(): Promise<void>;
}

/** A table or column name safe to write into SQL text (ours come from constants; this checks it). */
export function identifier(name: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new StoreError(`"${name}" is not a plain table or column name`);
  return name;
}

/** `INSERT INTO table (columns)`, the names checked: the head of the adapters' own insert statements. */
export function insertInto(table: string, columns: readonly string[]): string {
  return `INSERT INTO ${identifier(table)} (${columns.map(identifier).join(", ")})`;
}

export class StoreError extends Error {
  override name = "StoreError";
}

/** One JSON value per line (JSONEachRow for objects, JSONCompactEachRow for arrays). */
export function toJsonLines(rows: readonly unknown[]): Buffer {
  // One string grown by concatenation, then one copy into a Buffer: cheaper than a Buffer per row.
  let text = "";
  for (const row of rows) text += JSON.stringify(row) + "\n";
  return Buffer.from(text);
}

export function parseJsonEachRow<T>(text: string): T[] {
  const rows: T[] = [];
  for (const line of text.split("\n")) if (line) rows.push(JSON.parse(line) as T);
  return rows;
}

/** Per-query limits of a read-only session, set as its settings (ClickHouse names). */
export interface EngineLimits {
  max_execution_time?: number;
  max_memory_usage?: number;
  max_result_rows?: number;
  max_result_bytes?: number;
  max_threads?: number;
}
