// `flowpulse serve` owns the embedded store; other commands run beside it through the loopback
// share, and after serve stops they open the store themselves and see the same data.
import { execFile, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { CLI, ROOT, startServe } from "./helpers/serve-process.ts";

const run = promisify(execFile);
const FIXTURE = path.join(ROOT, "test", "fixtures", "import", "basic.jsonl");
const dir = mkdtempSync(path.join(os.tmpdir(), "flowpulse-serve-"));
const env = { ...process.env, FLOWPULSE_CONFIG: "" };
const flowpulse = (...args: string[]) => run(process.execPath, [CLI, "--data", dir, ...args], { cwd: ROOT, env });
const velocity = async () =>
  JSON.parse((await flowpulse("metrics", "velocity", "--since", "2026-01-01", "--until", "2026-03-01", "--period", "month", "--format", "json")).stdout) as unknown[];

let serve: ChildProcess | undefined;
afterAll(() => {
  serve?.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
});


describe("flowpulse serve", () => {
  it("shares its store: import and metrics run beside it, and see the same data after it stops", async () => {
    serve = await startServe(dir, env);
    expect(existsSync(path.join(dir, "serve.json"))).toBe(true);

    const imported = await flowpulse("import", FIXTURE);
    expect(imported.stdout).toMatch(/stored [\d,]+ items? and [\d,]+ transitions?/);
    const whileServing = await velocity();
    expect(whileServing.length).toBeGreaterThan(0);

    // A second serve on the same store is refused with the owner's pid.
    await expect(flowpulse("serve")).rejects.toMatchObject({ code: 2, stderr: expect.stringContaining(`pid ${serve.pid}`) });

    const exited = new Promise<number | null>((resolve) => serve!.once("exit", resolve));
    serve.kill("SIGTERM");
    expect(await exited).toBe(0);
    expect(existsSync(path.join(dir, "serve.json"))).toBe(false);

    expect(await velocity()).toEqual(whileServing);
  }, 120_000);
});
