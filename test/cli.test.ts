// The `flowpulse` command run as a child process (`node bin/flowpulse.js ...`), the way a user
// runs it: import, metrics as JSON and CSV, rejected, user errors, and the demo.
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
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
    // Nothing but progress lines (a busy machine may take long enough to print one).
    expect(result.stderr.split("\n").filter((line) => line && !line.startsWith("import: "))).toEqual([]);
    // Some records were refused, the rest imported: exit 1.
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/^Read 24 records from 2 files in [\d.]+ s \([\d,]+ records\/s\): stored 5 items and 14 transitions, rejected 5\.$/m);
    expect(result.stdout).toMatch(/rejected .*bad\.jsonl:4: at: timestamp "2026-01-06 09:00:00" has no UTC offset/);
    // Everything good: exit 0 (the same file again changes nothing and refuses nothing).
    const again = await flowpulse("import", path.join(FIXTURES, "basic.jsonl"), "--data", data);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/^Read 15 records from 1 file in [\d.]+ s \([\d,]+ records\/s\): stored 4 items and 11 transitions, rejected 0\.$/m);
  }, 180_000);

  it("exits 1 when every record of a file is refused, and says how many repeats were stored once", async () => {
    const data = path.join(dir, "refused");
    const bad = path.join(dir, "all-bad.jsonl");
    writeFileSync(bad, '{"kind":"item"}\nnot json\n');
    const refused = await flowpulse("import", bad, "--data", data);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toMatch(/^Read 2 records from 1 file .*: stored 0 items and 0 transitions, rejected 2\.$/m);
    const dups = path.join(dir, "dups.jsonl");
    const move = '{"kind":"transition","event_id":"R#1","item_id":"fx:R-1","to_state":"Doing","to_flow_state":"active","at":"2026-01-05T09:00:00Z"}';
    writeFileSync(dups, [move, move, move].join("\n") + "\n");
    const repeated = await flowpulse("import", dups, "--data", data);
    expect(repeated.code).toBe(0);
    expect(repeated.stdout).toMatch(/^Read 3 records from 1 file .*: stored 0 items and 1 transition, rejected 0\.\n {2}2 records repeated an earlier one \(the same item_id, or item_id and event_id\) and were stored once\.\n$/);
  }, 180_000);

  it("exits 2 and imports nothing when the user must fix something: missing file, unusable header, bad option", async () => {
    const data = path.join(dir, "nothing");
    const header = path.join(dir, "colour.csv");
    writeFileSync(header, "id,colour\n1,red\n");
    const cases: [string[], RegExp][] = [
      [["import", path.join(dir, "missing.csv"), "--data", data], /missing\.csv: cannot read \(ENOENT\)/],
      [["import", header, "--data", data], /colour\.csv:1: unknown column\(s\) id, colour/],
      [["import", header, "--format", "xml", "--data", data], /--format must be jsonl or csv, not "xml"/],
      [["import", "--data", data], /name at least one file to import/],
    ];
    for (const [args, message] of cases) {
      const result = await flowpulse(...args);
      expect(result.code, args.join(" ")).toBe(2);
      expect(result.stderr).toMatch(message);
      expect(result.stdout).toBe("");
    }
  }, 180_000);

  it("prints terminal escapes and bidi controls from the input visibly, in the summary and in rejected", async () => {
    const data = path.join(dir, "escapes");
    const file = path.join(dir, "escapes.jsonl");
    // An ESC sequence that would clear the screen, a C1 CSI, and a right-to-left override.
    const evil = "\u001b[2J\u009b31m\u202eevil";
    // Line 1 carries them raw (invalid JSON), line 2 inside a value its reason quotes.
    const lines = [`{"kind":"${evil}"}`, JSON.stringify({ kind: evil })];
    writeFileSync(file, lines.join("\n") + "\n");
    const imported = await flowpulse("import", file, "--data", data);
    expect(imported.code).toBe(1);
    // (JSON.stringify in the reason already writes ESC as \u001b; the rest is the sanitiser's.)
    expect(imported.stdout).toContain(`escapes.jsonl:2: kind: "\\u001b[2J\\u009b31m\\u202eevil" is not "item" or "transition"`);
    for (const format of ["table", "csv"]) {
      const listed = await flowpulse("rejected", "--data", data, "--format", format);
      expect(listed.code).toBe(0);
      expect(listed.stdout).toContain("\\x1b[2J\\u009b31m\\u202eevil");
    }
    const json = await flowpulse("rejected", "--data", data, "--format", "json");
    // JSON keeps the same data, with every control character as a \u escape.
    expect((JSON.parse(json.stdout) as { payload: string }[]).map((r) => r.payload).sort()).toEqual([...lines].sort());
    const raw = ["\u001b", "\u009b", "\u202e"];
    const table = await flowpulse("rejected", "--data", data);
    for (const out of [imported.stdout, imported.stderr, json.stdout, table.stdout]) expect(raw.filter((ch) => out.includes(ch))).toEqual([]);
  }, 180_000);

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
    expect(sections).toEqual(["VELOCITY", "TIME", "EFFICIENCY", "LOAD", "DISTRIBUTION", "BOTTLENECKS", "FORECAST"]);
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
