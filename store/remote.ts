// chDB lets one process own a data directory. `flowpulse serve` is that process; it shares the
// store with other local commands (CLI, one-off syncs) over a loopback HTTP endpoint guarded by a
// random token, written beside the data in serve.json (readable by the owner only).
import { randomBytes, timingSafeEqual } from "node:crypto";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { StoreError, toJsonLines, type QueryParams, type Store } from "./store.ts";

interface ServeFile {
  pid: number;
  url: string;
  token: string;
}

type Request =
  | { op: "query"; sql: string; params?: QueryParams }
  | { op: "command"; sql: string; params?: QueryParams }
  | { op: "insert"; table: string; rows: object[] }
  | { op: "insertLines"; table: string; columns: string[]; lines: string };

const serveFile = (dataPath: string) => path.join(dataPath, "serve.json");

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** The running serve process owning `dataPath`, if any (a stale file from a dead one is ignored). */
export function findServe(dataPath: string): ServeFile | undefined {
  const file = serveFile(dataPath);
  if (!existsSync(file)) return undefined;
  try {
    const serve = JSON.parse(readFileSync(file, "utf8")) as ServeFile;
    return isAlive(serve.pid) && serve.pid !== process.pid ? serve : undefined;
  } catch {
    return undefined;
  }
}

export class RemoteStore implements Store {
  readonly kind = "remote" as const;

  constructor(private readonly serve: ServeFile) {}

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
    const text = typeof lines === "string" ? lines : Buffer.from(lines.buffer, lines.byteOffset, lines.byteLength).toString("utf8");
    await this.call({ op: "insertLines", table, columns: [...columns], lines: text });
  }

  /**
   * The rows go over as bytes: serve may run as another user, who cannot read our private temp
   * files. (A spooled file is one packet, a few MB.)
   */
  async insertFile(table: string, columns: readonly string[], file: string): Promise<void> {
    await this.insertLines(table, columns, await readFile(file));
  }

  async close(): Promise<void> {}

  private async call<T>(request: Request): Promise<T> {
    let response: Response;
    try {
      response = await fetch(`${this.serve.url}/v1/store`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${this.serve.token}` },
        body: JSON.stringify(request),
      });
    } catch (error) {
      throw new StoreError(`flowpulse serve (pid ${this.serve.pid}) owns the store but did not answer at ${this.serve.url}: ${(error as Error).message}`);
    }
    const body = (await response.json()) as { result?: T; error?: string };
    if (!response.ok) throw new StoreError(body.error ?? `flowpulse serve answered ${response.status}`);
    return body.result as T;
  }
}

/** Shares `store` with local commands until the returned close() is called. */
export async function shareStore(store: Store, dataPath: string, port = 0): Promise<{ url: string; close(): Promise<void> }> {
  const token = randomBytes(24).toString("hex");
  const expected = Buffer.from(`Bearer ${token}`);
  const server = http.createServer(async (req, res) => {
    const reply = (status: number, body: unknown) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    };
    const given = Buffer.from(req.headers.authorization ?? "");
    if (req.method !== "POST" || req.url !== "/v1/store") return reply(404, { error: "not found" });
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return reply(401, { error: "bad token" });
    try {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const request = JSON.parse(Buffer.concat(chunks).toString("utf8")) as Request;
      if (request.op === "query") return reply(200, { result: await store.query(request.sql, request.params) });
      if (request.op === "command") return reply(200, { result: await store.command(request.sql, request.params) });
      if (request.op === "insert") return reply(200, { result: await store.insertRows(request.table, request.rows) });
      if (request.op === "insertLines") return reply(200, { result: await store.insertLines(request.table, request.columns, request.lines) });
      return reply(400, { error: "unknown operation" });
    } catch (error) {
      return reply(500, { error: (error as Error).message });
    }
  });
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  writeFileSync(serveFile(dataPath), JSON.stringify({ pid: process.pid, url, token } satisfies ServeFile), { mode: 0o600 });
  return {
    url,
    async close() {
      rmSync(serveFile(dataPath), { force: true });
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
