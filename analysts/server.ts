// ClickHouse's HTTP interface in front of serve's embedded store, for the tools analysts already
// use (JDBC in DBeaver/DataGrip, Metabase, Grafana, clickhouse-connect, @clickhouse/client). It
// passes each statement to the engine as it came: the engine is ClickHouse, and the read-only
// sessions (store/readonly.ts) let the engine refuse what is not a read. This file only speaks the
// protocol: where the statement, format, database, parameters and settings come from, who is
// asking, and the headers and error bodies clients read.
import { createHash, randomUUID, timingSafeEqual } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import { promisify } from "node:util";
import zlib from "node:zlib";
import { registerSecret } from "../core/secrets.ts";
import { EngineError, ReadOnlySession, type ReadOnlyResult } from "../store/readonly.ts";
import { analystPasswords, type AnalystsConfig } from "./config.ts";
import { contentType } from "./formats.ts";
import { nativeFrames } from "./native.ts";
import { FairQueue, QueueFullError } from "./queue.ts";

export interface AnalystsServer {
  url: string;
  close(): Promise<void>;
}

export interface AnalystsOptions {
  config: AnalystsConfig;
  /** The embedded store's data directory, which serve's process already owns. */
  dataPath: string;
  env?: NodeJS.ProcessEnv;
  log?(line: string): void;
}

/**
 * URL parameters that belong to the HTTP layer (or that this endpoint answers itself), not to the
 * engine: every other parameter is a setting, as on a ClickHouse server.
 */
const HTTP_PARAMS = new Set([
  "query", "database", "default_format", "user", "password", "query_id", "session_id", "session_timeout", "session_check",
  "compress", "decompress", "enable_http_compression", "http_zlib_compression_level", "wait_end_of_query", "buffer_size",
  "send_progress_in_http_headers", "http_headers_progress_interval_ms", "http_response_buffer_size", "cancel_http_readonly_queries_on_client_close",
  "quota_key", "role", "client_protocol_version", "add_http_cors_header", "http_write_exception_in_output_format",
  "http_native_compression_disable_checksumming_on_decompress", "output_format_parallel_formatting",
]);

/** A request body is the statement (or its end): a statement this long is a mistake. */
const MAX_BODY_BYTES = 16 << 20;

/** ClickHouse's error codes this file gives itself, and the HTTP status ClickHouse pairs with them. */
const SYNTAX_ERROR = 62;
const UNKNOWN_TABLE = 60;
const UNKNOWN_DATABASE = 81;
const READONLY = 164;
const ACCESS_DENIED = 497;
const AUTHENTICATION_FAILED = 516;
const TOO_MANY_SIMULTANEOUS_QUERIES = 202;
const NOT_IMPLEMENTED = 48;
const BAD_ARGUMENTS = 36;
const UNKNOWN_QUERY_PARAMETER = 456;

function statusOf(code: number): number {
  if (code === AUTHENTICATION_FAILED) return 401;
  if (code === READONLY || code === ACCESS_DENIED) return 403;
  if (code === UNKNOWN_TABLE || code === UNKNOWN_DATABASE) return 404;
  if (code === SYNTAX_ERROR || code === BAD_ARGUMENTS || code === UNKNOWN_QUERY_PARAMETER || code === 27 || code === 26 || code === 6) return 400;
  if (code === TOO_MANY_SIMULTANEOUS_QUERIES) return 503;
  if (code === NOT_IMPLEMENTED) return 501;
  return 500;
}

const digest = (text: string) => createHash("sha256").update(text).digest();

/** Who is asking: X-ClickHouse-User/Key, HTTP basic auth, or user/password URL parameters, as ClickHouse reads them. */
function credentials(req: http.IncomingMessage, url: URL): { user: string; password: string } {
  const header = req.headers["x-clickhouse-user"];
  if (typeof header === "string") return { user: header, password: String(req.headers["x-clickhouse-key"] ?? "") };
  const authorization = req.headers.authorization ?? "";
  if (/^basic /i.test(authorization)) {
    const decoded = Buffer.from(authorization.slice(6).trim(), "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    return colon < 0 ? { user: decoded, password: "" } : { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
  }
  return { user: url.searchParams.get("user") ?? "default", password: url.searchParams.get("password") ?? "" };
}

async function readBody(req: http.IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new EngineError(`Code: ${BAD_ARGUMENTS}. DB::Exception: the request body is over ${MAX_BODY_BYTES >> 20} MiB: this endpoint takes statements, not data. (BAD_ARGUMENTS)`, BAD_ARGUMENTS);
    chunks.push(chunk as Buffer);
  }
  const body = Buffer.concat(chunks);
  // Clients may compress what they send (clickhouse-js with compression.request).
  const encoding = String(req.headers["content-encoding"] ?? "").toLowerCase();
  if (encoding === "gzip") return promisify(zlib.gunzip)(body);
  if (encoding === "deflate") return promisify(zlib.inflate)(body);
  if (encoding === "br") return promisify(zlib.brotliDecompress)(body);
  if (encoding !== "" && encoding !== "identity") throw new EngineError(`Code: ${NOT_IMPLEMENTED}. DB::Exception: Content-Encoding ${encoding} is not supported (gzip, deflate, br are). (NOT_IMPLEMENTED)`, NOT_IMPLEMENTED);
  return body;
}

