// Spool folders of killed imports: a real `flowpulse import` child process is stopped with SIGTERM
// (it must remove its folder) and with SIGKILL (it cannot; the next import must remove it).
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeBenchJsonl } from "../bench/generate.ts";
import { importFiles, removeStaleSpools } from "../connectors/file/import.ts";
import { openStore } from "../store/open.ts";

const BIN = fileURLToPath(new URL("../bin/flowpulse.js", import.meta.url));

let dir: string;
let big: string;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), "fp-spool-"));
  big = path.join(dir, "big.jsonl");
  // About 40 MB: long enough to still be importing when it is killed.
  await writeBenchJsonl(big, { items: 20_000, seed: 3, endMs: Date.UTC(2026, 5, 1) });
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

const spools = (tmp: string) => readdirSync(tmp).filter((name) => name.startsWith("flowpulse-import-"));

/** Starts `flowpulse import big.jsonl` with its own temp directory; resolves once its spool folder exists. */
async function startImport(name: string): Promise<{ child: ChildProcess; tmp: string; exited: Promise<NodeJS.Signals | number | null> }> {
  const tmp = path.join(dir, `tmp-${name}`);
  mkdirSync(tmp);
  const child = spawn(process.execPath, [BIN, "import", big, "--data", path.join(dir, `store-${name}`)], {
    env: { ...process.env, TMPDIR: tmp, FLOWPULSE_CONFIG: "", FLOWPULSE_DATA: "" },
    stdio: "ignore",
  });
  const exited = new Promise<NodeJS.Signals | number | null>((resolve) => child.on("exit", (code, signal) => resolve(signal ?? code)));
  const deadline = Date.now() + 90_000;
  while (!spools(tmp).some((s) => s.startsWith(`flowpulse-import-${child.pid}-`))) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`no spool folder appeared in ${tmp}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return { child, tmp, exited };
}

describe("import spool folders", () => {
  it("are removed when the import is stopped with SIGTERM or SIGINT", async () => {
    for (const signal of ["SIGTERM", "SIGINT"] as const) {
      const { child, tmp, exited } = await startImport(signal);
      child.kill(signal);
      expect(await exited).toBe(signal);
      expect(spools(tmp)).toEqual([]);
    }
  }, 240_000);

  it("left by a killed import are removed by the next import, and a live process's are kept", async () => {
    const { child, tmp, exited } = await startImport("kill");
    child.kill("SIGKILL");
    expect(await exited).toBe("SIGKILL");
    const left = spools(tmp);
    expect(left).toHaveLength(1);
    // A folder of a process that is running (this one's parent) must stay.
    const live = `flowpulse-import-${process.ppid}-keep`;
    mkdirSync(path.join(tmp, live));
    const small = path.join(dir, "small.jsonl");
    writeFileSync(small, '{"kind":"transition","event_id":"K#1","item_id":"fx:K-1","to_state":"Doing","to_flow_state":"active","at":"2026-01-05T09:00:00Z"}\n');
    const before = process.env.TMPDIR;
    process.env.TMPDIR = tmp;
    // The next import goes into the killed one's store: its stage tables (in-memory rows the engine
    // had parsed, see sql/ingest) must go too.
    const store = await openStore({ kind: "embedded", path: path.join(dir, "store-kill") });
    const stages = () => store.query<{ name: string }>("SELECT name FROM system.tables WHERE startsWith(name, {p:String})", { p: `import_stage_${child.pid}_` });
    try {
      expect(await importFiles(store, [small])).toMatchObject({ transitions: 1, rejected: 0 });
      expect(await stages()).toEqual([]);
    } finally {
      if (before === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = before;
      await store.close();
    }
    expect(existsSync(path.join(tmp, left[0] as string))).toBe(false);
    expect(spools(tmp)).toEqual([live]);
    expect(removeStaleSpools(tmp)).toEqual([]);
  }, 240_000);
});
