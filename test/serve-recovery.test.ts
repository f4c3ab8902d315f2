// Derive recovery while serve runs: a real `flowpulse import` through a real `flowpulse serve` is
// SIGKILLed midway; serve must derive the rows it left stored but underived within seconds (not
// only at its next start), and after the file is imported again every figure equals a clean import.
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { sqlFile } from "../store/sql.ts";
import { findServe, RemoteStore } from "../store/remote.ts";
import { CLI, ROOT, startServe } from "./helpers/serve-process.ts";

const run = promisify(execFile);
const dir = mkdtempSync(path.join(os.tmpdir(), "flowpulse-serve-recovery-"));
const served = path.join(dir, "served");
const clean = path.join(dir, "clean");
const env = { ...process.env, FLOWPULSE_CONFIG: "" };
const flowpulse = (data: string, ...args: string[]) => run(process.execPath, [CLI, "--data", data, ...args], { cwd: ROOT, env, maxBuffer: 64 << 20 });

let serve: ChildProcess | undefined;
let importer: ChildProcess | undefined;
afterAll(() => {
  importer?.kill("SIGKILL");
  serve?.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
});


/** 35k items with six lines each (210k records): more than one store write of 200k records. */
function writeHistory(file: string): void {
  const lines: string[] = [];
  const base = Date.UTC(2026, 0, 5);
  const states: [string, string][] = [["To Do", "new"], ["Doing", "active"], ["Review", "waiting"], ["Doing", "active"], ["Done", "done"]];
  for (let i = 0; i < 35_000; i++) {
    const id = `rk:${i}`;
    const created = base + (i % 500) * 3_600_000;
    lines.push(JSON.stringify({ kind: "item", item_id: id, source: "rk", stream: "s", key: `K-${i}`, flow_type: i % 3 ? "feature" : "defect", team: "t", created_at: new Date(created).toISOString() }));
    // Every seventh item stays open in Review.
    const steps = i % 7 === 0 ? 3 : states.length;
    for (let k = 0; k < steps; k++) {
      const [to, flow] = states[k] as [string, string];
      lines.push(JSON.stringify({ kind: "transition", event_id: `${id}#${k}`, item_id: id, from_state: k ? (states[k - 1] as [string, string])[0] : "", to_state: to, to_flow_state: flow, at: new Date(created + k * (1 + (i % 5)) * 86_400_000).toISOString() }));
    }
  }
  writeFileSync(file, lines.join("\n") + "\n");
}

const metric = async (data: string, name: string) =>
  JSON.parse((await flowpulse(data, "metrics", name, "--since", "2026-01-01", "--until", "2026-04-01", "--period", "month", "--format", "json")).stdout) as unknown;

describe("flowpulse serve recovers a killed import", () => {
  it("derives the rows a SIGKILLed import left within seconds, and a re-import equals a clean one", async () => {
    const file = path.join(dir, "history.jsonl");
    writeHistory(file);
    serve = await startServe(served, env);
    const share = findServe(served);
    expect(share).toBeDefined();
    const store = new RemoteStore(share!);
    const count = async (sql: string) => Number((await store.query<{ n: string }>(sql))[0]?.n);

    importer = spawn(process.execPath, [CLI, "--data", served, "import", file], { cwd: ROOT, env, stdio: "ignore" });
    let exited = false;
    importer.once("exit", () => (exited = true));
    // Kill it once some rows are stored, before it has derived them.
    const deadline = Date.now() + 60_000;
    while ((await count("SELECT count() AS n FROM transitions")) === 0) {
      expect(exited).toBe(false);
      expect(Date.now()).toBeLessThan(deadline);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    importer.kill("SIGKILL");
    await new Promise((resolve) => importer!.once("exit", resolve));
    const killedAt = Date.now();
    const pending = () => store.query<{ batch_id: string }>(sqlFile("ops/pending_batches.sql"));
    // Items whose derived row is missing or did not see all their stored transitions.
    const underived = () =>
      count(
        `SELECT count() AS n FROM (SELECT item_id, count() AS c FROM transitions FINAL GROUP BY item_id) AS t
         LEFT JOIN (SELECT item_id, transition_count FROM item_flow FINAL) AS f USING (item_id) WHERE f.transition_count != t.c`,
      );
    expect((await pending()).length).toBeGreaterThan(0);
    expect(await underived()).toBeGreaterThan(0);

    // Every stored item derived, with every stored transition, and nothing left pending, within seconds.
    while ((await underived()) > 0 || (await pending()).length > 0) {
      expect(Date.now() - killedAt, "serve derived the killed import's rows").toBeLessThan(30_000);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    expect(await count("SELECT count() AS n FROM item_flow FINAL")).toBeGreaterThan(0);

    // Imported again through serve, and cleanly into a store of its own: the same figures.
    await flowpulse(served, "import", file);
    await flowpulse(clean, "import", file);
    for (const name of ["velocity", "time", "efficiency", "distribution"]) {
      const ours = await metric(served, name);
      expect(ours, name).toEqual(await metric(clean, name));
    }
  }, 240_000);
});
