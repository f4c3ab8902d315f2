// `flowpulse forecast` run as a child process, the way a user runs it: JSON and table output on an
// imported history with hand-checked figures, the mistakes a person can make (exit 2, one line),
// and the demo's forecast with its calibration.
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addDays } from "../metrics/forecast.ts";
import { localDay } from "../metrics/forecast-query.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const BIN = path.join(ROOT, "bin", "flowpulse.js");
const run = promisify(execFile);
const DAY = 86_400_000;

let dir: string;
let data: string;
const TODAY = localDay(Date.now(), "UTC");

interface Outcome { code: number; stdout: string; stderr: string }

async function flowpulse(...args: string[]): Promise<Outcome> {
  try {
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

/** Canonical JSONL: `perDay` items of one team and type finished at noon UTC on each of the last `days` days. */
function history(team: string, type: string, perDay: number, days: number): string[] {
  const lines: string[] = [];
  const today = Math.floor(Date.now() / DAY) * DAY;
  for (let d = days; d >= 1; d--) {
    for (let i = 0; i < perDay; i++) {
      const key = `${team}-${d}-${i}`;
      const id = `cli:${key}`;
      const at = (hour: number) => new Date(today - d * DAY + hour * 3_600_000).toISOString();
      lines.push(
        JSON.stringify({ kind: "item", item_id: id, source: "cli", stream: "software", key, title: key, flow_type: type, team, created_at: at(8) }),
        JSON.stringify({ kind: "transition", event_id: `${key}#1`, item_id: id, from_state: "To Do", to_state: "In Progress", to_flow_state: "active", at: at(9) }),
        JSON.stringify({ kind: "transition", event_id: `${key}#2`, item_id: id, from_state: "In Progress", to_state: "Done", to_flow_state: "done", at: at(12) }),
      );
    }
  }
  return lines;
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), "fp-forecast-cli-"));
  data = path.join(dir, "store");
  const file = path.join(dir, "history.jsonl");
  writeFileSync(file, [...history("payments", "feature", 3, 100), ...history("platform", "defect", 1, 100)].join("\n") + "\n");
  const imported = await flowpulse("import", file, "--data", data);
  expect(imported.code, imported.stderr).toBe(0);
}, 180_000);

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe("flowpulse forecast", () => {
  it("when N, as JSON: 3 features a day make 30 in 10 days at every percentile, with a perfect track record", async () => {
    const result = await flowpulse("forecast", "when", "30", "--type", "feature", "--team", "payments", "--format", "json", "--data", data);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    const forecast = JSON.parse(result.stdout);
    expect(forecast.percentiles).toEqual([50, 70, 85, 95].map((percentile) => ({ percentile, days: 10, date: addDays(TODAY, 9) })));
    expect(forecast.history).toMatchObject({ days_sampled: 90, items: 270, zero_days: 0 });
    // History from 100 days ago; past forecasts from the 30th day of it (ago 70) to 10 days ago
    // (ago 10, when its p95 of 10 days has just passed): 61 of them, all exactly right.
    expect(forecast.calibration).toMatchObject({ forecasts: 61, from: addDays(TODAY, -70), to: addDays(TODAY, -10) });
    expect(forecast.calibration.coverage.map((row: { coverage: number }) => row.coverage)).toEqual([1, 1, 1, 1]);
    expect(forecast.distribution).toEqual([{ days: 10, date: addDays(TODAY, 9), trials: 10_000, cumulative: 1 }]);
  }, 60_000);

  it("howmany --by, as a table: the figures, the history and the calibration beside them", async () => {
    // Today .. today + 6 is 7 days; the team's 3 a day give 21. Past 7-day forecasts were made
    // from ago 70 to ago 7: 64 of them.
    const by = addDays(TODAY, 6);
    const result = await flowpulse("forecast", "howmany", "--by", by, "--team", "payments", "--data", data);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`Forecast: how many items will be done from ${TODAY} through ${by} (7 days)? (all item types · team payments)`);
    expect(result.stdout).toContain("270 items finished, 0 days with none; 10,000 trials, seed 1.");
    expect(result.stdout).toMatch(/^85%\s+21$/m);
    expect(result.stdout).toContain(`Calibration: the same question asked on 64 past days (${addDays(TODAY, -70)} to ${addDays(TODAY, -7)})`);
    expect(result.stdout).toMatch(/^95%\s+64 of 64\s+100%\s+100%$/m);
    expect(result.stdout).toContain("Reading: the 85% forecast came true about as often as it claimed: its ranges have held here");
  }, 60_000);

  it("says plainly when it cannot forecast, and refuses mistakes in one line with exit 2", async () => {
    const none = await flowpulse("forecast", "when", "5", "--team", "nobody", "--data", data);
    expect(none.code).toBe(0);
    expect(none.stdout).toContain("Cannot forecast: nothing is recorded in this scope yet.");
    // None of these opens the store, so they run side by side.
    const cases = [
      [["when"], "forecast when needs a number of items"],
      [["when", "2.5"], "forecast when needs a number of items"],
      [["howmany"], "forecast howmany needs --by YYYY-MM-DD"],
      [["howmany", "--by", "2020-01-01"], "--by 2020-01-01 is in the past"],
      [["howmany", "--by", "2027-02-30"], "--by 2027-02-30 is not a date"],
      [["soon"], 'forecast what? "when N" or "howmany --by YYYY-MM-DD", not "soon"'],
      [["when", "3", "--format", "csv"], "--format must be one of table, json"],
      [["when", "3", "--trials", "5"], "--trials must be a whole number, at least 100"],
    ] as const;
    const results = await Promise.all(cases.map(([args]) => flowpulse("forecast", ...args, "--data", data)));
    results.forEach((result, i) => {
      const [args, message] = cases[i]!;
      expect(result.code, args.join(" ")).toBe(2);
      expect(result.stderr.startsWith("flowpulse: "), args.join(" ")).toBe(true);
      expect(result.stderr, args.join(" ")).toContain(message);
      expect(result.stdout).toBe("");
    });
  }, 120_000);

  it("the demo prints a forecast with its calibration", async () => {
    const result = await flowpulse("demo", "--items", "800");
    expect(result.code, result.stderr).toBe(0);
    const section = result.stdout.slice(result.stdout.indexOf("== FORECAST =="));
    expect(section).toContain("Forecast: when will 50 items be done? (feature items)");
    expect(section).toMatch(/^85%\s+\d+\s+\d{4}-\d{2}-\d{2}$/m);
    expect(section).toMatch(/Calibration: the same question asked on \d+ past days/);
  }, 180_000);
});
