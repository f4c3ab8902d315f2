// Embedded ClickHouse (chDB). libchdb binds one data directory per process, so this adapter is a
// process-wide singleton per path; `flowpulse serve` owns it and other processes go through serve.
import { mkdirSync } from "node:fs";
import { Session } from "chdb";
import { parseJsonEachRow, StoreError, toJsonLines, type QueryParams, type Store } from "./store.ts";

export class ChdbStore implements Store {
  readonly kind = "embedded" as const;
  private session: Session;

  constructor(readonly dataPath: string) {
    mkdirSync(dataPath, { recursive: true });
    try {
      this.session = new Session(dataPath);
    } catch (error) {
      throw new StoreError(`cannot open the embedded store at ${dataPath}: ${(error as Error).message}`);
    }
  }

  async query<T>(sql: string, params: QueryParams = {}): Promise<T[]> {
    const result = await this.session.queryBindAsync(sql, params, { format: "JSONEachRow" });
    return parseJsonEachRow<T>(result.text());
  }

  async command(sql: string, params: QueryParams = {}): Promise<void> {
    await this.session.queryBindAsync(sql, params, { format: "Null" });
  }

  async insertRows(table: string, rows: readonly object[]): Promise<void> {
    if (rows.length === 0) return;
    await this.session.insert({ table, values: toJsonLines(rows), format: "JSONEachRow" });
  }

  async insertCompact(table: string, columns: readonly string[], rows: readonly (readonly unknown[])[]): Promise<void> {
    if (rows.length === 0) return;
    // A JSON number in a DateTime64(3) column is read as ticks, i.e. epoch milliseconds.
    await this.session.insert({ table, values: toJsonLines(rows), format: "JSONCompactEachRow", columns });
  }

  async close(): Promise<void> {
    if (this.session.open) this.session.close();
  }
}
