// Embedded ClickHouse (chDB). libchdb binds one data directory per process, so this adapter is a
// process-wide singleton per path; `flowpulse serve` owns it and other processes go through serve.
import { mkdirSync } from "node:fs";
import { Session } from "chdb";
import { bindParams } from "./bind.ts";
import { ReadOnlySession } from "./readonly.ts";
import type { EngineLimits } from "./store.ts";
import { insertInto, parseJsonEachRow, StoreError, toJsonLines, type QueryParams, type Store } from "./store.ts";

/**
 * Sessions opened on the data directory. One session runs its statements one at a time; more
 * sessions on the same directory share the engine and its tables but run side by side, so an
 * insert need not wait for a derive. Two match the two cores we size for.
 */
const DEFAULT_SESSIONS = 2;

interface Lane {
  session: Session;
  busy: number;
}

export class ChdbStore implements Store {
  readonly kind = "embedded" as const;
  private readonly lanes: Lane[] = [];

  constructor(readonly dataPath: string, sessions = DEFAULT_SESSIONS) {
    mkdirSync(dataPath, { recursive: true });
    try {
      for (let i = 0; i < Math.max(1, sessions); i++) this.lanes.push({ session: new Session(dataPath), busy: 0 });
    } catch (error) {
      for (const lane of this.lanes) lane.session.close();
      throw new StoreError(`cannot open the embedded store at ${dataPath}: ${(error as Error).message}`);
    }
  }

  /**
   * Runs on the least busy session. Callers that need an order between statements already await
   * the first before starting the second, so statements in flight together are independent.
   */
  private async run<T>(work: (session: Session) => Promise<T>): Promise<T> {
    let lane = this.lanes[0] as Lane;
    for (const candidate of this.lanes) if (candidate.busy < lane.busy) lane = candidate;
    lane.busy += 1;
    try {
      return await work(lane.session);
    } finally {
      lane.busy -= 1;
    }
  }

  // Parameters are bound by the adapter (store/bind.ts): the chdb package runs engine-bound
  // parameters one statement at a time for the whole process, these run side by side.
  async query<T>(sql: string, params: QueryParams = {}): Promise<T[]> {
    const statement = bindParams(sql, params);
    const result = await this.run((session) => session.queryAsync(statement, { format: "JSONEachRow" }));
    return parseJsonEachRow<T>(result.text());
  }

  async command(sql: string, params: QueryParams = {}): Promise<void> {
    const statement = bindParams(sql, params);
    await this.run((session) => session.queryAsync(statement, { format: "Null" }));
  }

  async insertRows(table: string, rows: readonly object[]): Promise<void> {
    if (rows.length === 0) return;
    const values = toJsonLines(rows);
    await this.run((session) => session.insert({ table, values, format: "JSONEachRow" }));
  }

  async insertCompact(table: string, columns: readonly string[], rows: readonly (readonly unknown[])[]): Promise<void> {
    // A JSON number in a DateTime64(3) column is read as ticks, i.e. epoch milliseconds.
    if (rows.length > 0) await this.insertLines(table, columns, toJsonLines(rows));
  }

  async insertLines(table: string, columns: readonly string[], lines: string | Uint8Array): Promise<void> {
    if (lines.length === 0) return;
    const values = typeof lines === "string" ? Buffer.from(lines) : lines;
    // No dedup while writing a replacing table: its reads are FINAL, or pick the newest version
    // themselves (argMax by version), or only ask which keys or names exist, so a repeat within
    // the block costs nothing but merge time, where the dedup cost every block of the stream's
    // and the syncs' inserts CPU.
    await this.run((session) => session.insert({ table, values, format: "JSONCompactEachRow", columns, settings: { optimize_on_insert: 0 } }));
  }

  async insertFile(table: string, columns: readonly string[], file: string): Promise<void> {
    // The file() table function takes its structure from the insertion table's listed columns.
    // No dedup while writing, as insertLines (the parse workers' spooled rows are the same rows).
    await this.command(`${insertInto(table, columns)} SETTINGS optimize_on_insert = 0 SELECT * FROM file({file:String}, JSONCompactEachRow)`, { file });
  }

  /** A session of its own per call: a person's query is rare, and its settings stay its own. */
  async readOnlyQuery(sql: string, format: string, limits: EngineLimits = {}): Promise<Uint8Array> {
    const session = new ReadOnlySession(this.dataPath, limits);
    try {
      return (await session.run({ sql, format })).bytes;
    } finally {
      session.close();
    }
  }

  async close(): Promise<void> {
    for (const lane of this.lanes) if (lane.session.open) lane.session.close();
  }
}
