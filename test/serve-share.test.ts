// The serve share with real processes: rows far larger than one request go over in bounded raw
// chunks; a frozen (SIGSTOPped) serve fails a command within seconds with one line saying what to
// do; a stale serve.json whose pid names an unrelated live process is removed and ignored; and a
// serve running an older schema is refused with one line.
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { ChdbStore } from "../store/chdb.ts";
import { findServe, INSERT_CHUNK_BYTES, RemoteStore, shareStore } from "../store/remote.ts";
import { splitStatements, sqlFile, sqlFolder } from "../store/sql.ts";
import { CLI, ROOT, startServe } from "./helpers/serve-process.ts";

const run = promisify(execFile);
const dir = mkdtempSync(path.join(os.tmpdir(), "flowpulse-share-"));
const env = { ...process.env, FLOWPULSE_CONFIG: "" };
const flowpulse = (data: string, ...args: string[]) => run(process.execPath, [CLI, "--data", data, ...args], { cwd: ROOT, env, maxBuffer: 64 << 20 });
const velocity = (data: string) => flowpulse(data, "metrics", "velocity", "--since", "2026-01-01", "--until", "2026-03-01", "--period", "month", "--format", "json");

const children: ChildProcess[] = [];
afterAll(() => {
  for (const child of children) {
    child.kill("SIGCONT");
    child.kill("SIGKILL");
  }
  rmSync(dir, { recursive: true, force: true });
});


/** A serve the suite kills at the end, whatever happens. */
async function startTracked(data: string): Promise<ChildProcess> {
  const child = await startServe(data, env);
  children.push(child);
  return child;
}

const stopped = async (child: ChildProcess) => {
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGTERM");
  await exited;
};

describe("flowpulse serve's share", () => {
  it("takes rows far larger than one request in bounded raw chunks, with 2.8 KB titles", async () => {
    const data = path.join(dir, "large");
    // 14k items with 2.8 KB titles (quotes and backslashes included, which JSON escapes): about
    // 45 MB of encoded rows in one packet, so several chunks of at most INSERT_CHUNK_BYTES.
    const title = 'A "quoted" \\ title, '.repeat(140).slice(0, 2800);
    const lines: string[] = [];
    for (let i = 0; i < 14_000; i++) {
      const id = `big:${i}`;
      const at = Date.UTC(2026, 0, 2 + (i % 40));
      lines.push(JSON.stringify({ kind: "item", item_id: id, source: "big", stream: "s", key: `B-${i}`, title: `${i} ${title}`, flow_type: "feature", team: "t", created_at: new Date(at).toISOString() }));
      lines.push(JSON.stringify({ kind: "transition", event_id: `${id}#0`, item_id: id, from_state: "", to_state: "To Do", to_flow_state: "new", at: new Date(at).toISOString() }));
      lines.push(JSON.stringify({ kind: "transition", event_id: `${id}#1`, item_id: id, from_state: "To Do", to_state: "Done", to_flow_state: "done", at: new Date(at + 86_400_000).toISOString() }));
    }
    const file = path.join(dir, "large.jsonl");
    writeFileSync(file, lines.join("\n") + "\n");
    expect(lines.length * 2800).toBeGreaterThan(2 * INSERT_CHUNK_BYTES);

    const serve = await startTracked(data);
    const imported = await flowpulse(data, "import", file);
    expect(imported.stdout).toMatch(/stored 14,000 items and 28,000 transitions/);
    const store = new RemoteStore(findServe(data)!);
    expect(await store.query("SELECT count() AS n, countIf(endsWith(title, {tail:String})) AS whole FROM work_items FINAL", { tail: title.slice(-50) })).toEqual([{ n: 14000, whole: 14000 }]);
    const whileServing = JSON.parse((await velocity(data)).stdout) as unknown[];
    await stopped(serve);
    const clean = path.join(dir, "large-clean");
    await flowpulse(clean, "import", file);
    expect(JSON.parse((await velocity(clean)).stdout)).toEqual(whileServing);
  }, 240_000);

  it("fails a command within seconds, in one line, when serve is frozen", async () => {
    const data = path.join(dir, "frozen");
    const serve = await startTracked(data);
    serve.kill("SIGSTOP");
    try {
      const started = Date.now();
      const failed = await velocity(data).then(
        () => undefined,
        (error: { code: number; stderr: string }) => error,
      );
      expect(Date.now() - started).toBeLessThan(20_000);
      expect(failed?.code).toBe(2);
      expect(failed?.stderr.trim().split("\n")).toEqual([
        `flowpulse: flowpulse serve (pid ${serve.pid}) owns the store but did not answer in 5 s (stopped? \`kill -CONT ${serve.pid}\` or restart it)`,
      ]);
    } finally {
      serve.kill("SIGCONT");
    }
    await stopped(serve);
  }, 120_000);

  it("waits for a statement longer than 5 s, and fails within seconds when serve freezes during one", async () => {
    const data = path.join(dir, "long");
    const serve = await startTracked(data);
    const store = new RemoteStore(findServe(data)!);
    // Seven seconds of sleeping, half a second per one-row block: no CPU spent.
    const slow = "SELECT sum(sleepEachRow(0.5)) AS s FROM numbers(14) SETTINGS max_block_size = 1";
    expect(await store.query(slow)).toEqual([{ s: 0 }]);

    const started = Date.now();
    const running = store.query(slow).then(
      () => undefined,
      (error: Error) => error,
    );
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    serve.kill("SIGSTOP");
    try {
      const failed = await running;
      expect(failed?.message).toBe(`flowpulse serve (pid ${serve.pid}) owns the store but did not answer in 5 s (stopped? \`kill -CONT ${serve.pid}\` or restart it)`);
      expect(Date.now() - started).toBeLessThan(15_000);
    } finally {
      serve.kill("SIGCONT");
    }
    await stopped(serve);
  }, 120_000);

  it("removes and ignores a serve.json whose pid now names an unrelated live process", async () => {
    const data = path.join(dir, "stale");
    mkdirSync(data, { recursive: true });
    const unrelated = spawn("sleep", ["120"], { stdio: "ignore" });
    children.push(unrelated);
    const file = path.join(data, "serve.json");
    // The pid is alive, but the process that wrote the file started at another time.
    writeFileSync(file, JSON.stringify({ pid: unrelated.pid, start: "1", url: "http://127.0.0.1:9", token: "0".repeat(48) }));
    const answered = await velocity(data);
    expect(JSON.parse(answered.stdout)).toEqual([]);
    expect(existsSync(file)).toBe(false);
    unrelated.kill("SIGKILL");
  }, 120_000);

  it("refuses a serve that runs an older schema, in one line", async () => {
    const data = path.join(dir, "older");
    const store = new ChdbStore(data);
    try {
      await store.command(sqlFile("ops/schema_migrations.sql"));
      for (const migration of sqlFolder("schema").filter((m) => m.name < "0005")) {
        for (const statement of splitStatements(migration.text)) await store.command(statement);
        await store.insertRows("schema_migrations", [{ name: migration.name }]);
      }
      const share = await shareStore(store, data);
      try {
        const failed = await velocity(data).then(
          () => undefined,
          (error: { code: number; stderr: string }) => error,
        );
        expect(failed?.code).toBe(2);
        const needed = sqlFolder("schema").at(-1)!.name.slice(0, 4);
        expect(failed?.stderr.trim().split("\n")).toEqual([`flowpulse: flowpulse serve (pid ${process.pid}) runs schema 0004, this flowpulse needs ${needed}: restart serve`]);
      } finally {
        await share.close();
      }
    } finally {
      await store.close();
    }
  }, 120_000);
});
