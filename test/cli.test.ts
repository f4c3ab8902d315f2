// The `flowpulse` command run as a child process (`node bin/flowpulse.js ...`), the way a user
// runs it: import, metrics as JSON and CSV, rejected, user errors, and the demo.
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const BIN = path.join(ROOT, "bin", "flowpulse.js");
const FIXTURES = path.join(ROOT, "test", "fixtures", "import");
const run = promisify(execFile);

let dir: string;

interface Outcome { code: number; stdout: string; stderr: string }

async function flowpulse(...args: string[]): Promise<Outcome> {
  try {
    // cwd = the temp dir, so no flowpulse.yaml of the repo is picked up.
    const { stdout, stderr } = await run(process.execPath, [BIN, ...args], {
      cwd: dir,
      env: { ...process.env, FLOWPULSE_CONFIG: "", FLOWPULSE_DATA: "" },
      maxBuffer: 16 * 1024 * 1024,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === "number" ? e.code : -1, stdout: e.stdout ?? "", stderr: e.stderr ?? "" };
  }
}

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), "fp-cli-"));
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe("flowpulse CLI", () => {
  it("imports files and prints a summary with the rejections", async () => {
    const data = path.join(dir, "store");
    const result = await flowpulse("import", path.join(FIXTURES, "basic.jsonl"), path.join(FIXTURES, "bad.jsonl"), "--data", data);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^Imported 5 items and 14 transitions from 2 file\(s\) in [\d.]+ s \([\d,]+ rows\/s\); rejected 5\.$/m);
    expect(result.stdout).toMatch(/rejected .*bad\.jsonl:4: at: timestamp "2026-01-06 09:00:00" has no UTC offset/);
  });

  it("prints metrics as JSON rows with the contract's field names", async () => {
    const data = path.join(dir, "store");
    const result = await flowpulse("--data", data, "metrics", "velocity", "--since", "2026-01-01", "--until", "2026-01-31", "--format", "json");
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual([
      { period_start: "2026-01-05", flow_type: "defect", items: 1 },
      { period_start: "2026-01-05", flow_type: "feature", items: 2 },
    ]);
    const typed = await flowpulse("metrics", "time", "--data", data, "--type", "feature", "--stream", "alpha", "--since", "2026-01-01T00:00:00Z", "--until", "2026-02-01", "--format", "csv");
    expect(typed.code).toBe(0);
    expect(typed.stdout).toBe("period_start,flow_type,items,p50_days,p85_days,p95_days,mean_days\n2026-01-05,feature,1,2,2,2,2\n");
    // Flow time as a table starts with the whole window: A-2 1 d, A-1 2 d (n = 2, position p):
    // p50 1.5, p85 1 + 0.85 = 1.85 (one decimal: 1.9), mean 1.5; then each type alone.
    const time = await flowpulse("metrics", "time", "--data", data, "--stream", "alpha", "--since", "2026-01-01", "--until", "2026-01-31");
    expect(time.code).toBe(0);
    expect(time.stdout).toMatch(/^all types\s+2\s+1\.5\s+1\.9\s+\S+\s+1\.5$/m);
    expect(time.stdout).toMatch(/^defect\s+1\s+1\.0\s+1\.0\s+1\.0\s+1\.0$/m);
    expect(time.stdout.indexOf("all types")).toBeLessThan(time.stdout.indexOf("per week"));
    expect(time.stdout).toMatch(/^2026-01-05\s+feature\s+1\s+2\.0/m);
    // JSON keeps the per-period rows only, as before.
    const timeJson = await flowpulse("metrics", "time", "--data", data, "--stream", "alpha", "--since", "2026-01-01", "--until", "2026-01-31", "--format", "json");
    expect(JSON.parse(timeJson.stdout).map((row: { period_start: string; flow_type: string }) => `${row.period_start} ${row.flow_type}`)).toEqual(["2026-01-05 defect", "2026-01-05 feature"]);
    const table = await flowpulse("metrics", "efficiency", "--data", data, "--since", "2026-01-01", "--until", "2026-01-31", "--stream", "alpha");
    expect(table.stdout).toMatch(/efficiency \(%\)/);
    expect(table.stdout).toMatch(/2026-01-05\s+feature\s+1\s+50\.0/);
  });

  it("lists rejections", async () => {
    const result = await flowpulse("rejected", "--data", path.join(dir, "store"), "--limit", "2", "--format", "json");
    expect(result.code).toBe(0);
    const rows = JSON.parse(result.stdout) as { source: string; reference: string; reason: string }[];
    expect(rows).toHaveLength(2);
    expect(rows.map((r) => r.reference.replace(/^.*bad\.jsonl:/, ""))).toEqual(["2", "4"]);
    expect(rows.every((r) => r.source === "import")).toBe(true);
  });

  it("reports user errors in one line with exit code 2", async () => {
    const data = path.join(dir, "store");
    const cases: [string[], RegExp][] = [
      [["metrics", "speed", "--data", data], /unknown metric "speed"/],
      [["metrics", "load", "--data", data, "--since", "2026-13-01"], /--since: .*2026-13-01/],
      [["metrics", "load", "--data", data, "--period", "year"], /--period must be one of day, week, month/],
      // The only case that opens a store: its own, so the cases can run side by side.
      [["import", path.join(dir, "nope.jsonl"), "--data", path.join(dir, "other")], /nope\.jsonl: cannot read/],
      [["--config", path.join(dir, "missing.yaml"), "metrics", "velocity"], /config file .*missing\.yaml does not exist/],
      [["frobnicate"], /unknown command "frobnicate"/],
    ];
    const results = await Promise.all(cases.map(([args]) => flowpulse(...args)));
    for (const [i, [args, message]] of cases.entries()) {
      const result = results[i] as Outcome;
      expect(result.code, args.join(" ")).toBe(2);
      expect(result.stderr).toMatch(message);
      expect(result.stderr).not.toMatch(/\n\s+at /); // no stack trace
    }
  });

  it("runs the demo on a fresh store and prints every section", async () => {
    const started = Date.now();
    const result = await flowpulse("demo");
    expect(result.code).toBe(0);
    const sections = [...result.stdout.matchAll(/^== ([A-Z]+) ==$/gm)].map((m) => m[1]);
    expect(sections).toEqual(["VELOCITY", "TIME", "EFFICIENCY", "LOAD", "DISTRIBUTION", "BOTTLENECKS"]);
    const header = /imported in [\d.]+ s \((\d+) items, (\d+) transitions, 0 rejected\)/.exec(result.stdout);
    expect(Number(header?.[1])).toBe(2400);
    expect(Number(header?.[2])).toBeGreaterThan(2400 * 4);
    // All four types delivered, WIP present, and a time-in-state table for the workflow.
    for (const type of ["feature", "defect", "risk", "debt"]) expect(result.stdout).toContain(type);
    expect(result.stdout).toMatch(/^completed\s+feature\s+\d+/m);
    expect(result.stdout).toMatch(/^wip\s+\w+\s+\d+/m);
    expect(result.stdout).toMatch(/^In Review\s+waiting\s+\d+/m);
    expect(result.stdout).toMatch(/^Blocked\s+waiting\s+\d+/m);
    expect(Date.now() - started).toBeLessThan(60_000);
  });
});