/** The answer compressed as the client asked (Accept-Encoding), or as it is. */
async function encodeFor(req: http.IncomingMessage, bytes: Uint8Array): Promise<{ body: Uint8Array; encoding?: string }> {
  const accepted = String(req.headers["accept-encoding"] ?? "").toLowerCase();
  const asks = (name: string) => new RegExp(`(^|[ ,])${name}(?![^,]*q=0(\\.0*)?\\s*(,|$))`).test(accepted);
  if (asks("gzip")) return { body: await promisify(zlib.gzip)(bytes, { level: 3 }), encoding: "gzip" };
  if (asks("deflate")) return { body: await promisify(zlib.deflate)(bytes, { level: 3 }), encoding: "deflate" };
  if (asks("br")) return { body: await promisify(zlib.brotliCompress)(bytes, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 4 } }), encoding: "br" };
  return { body: bytes };
}

/** Starts the endpoint; rejects (with a message a person can act on) if a user has no password or the port is taken. */
export async function startAnalysts(options: AnalystsOptions): Promise<AnalystsServer> {
  const { config } = options;
  const plain = analystPasswords(config, options.env);
  // Whatever a log line quotes (an error, a URL with user/password parameters) hides them.
  for (const [user, password] of plain) registerSecret(password, user);
  const passwords = new Map([...plain].map(([user, password]) => [user, digest(password)]));
  const sessions = Array.from({ length: config.max_concurrent_queries }, () => new ReadOnlySession(options.dataPath, config.limits));
  const queue = new FairQueue(sessions.length, config.max_queued_queries);
  const displayName = os.hostname();
  let engine: { timezone: string; version: string };
  try {
    const answer = await (sessions[0] as ReadOnlySession).run({ sql: "SELECT timezone(), version()", format: "TSVRaw" });
    const [timezone = "UTC", version = ""] = Buffer.from(answer.bytes).toString("utf8").trim().split("\t");
    engine = { timezone, version };
  } catch (error) {
    for (const session of sessions) session.close();
    throw error;
  }
  const withVersion = (message: string) => (/\(version [^)]*\)\s*$/.test(message) ? message : `${message} (version ${engine.version})`);

  const server = http.createServer((req, res) => {
    void answer(req, res).catch((error: Error) => {
      options.log?.(`[analysts] ${error.message}`);
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });

  async function answer(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://analysts");
    const queryId = url.searchParams.get("query_id") || String(req.headers["x-clickhouse-query-id"] ?? "") || randomUUID();
    const headers: http.OutgoingHttpHeaders = {
      "X-ClickHouse-Server-Display-Name": displayName,
      "X-ClickHouse-Query-Id": queryId,
      "X-ClickHouse-Timezone": engine.timezone,
      "Keep-Alive": "timeout=10",
    };
    const fail = (code: number, message: string) => {
      const body = `${withVersion(message.trimEnd())}\n`;
      res.writeHead(statusOf(code), { ...headers, "Content-Type": "text/plain; charset=UTF-8", "X-ClickHouse-Exception-Code": String(code) });
      res.end(body);
    };
    if ((req.method === "GET" || req.method === "HEAD") && (url.pathname === "/ping" || url.pathname === "/replicas_status" || (url.pathname === "/" && !url.search))) {
      res.writeHead(200, { "Content-Type": "text/html; charset=UTF-8" });
      res.end(req.method === "HEAD" ? undefined : "Ok.\n");
      return;
    }
    if (url.pathname !== "/") {
      res.writeHead(404, { "Content-Type": "text/plain; charset=UTF-8" });
      res.end(`There is no handle ${url.pathname}\n\nUse / or /ping for health checks.\n`);
      return;
    }
    if (req.method !== "GET" && req.method !== "POST") {
      res.writeHead(405, { ...headers, Allow: "GET, POST" });
      res.end();
      return;
    }

    const { user, password } = credentials(req, url);
    const expected = passwords.get(user);
    if (!expected || !timingSafeEqual(expected, digest(password))) {
      req.resume();
      return fail(AUTHENTICATION_FAILED, `Code: ${AUTHENTICATION_FAILED}. DB::Exception: ${user}: Authentication failed: password is incorrect, or there is no user with such name. (AUTHENTICATION_FAILED)`);
    }
    // Answers come in ClickHouse's compressed framing when asked (compress=1, analysts/native.ts);
    // compressed request bodies in that framing (decompress=1) carry data to insert, never served here.
    if (url.searchParams.get("decompress") === "1") {
      req.resume();
      return fail(NOT_IMPLEMENTED, `Code: ${NOT_IMPLEMENTED}. DB::Exception: decompress=1 (a request body in ClickHouse's compressed framing) is not served here: send the statement as it is, or with Content-Encoding. (NOT_IMPLEMENTED)`);
    }
    const framed = url.searchParams.get("compress") === "1";

    let result: ReadOnlyResult;
    try {
      const body = req.method === "POST" ? (await readBody(req)).toString("utf8") : "";
      const fromUrl = url.searchParams.get("query");
      const sql = fromUrl !== null ? (body ? `${fromUrl}\n${body}` : fromUrl) : body;
      if (sql.trim() === "") return fail(SYNTAX_ERROR, `Code: ${SYNTAX_ERROR}. DB::Exception: Empty query. (SYNTAX_ERROR)`);
      const params: Record<string, string> = {};
      const settings: Record<string, string> = {};
      for (const [key, value] of url.searchParams) {
        if (key.startsWith("param_")) params[key.slice("param_".length)] = value;
        else if (!HTTP_PARAMS.has(key)) settings[key] = value;
      }
      const request = {
        sql,
        // The JDBC driver names its format in a header, other clients in default_format.
        format: url.searchParams.get("default_format") || String(req.headers["x-clickhouse-format"] ?? "") || "TabSeparated",
        database: url.searchParams.get("database") || String(req.headers["x-clickhouse-database"] ?? "") || undefined,
        params,
        settings,
      };
      result = await queue.run(user, (slot) => (sessions[slot] as ReadOnlySession).run(request));
    } catch (error) {
      if (error instanceof QueueFullError) return fail(TOO_MANY_SIMULTANEOUS_QUERIES, `Code: ${TOO_MANY_SIMULTANEOUS_QUERIES}. DB::Exception: Too many simultaneous queries: ${error.message}. (TOO_MANY_SIMULTANEOUS_QUERIES)`);
      if (error instanceof EngineError) return fail(error.code, error.message);
      throw error;
    }
    const summary = {
      read_rows: String(result.rowsRead),
      read_bytes: String(result.bytesRead),
      written_rows: "0",
      written_bytes: "0",
      total_rows_to_read: String(result.rowsRead),
      result_bytes: String(result.bytes.length),
      elapsed_ns: String(Math.round(result.elapsedMs * 1e6)),
    };
    const { body, encoding } = await encodeFor(req, framed ? await nativeFrames(result.bytes) : result.bytes);
    res.writeHead(200, {
      ...headers,
      "Content-Type": contentType(result.format),
      "X-ClickHouse-Format": result.format,
      "X-ClickHouse-Summary": JSON.stringify(summary),
      ...(encoding ? { "Content-Encoding": encoding } : {}),
      "Content-Length": body.length,
    });
    res.end(body);
  }

  server.keepAliveTimeout = 10_000;
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(config.port, config.host, () => resolve());
    });
  } catch (error) {
    for (const session of sessions) session.close();
    const code = (error as NodeJS.ErrnoException).code;
    throw new Error(code === "EADDRINUSE" ? `analysts.port ${config.port} on ${config.host} is taken: choose another port` : `cannot listen on ${config.host}:${config.port} (${code ?? (error as Error).message})`);
  }
  const address = server.address() as AddressInfo;
  return {
    url: `http://${address.family === "IPv6" ? `[${address.address}]` : address.address}:${address.port}`,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      // A query still running holds its session until the engine finishes it (its limit bounds that).
      for (const session of sessions) session.close();
    },
  };
}
