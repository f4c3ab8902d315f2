// A ClickHouse server over HTTP through @clickhouse/client, running the same SQL as chDB.
import { createReadStream } from "node:fs";
import { Readable } from "node:stream";
import { createClient, type ClickHouseClient } from "@clickhouse/client";
import { insertInto, type QueryParams, type Store } from "./store.ts";

export interface ServerOptions {
  url: string;
  username: string;
  password: string;
  database: string;
}

export class ClickHouseServerStore implements Store {
  readonly kind = "server" as const;
  private client: ClickHouseClient;

  constructor(options: ServerOptions) {
    this.client = createClient({
      url: options.url,
      username: options.username,
      password: options.password,
      database: options.database,
      request_timeout: 120_000,
      // Progress headers keep long derivations from being cut by idle proxies.
      clickhouse_settings: { send_progress_in_http_headers: 1, http_headers_progress_interval_ms: "10000" },
    });
  }

  async query<T>(sql: string, params: QueryParams = {}): Promise<T[]> {
    const result = await this.client.query({ query: sql, query_params: params, format: "JSONEachRow" });
    return result.json<T>();
  }

  async command(sql: string, params: QueryParams = {}): Promise<void> {
    await this.client.command({ query: sql, query_params: params });
  }

  async insertRows(table: string, rows: readonly object[]): Promise<void> {
    if (rows.length === 0) return;
    await this.client.insert({ table, values: rows as object[], format: "JSONEachRow" });
  }

  async insertCompact(table: string, columns: readonly string[], rows: readonly (readonly unknown[])[]): Promise<void> {
    if (rows.length === 0) return;
    await this.client.insert({ table, values: rows as unknown[][], format: "JSONCompactEachRow", columns: [...columns] as [string, ...string[]] });
  }

  async insertLines(table: string, columns: readonly string[], lines: string | Uint8Array): Promise<void> {
    if (lines.length === 0) return;
    const bytes = typeof lines === "string" ? Buffer.from(lines) : Buffer.from(lines.buffer, lines.byteOffset, lines.byteLength);
    await this.insertRaw(table, columns, "JSONCompactEachRow", Readable.from([bytes], { objectMode: false }));
  }

  async insertFile(table: string, columns: readonly string[], file: string): Promise<void> {
    // The server cannot see our files: their bytes go up as they are.
    await this.insertRaw(table, columns, "JSONCompactEachRow", createReadStream(file));
  }

  /**
   * Sends rows already encoded in `format` as the request body, untouched. (client.insert would
   * JSON-encode each chunk of a JSON format's stream once more.) Progress headers are off for this
   * request so the answer comes only when the insert is done, with an error status if it failed.
   */
  async insertRaw(table: string, columns: readonly string[], format: "JSONCompactEachRow" | "JSONEachRow", body: Readable): Promise<void> {
    const result = await this.client.exec({ query: `${insertInto(table, columns)} FORMAT ${format}`, values: body, clickhouse_settings: { send_progress_in_http_headers: 0 } });
    for await (const _ of result.stream) {
      // An INSERT answers with an empty body; reading it to the end frees the connection.
    }
  }

  async close(): Promise<void> {
    await this.client.close();
  }
}
