// A ClickHouse server over HTTP through @clickhouse/client, running the same SQL as chDB.
import { createReadStream } from "node:fs";
import { Readable } from "node:stream";
import { ClickHouseLogLevel, createClient, type ClickHouseClient, type DataFormat } from "@clickhouse/client";
import { registerSecret } from "../core/secrets.ts";
import type { EngineLimits } from "./store.ts";
import { insertInto, StoreError, type QueryParams, type Store } from "./store.ts";

export interface ServerOptions {
  url: string;
  username: string;
  password: string;
  database: string;
  /** The environment variable the password came from, named when the server refuses it. */
  passwordEnv?: string;
}

// Socket errors that mean nothing answered at the address: the server is down, the name or port is
// wrong, or a network is in the way. The user must fix these, so they become one line, not a stack.
const UNREACHABLE = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH", "ECONNRESET", "ETIMEDOUT", "EPIPE"]);
// ClickHouse's own codes for a refused login: 516 AUTHENTICATION_FAILED (current servers) and, from
// older ones such as Debian's 18.16, 192 UNKNOWN_USER, 193 WRONG_PASSWORD, 194 REQUIRED_PASSWORD.
// Old servers send them only in the message text, which @clickhouse/client then passes on unparsed.
const REFUSED_LOGIN = /^(?:Code: )?(516|192|193|194)\b/;
const REFUSED_TYPES = new Set(["AUTHENTICATION_FAILED", "UNKNOWN_USER", "WRONG_PASSWORD", "REQUIRED_PASSWORD"]);

/** The start-up failures a user must fix, as one line each with the cause kept; anything else as it is. */
export function serverError(error: unknown, options: Pick<ServerOptions, "url" | "username" | "passwordEnv">): unknown {
  if (!(error instanceof Error)) return error;
  const socketCode = [error, error.cause].map((e) => (e as NodeJS.ErrnoException | undefined)?.code).find((code) => typeof code === "string" && UNREACHABLE.has(code));
  if (socketCode) {
    return new StoreError(`cannot reach the ClickHouse server at ${options.url} (${socketCode}): is it running?`, { cause: error });
  }
  const { code, type } = error as { code?: unknown; type?: unknown };
  if (REFUSED_LOGIN.test(String(code ?? "")) || REFUSED_TYPES.has(String(type ?? "")) || REFUSED_LOGIN.test(error.message)) {
    return new StoreError(
      `the ClickHouse server at ${options.url} refused user ${options.username}: check $${options.passwordEnv ?? "CLICKHOUSE_PASSWORD"}`,
      { cause: error },
    );
  }
  return error;
}

export class ClickHouseServerStore implements Store {
  readonly kind = "server" as const;
  private client: ClickHouseClient;
  private readonly options: ServerOptions;

  constructor(options: ServerOptions) {
    this.options = options;
    registerSecret(options.password);
    this.client = createClient({
      url: options.url,
      username: options.username,
      password: options.password,
      database: options.database,
      request_timeout: 120_000,
      // The client logs every failed request itself, several lines with its arguments; our errors
      // already say what failed, once.
      log: { level: ClickHouseLogLevel.OFF },
      // Progress headers keep long derivations from being cut by idle proxies.
      clickhouse_settings: { send_progress_in_http_headers: 1, http_headers_progress_interval_ms: "10000" },
    });
  }

  /** Every request goes through here, so an unreachable server or a refused login reads the same wherever it surfaces. */
  private async call<T>(request: () => Promise<T>): Promise<T> {
    try {
      return await request();
    } catch (error) {
      throw serverError(error, this.options);
    }
  }

  async query<T>(sql: string, params: QueryParams = {}): Promise<T[]> {
    return this.call(async () => {
      const result = await this.client.query({ query: sql, query_params: params, format: "JSONEachRow" });
      return result.json<T>();
    });
  }

  async command(sql: string, params: QueryParams = {}): Promise<void> {
    await this.call(() => this.client.command({ query: sql, query_params: params }));
  }

  async insertRows(table: string, rows: readonly object[]): Promise<void> {
    if (rows.length === 0) return;
    await this.call(() => this.client.insert({ table, values: rows as object[], format: "JSONEachRow" }));
  }

  async insertCompact(table: string, columns: readonly string[], rows: readonly (readonly unknown[])[]): Promise<void> {
    if (rows.length === 0) return;
    await this.call(() => this.client.insert({ table, values: rows as unknown[][], format: "JSONCompactEachRow", columns: [...columns] as [string, ...string[]] }));
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
    await this.call(async () => {
      const result = await this.client.exec({ query: `${insertInto(table, columns)} FORMAT ${format}`, values: body, clickhouse_settings: { send_progress_in_http_headers: 0 } });
      for await (const _ of result.stream) {
        // An INSERT answers with an empty body; reading it to the end frees the connection.
      }
    });
  }

  /** The server's own readonly=1 for this one statement (a readonly user may set it to the value it has). */
  async readOnlyQuery(sql: string, format: string, limits: EngineLimits = {}): Promise<Uint8Array> {
    return this.call(async () => {
      const settings = Object.fromEntries(Object.entries(limits).map(([key, value]) => [key, String(value)]));
      const result = await this.client.exec({ query: sql, clickhouse_settings: { ...settings, readonly: "1", default_format: format as DataFormat } });
      const chunks: Buffer[] = [];
      for await (const chunk of result.stream) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks);
    });
  }

  async close(): Promise<void> {
    await this.client.close();
  }
}
