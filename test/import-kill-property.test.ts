// Kill property: a real `flowpulse import` of a dirty file (bad lines, repeats, corrections) is
// SIGKILLed at a random moment and then run again, once into a store of its own and once through a
// running `flowpulse serve`. Afterwards every metric equals a clean import of only the valid final
// records, and rejected_records lists every bad line with its file:line and a reason. The kill may
// land before anything is stored, between storing and deriving, or after the end: each is a case
// the second run (and recovery) must absorb. Seeded: a failure names its seed, format and delay.
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { prng } from "../connectors/file/sample.ts";
import { findServe, RemoteStore } from "../store/remote.ts";
import type { Store } from "../store/store.ts";
import { allMetrics, badLineNumbers, history, scenario, writeLines, type Format } from "./helpers/dirty-files.ts";
import { CLI, ROOT, startServe } from "./helpers/serve-process.ts";

const run = promisify(execFile);
const dir = mkdtempSync(path.join(os.tmpdir(), "fp-kill-prop-"));
const env = { ...process.env, FLOWPULSE_CONFIG: "" };
const TAG = "k";

const children: ChildProcess[] = [];
afterAll(() => {
  for (const child of children) child.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
});

/** Runs the CLI to its end; the exit status is returned, not thrown. */
async function flowpulse(data: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, "--data", data, ...args], { cwd: ROOT, env, maxBuffer: 64 << 20 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

async function startShared(data: string): Promise<{ child: ChildProcess; store: Store }> {
  const child = await startServe(data, env);
  children.push(child);
  return { child, store: new RemoteStore(findServe(data)!) };
}

async function stopServe(child: ChildProcess): Promise<void> {
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGTERM");
  await exited;
}

/** An import killed `delayMs` after it started (or left to finish, if it finishes first). */
async function killedImport(data: string, file: string, delayMs: number): Promise<"killed" | "finished"> {
  const child = spawn(process.execPath, [CLI, "--data", data, "import", file], { cwd: ROOT, env, stdio: "ignore" });
  children.push(child);
  const exited = new Promise<"finished">((resolve) => child.once("exit", () => resolve("finished")));
  const outcome = await Promise.race([exited, new Promise<"killed">((resolve) => setTimeout(() => resolve("killed"), delayMs))]);
  if (outcome === "killed") {
    child.kill("SIGKILL");
    await exited;
  }
  return outcome;
}

async function rejectedLines(store: Store, file: string): Promise<Map<number, string>> {
  const rows = await store.query<{ reference: string; reason: string }>(
    "SELECT reference, reason FROM rejected_records WHERE startsWith(reference, {prefix:String})",
    { prefix: `${file}:` },
  );
  return new Map(rows.map((r) => [Number(r.reference.slice(file.length + 1)), r.reason]));
}

const CASES: [number, Format][] = [
  [11, "jsonl"],
  [12, "csv"],
];

describe("import kill property: killed at a random moment and run again, with and without serve", () => {
  it.each(CASES)("seed %i, %s", async (seed, format) => {
    const random = prng(seed);
    const clean = path.join(dir, `clean-${seed}`);
    const plain = path.join(dir, `plain-${seed}`);
    const served = path.join(dir, `served-${seed}`);
    const cleanFile = path.join(dir, `clean-${seed}.jsonl`);
    writeLines(cleanFile, "jsonl", history(seed, TAG, 1500).map((r) => ({ bytes: Buffer.from(JSON.stringify(r)) })));
    const { lines } = scenario(seed, TAG, format, { corrections: 0.05, items: 1500 });
    const file = path.join(dir, `dirty-${seed}.${format}`);
    writeLines(file, format, lines);
    const badLines = badLineNumbers(format, lines);
    expect(badLines.length).toBeGreaterThan(0);
    expect(lines.some((l) => l.draft)).toBe(true);

    expect((await flowpulse(clean, "import", cleanFile)).code).toBe(0);

    // Without serve: killed, then imported again by a new process (which recovers at open).
    const plainDelay = 300 + Math.floor(random() * 4000);
    const plainKill = await killedImport(plain, file, plainDelay);
    const plainAgain = await flowpulse(plain, "import", file);
    expect(plainAgain.code, `plain: ${plainAgain.stderr}`).toBe(1);

    // Through serve: killed, then imported again while serve runs on.
    const servedServe = await startShared(served);
    const servedDelay = 300 + Math.floor(random() * 4000);
    const servedKill = await killedImport(served, file, servedDelay);
    const servedAgain = await flowpulse(served, "import", file);
    expect(servedAgain.code, `served: ${servedAgain.stderr}`).toBe(1);

    const cleanServe = await startShared(clean);
    const plainServe = await startShared(plain);
    try {
      const expected = await allMetrics(cleanServe.store, TAG);
      expect(expected.velocity.length, "the sample delivers something").toBeGreaterThan(0);
      const runs = [
        { name: `plain (killed after ${plainDelay} ms: ${plainKill})`, store: plainServe.store },
        { name: `served (killed after ${servedDelay} ms: ${servedKill})`, store: servedServe.store },
      ];
      for (const { name, store } of runs) {
        const where = `seed ${seed}, ${format}, ${name}`;
        expect(await allMetrics(store, TAG), where).toEqual(expected);
        const byLine = await rejectedLines(store, file);
        expect([...byLine.keys()].sort((a, b) => a - b), where).toEqual(badLines.map(([line]) => line));
        for (const [line, kind] of badLines) expect(byLine.get(line), `${where}: line ${line} (${kind})`).toMatch(/\w/);
      }
    } finally {
      await Promise.all([cleanServe, plainServe, servedServe].map(({ child }) => stopServe(child)));
    }
  }, 240_000);
});
