// chDB lets one process own a data directory. `flowpulse serve` is that process; it shares the
// store with other local commands (CLI, one-off syncs) over a loopback HTTP endpoint guarded by a
// random token, written beside the data in serve.json (readable by the owner only).
import { randomBytes, timingSafeEqual } from "node:crypto";
import { createReadStream, existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { appliedLevel, schemaLevel } from "./migrate.ts";
import { innermostCause } from "../core/errors.ts";
import { isSameProcessAlive, pidExists, processStart } from "../core/process.ts";
import type { EngineLimits } from "./store.ts";
import { StoreError, toJsonLines, type QueryParams, type Store } from "./store.ts";

export interface ServeFile {
  pid: number;
  /** The serve process's start time (core/process.ts processStart): a reused pid does not match it. */
  start?: string;
  url: string;
  token: string;
}

type Request =
  | { op: "query"; sql: string; params?: QueryParams }
  | { op: "command"; sql: string; params?: QueryParams }
  | { op: "insert"; table: string; rows: object[] }
  | { op: "sql"; sql: string; format: string };

/** What GET /v1/ping answers. */
interface Ping {
  pid: number;
  /** The store's schema level (migrate.ts levelOf): the latest migration applied. */
  schema: string;
}

/**
 * Rows go to serve as raw JSONCompactEachRow bytes, at most this many per request, cut where a
 * line ends (a line longer than this goes whole). A whole spooled file in one request was one
 * string, and past 512 MB V8 cannot make it.
 */
export const INSERT_CHUNK_BYTES = 16 << 20;
/** What serve accepts in one insert request: a chunk plus the rest of its last line, with room. */
const MAX_INSERT_BYTES = 256 << 20;
/**
 * How long serve may stay silent: a live serve sends its answer's headers at once and a space
 * every HEARTBEAT_MS while the statement runs, so a long derive is told from a stopped serve.
 */
const ANSWER_TIMEOUT_MS = 5_000;
const HEARTBEAT_MS = 1_000;

const serveFile = (dataPath: string) => path.join(dataPath, "serve.json");

/**
 * The running serve process owning `dataPath`, if any. A file left by a process that is gone, or
 * whose pid now names another process (its start time differs), is stale: removed, and ignored.
 */
export function findServe(dataPath: string): ServeFile | undefined {
  const file = serveFile(dataPath);
  if (!existsSync(file)) return undefined;
  let serve: ServeFile;
  try {
    serve = JSON.parse(readFileSync(file, "utf8")) as ServeFile;
  } catch {
    return undefined;
  }
  if (serve.pid === process.pid) return undefined;
  // A file from before start times were kept is checked by pid alone (and by its ping later).
  const alive = serve.start === undefined ? pidExists(serve.pid) : isSameProcessAlive(serve.pid, serve.start);
  if (alive) return serve;
  rmSync(file, { force: true });
  return undefined;
}

/** The cause of a failed fetch in a few words: the socket's code (ECONNREFUSED), else its message. */
function causeOf(error: unknown): string {
  const cause = innermostCause(error);
  return cause.code ?? cause.message;
}

export class RemoteStore implements Store {
  readonly kind = "remote" as const;

  constructor(private readonly serve: ServeFile) {}

  /**
   * Connects to serve: it must answer within a few seconds and run the schema this code needs.
   * A legacy serve.json (no start time) whose port nobody listens on is stale: removed, undefined.
   */
  static async connect(serve: ServeFile, dataPath: string): Promise<RemoteStore | undefined> {
    const store = new RemoteStore(serve);
    let ping: Ping;
    try {
      ping = await store.ping();
    } catch (error) {
      if (serve.start === undefined && causeOf(error) === "ECONNREFUSED") {
        rmSync(serveFile(dataPath), { force: true });
        return undefined;
      }
      throw error;
    }
    const needed = schemaLevel();
    if (ping.schema !== needed) {
      throw new StoreError(
        ping.schema < needed
          ? `flowpulse serve (pid ${serve.pid}) runs schema ${ping.schema}, this flowpulse needs ${needed}: restart serve`
          : `flowpulse serve (pid ${serve.pid}) runs schema ${ping.schema}, newer than this flowpulse knows (${needed}): use the flowpulse that serve runs`,
      );
    }
    return store;
  }

  ping(): Promise<Ping> {
    return this.request<Ping>("/v1/ping", { method: "GET" });
  }

  query<T>(sql: string, params: QueryParams = {}): Promise<T[]> {
    return this.call<T[]>({ op: "query", sql, params });
  }

  async command(sql: string, params: QueryParams = {}): Promise<void> {
    await this.call({ op: "command", sql, params });
  }

  async insertRows(table: string, rows: readonly object[]): Promise<void> {
    if (rows.length > 0) await this.call({ op: "insert", table, rows: [...rows] });
  }

  async insertCompact(table: string, columns: readonly string[], rows: readonly (readonly unknown[])[]): Promise<void> {
    if (rows.length > 0) await this.insertLines(table, columns, toJsonLines(rows));
  }

  async insertLines(table: string, columns: readonly string[], lines: string | Uint8Array): Promise<void> {
    if (lines.length === 0) return;
    let bytes = typeof lines === "string" ? Buffer.from(lines) : Buffer.from(lines.buffer, lines.byteOffset, lines.byteLength);
    while (bytes.length > 0) {
      const end = chunkEnd(bytes, INSERT_CHUNK_BYTES);
      await this.sendRows(table, columns, bytes.subarray(0, end));
      bytes = bytes.subarray(end);
    }
  }

  /**
   * The rows go over as bytes: serve may run as another user, who cannot read our private temp
   * files. The file is read as a stream and sent in chunks, so no request (and no string on
   * either side) grows with the file.
   */
  async insertFile(table: string, columns: readonly string[], file: string): Promise<void> {
    let pieces: Buffer[] = [];
    let size = 0;
    for await (const piece of createReadStream(file, { highWaterMark: 1 << 20 })) {
      pieces.push(piece as Buffer);
      size += (piece as Buffer).length;
      while (size >= INSERT_CHUNK_BYTES) {
        const joined = Buffer.concat(pieces, size);
        const end = chunkEnd(joined, INSERT_CHUNK_BYTES);
        pieces = [joined];
        // A line still running past the chunk: read on until it ends.
        if (end === joined.length && joined[end - 1] !== 0x0a) break;
        await this.sendRows(table, columns, joined.subarray(0, end));
        const rest = joined.subarray(end);
        pieces = rest.length > 0 ? [rest] : [];
        size = rest.length;
      }
    }
    if (size > 0) await this.sendRows(table, columns, Buffer.concat(pieces, size));
  }

  /** Runs on serve's engine, within serve's limits (analysts.limits); the answer comes back as base64. */
  async readOnlyQuery(sql: string, format: string): Promise<Uint8Array> {
    return Buffer.from(await this.call<string>({ op: "sql", sql, format }), "base64");
  }

  async close(): Promise<void> {}

  private async sendRows(table: string, columns: readonly string[], bytes: Buffer): Promise<void> {
    const query = new URLSearchParams({ table, columns: columns.join(",") });
    await this.request(`/v1/insert?${query}`, { method: "POST", body: new Uint8Array(bytes.buffer as ArrayBuffer, bytes.byteOffset, bytes.length), headers: { "content-type": "application/octet-stream" } });
  }

  private call<T>(request: Request): Promise<T> {
    return this.request<T>("/v1/store", { method: "POST", body: JSON.stringify(request), headers: { "content-type": "application/json" } });
  }

  /**
   * Sends a request and reads serve's answer, which must keep coming: headers within
   * ANSWER_TIMEOUT_MS, then a byte at least that often until the result.
   */
  private async request<T>(route: string, init: RequestInit): Promise<T> {
    const { pid, url, token } = this.serve;
    const silent = new AbortController();
    const timer = setTimeout(() => silent.abort(), ANSWER_TIMEOUT_MS);
    const failed = (error: unknown, what: string) =>
      silent.signal.aborted
        ? new StoreError(`flowpulse serve (pid ${pid}) owns the store but did not answer in ${ANSWER_TIMEOUT_MS / 1000} s (stopped? \`kill -CONT ${pid}\` or restart it)`, { cause: error })
        : new StoreError(`flowpulse serve (pid ${pid}) ${what} (${causeOf(error)}): restart it`, { cause: error });
    try {
      let response: Response;
      try {
        response = await fetch(`${url}${route}`, {
          ...init,
          headers: { ...(init.headers as Record<string, string> | undefined), authorization: `Bearer ${token}` },
          signal: silent.signal,
        });
      } catch (error) {
        throw failed(error, `owns the store but cannot be reached at ${url}`);
      }
      // A serve from before the schema check has no ping: it runs an older schema.
      if (response.status === 404 && route === "/v1/ping") throw new StoreError(`flowpulse serve (pid ${pid}) runs an older flowpulse (it does not tell its schema): restart serve`);
      const chunks: Uint8Array[] = [];
      try {
        const reader = (response.body as ReadableStream<Uint8Array>).getReader();
        for (;;) {
          timer.refresh();
          const { done, value } = await reader.read();
          if (done) break;
          chunks.push(value);
        }
      } catch (error) {
        throw failed(error, "stopped answering midway");
      }
      // Leading spaces are the heartbeats; JSON.parse skips them.
      const body = JSON.parse(Buffer.concat(chunks).toString("utf8") || "{}") as { result?: T; error?: string };
      if (body.error !== undefined) throw new StoreError(body.error);
      if (!response.ok) throw new StoreError(`flowpulse serve (pid ${pid}) answered ${response.status}`);
      return body.result as T;
    } finally {
      clearTimeout(timer);
    }
  }
}

/** Where a chunk of at most `max` bytes of `bytes` ends: after its last newline (or after the first line, if longer). */
function chunkEnd(bytes: Buffer, max: number): number {
  if (bytes.length <= max) return bytes.length;
  const lastNewline = bytes.lastIndexOf(0x0a, max - 1);
  if (lastNewline >= 0) return lastNewline + 1;
  const next = bytes.indexOf(0x0a, max);
  return next < 0 ? bytes.length : next + 1;
}

/** Reads a request body, refusing more than `limit` bytes. */
async function readBody(req: http.IncomingMessage, limit: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** Shares `store` with local commands until the returned close() is called. */
export async function shareStore(store: Store, dataPath: string, port = 0, sqlLimits: EngineLimits = {}): Promise<{ url: string; close(): Promise<void> }> {
  const token = randomBytes(24).toString("hex");
  const expected = Buffer.from(`Bearer ${token}`);
  const schema = await appliedLevel(store);
  const server = http.createServer(async (req, res) => {
    let heartbeat: NodeJS.Timeout | undefined;
    const reply = (status: number, body: unknown) => {
      clearInterval(heartbeat);
      if (!res.headersSent) res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    };
    const given = Buffer.from(req.headers.authorization ?? "");
    const route = new URL(req.url ?? "/", "http://serve");
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return reply(401, { error: "flowpulse serve refused the request: bad token (is serve.json from another serve?)" });
    try {
      if (req.method === "GET" && route.pathname === "/v1/ping") return reply(200, { result: { pid: process.pid, schema } satisfies Ping });
      if (req.method !== "POST" || (route.pathname !== "/v1/store" && route.pathname !== "/v1/insert")) return reply(404, { error: "not found" });
      const body = await readBody(req, MAX_INSERT_BYTES);
      if (!body) return reply(413, { error: `flowpulse serve takes at most ${MAX_INSERT_BYTES >> 20} MB per request` });
      // Headers go out now, a space every second while the work runs, and the result when it is
      // done: the client knows within seconds whether serve is alive, however long the
      // statement runs. Errors travel in the body.
      res.writeHead(200, { "content-type": "application/json" });
      res.flushHeaders();
      heartbeat = setInterval(() => res.write(" "), HEARTBEAT_MS);
      res.once("close", () => clearInterval(heartbeat));
      if (route.pathname === "/v1/insert") {
        const table = route.searchParams.get("table") ?? "";
        const columns = (route.searchParams.get("columns") ?? "").split(",");
        return reply(200, { result: await store.insertLines(table, columns, body) });
      }
      const request = JSON.parse(body.toString("utf8")) as Request;
      if (request.op === "query") return reply(200, { result: await store.query(request.sql, request.params) });
      if (request.op === "command") return reply(200, { result: await store.command(request.sql, request.params) });
      if (request.op === "insert") return reply(200, { result: await store.insertRows(request.table, request.rows) });
      if (request.op === "sql") {
        if (!store.readOnlyQuery) return reply(400, { error: "this store does not run read-only SQL" });
        return reply(200, { result: Buffer.from(await store.readOnlyQuery(request.sql, request.format, sqlLimits)).toString("base64") });
      }
      return reply(400, { error: "unknown operation" });
    } catch (error) {
      return reply(500, { error: (error as Error).message });
    }
  });
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  writeFileSync(serveFile(dataPath), JSON.stringify({ pid: process.pid, start: processStart(process.pid), url, token } satisfies ServeFile), { mode: 0o600 });
  return {
    url,
    async close() {
      rmSync(serveFile(dataPath), { force: true });
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
