// The three worked questions of docs/analysts.md (sql/examples/), run by @clickhouse/client through
// a real serve on four hand-made items whose answers are worked out below, and checked to be
// printed in the docs word for word.
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { createClient, type ClickHouseClient } from "@clickhouse/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sqlFile } from "../store/sql.ts";
import { startAnalystServe, type AnalystServe } from "./helpers/analysts.ts";
import { CLI, ROOT } from "./helpers/serve-process.ts";

const run = promisify(execFile);
const DAY = 86_400_000;
const root = mkdtempSync(path.join(os.tmpdir(), "flowpulse-examples-"));
const data = path.join(root, "store");

// Everything happens in the previous calendar quarter (UTC), starting on its first day (Q0).
const now = new Date();
const quarterStart = (year: number, quarter: number) => Date.UTC(year, quarter * 3, 1);
const thisQuarter = quarterStart(now.getUTCFullYear(), Math.floor(now.getUTCMonth() / 3));
const lastQuarterDate = new Date(thisQuarter - DAY);
const Q0 = quarterStart(lastQuarterDate.getUTCFullYear(), Math.floor(lastQuarterDate.getUTCMonth() / 3));
const QUARTER_DAYS = Math.round((thisQuarter - Q0) / DAY);
const month = new Date(Q0).toISOString().slice(0, 10);
/** Noon of day `n` of the quarter, so no move sits on a day boundary. */
const at = (n: number) => new Date(Q0 + n * DAY + DAY / 2).toISOString();

/** item, team, type, then its moves: [day, state, flow state]. */
const ITEMS: [string, string, string, [number, string, string][]][] = [
  // A: active day 1 -> done day 5: flow time 4 d; WIP at the ends of days 1-4.
  ["A", "core", "feature", [[0, "To Do", "new"], [1, "In Progress", "active"], [5, "Done", "done"]]],
  // B: active day 2, waits in Review days 3-6 (3 d), done day 8: flow time 6 d; WIP days 2-7.
  ["B", "core", "defect", [[0, "To Do", "new"], [2, "In Progress", "active"], [3, "Review", "waiting"], [6, "In Progress", "active"], [8, "Done", "done"]]],
  // C: active day 1, Blocked days 2-3 (1 d), Review days 3-4 (1 d), done day 4: flow time 3 d; WIP days 1-3.
  ["C", "web", "defect", [[0, "To Do", "new"], [1, "In Progress", "active"], [2, "Blocked", "waiting"], [3, "Review", "waiting"], [4, "Done", "done"]]],
  // D: active from day 10, still open: WIP at the end of every day from 10 to the quarter's last.
  ["D", "web", "feature", [[0, "To Do", "new"], [10, "In Progress", "active"]]],
];

let serve: AnalystServe;
let client: ClickHouseClient;

beforeAll(async () => {
  const lines: string[] = [];
  for (const [key, team, type, moves] of ITEMS) {
    const item_id = `hc:${key}`;
    lines.push(JSON.stringify({ kind: "item", item_id, source: "hc", stream: "software", key, title: `item ${key}`, url: `https://hc.example/${key}`, flow_type: type, team, created_at: at(0) }));
    let from = "";
    moves.forEach(([day, state, flowState], i) => {
      lines.push(JSON.stringify({ kind: "transition", event_id: `${key}#${i}`, item_id, from_state: from, to_state: state, to_flow_state: flowState, at: at(day) }));
      from = state;
    });
  }
  const file = path.join(root, "handmade.jsonl");
  writeFileSync(file, lines.join("\n") + "\n");
  await run(process.execPath, [CLI, "--data", data, "import", file], { cwd: ROOT, env: { ...process.env, FLOWPULSE_CONFIG: "" } });
  serve = await startAnalystServe(data, { users: { ana: "examples-pw" } });
  client = createClient({ url: serve.url, username: "ana", password: "examples-pw" });
}, 120_000);

afterAll(async () => {
  await client?.close();
  await serve?.stop();
  rmSync(root, { recursive: true, force: true });
}, 60_000);

const answer = async (example: string) => (await (await client.query({ query: sqlFile(`examples/${example}.sql`), format: "JSONEachRow" })).json()) as Record<string, unknown>[];

describe("docs/analysts.md worked questions, on hand-checked data", () => {
  it("flow time by team per month", async () => {
    // core: A 4 d and B 6 d. Median (inclusive): 4 + 0.5 x (6 - 4) = 5; p85: 4 + 0.85 x 2 = 5.7.
    // web: C alone, 3 d. D is not finished.
    expect(await answer("flow_time_by_team_month")).toEqual([
      { team: "core", month, items: 2, median_days: 5, p85_days: 5.7 },
      { team: "web", month, items: 1, median_days: 3, p85_days: 3 },
    ]);
  });

  it("the state where defects wait longest", async () => {
    // Review: B 3 d + C 1 d = 4 d over 2 stays (mean 2); Blocked: C 1 d.
    expect(await answer("defect_waits_by_state")).toEqual([
      { state: "Review", stays: 2, total_days: 4, mean_days: 2 },
      { state: "Blocked", stays: 1, total_days: 1, mean_days: 1 },
    ]);
  });

  it("WIP by type last quarter", async () => {
    // defect: B at the ends of days 2-7 (6) + C days 1-3 (3) = 9 item-days; both on days 2 and 3: peak 2.
    // feature: A days 1-4 (4) + D days 10..last (QUARTER_DAYS - 10); never together: peak 1.
    const featureDays = 4 + QUARTER_DAYS - 10;
    const round2 = (x: number) => Math.round(x * 100) / 100;
    expect(await answer("wip_by_type_last_quarter")).toEqual([
      { flow_type: "defect", peak_wip: 2, mean_wip: round2(9 / QUARTER_DAYS), wip_days: 9 },
      { flow_type: "feature", peak_wip: 1, mean_wip: round2(featureDays / QUARTER_DAYS), wip_days: featureDays },
    ]);
  });

  it("docs/analysts.md prints each example as it is tested", () => {
    const docs = readFileSync(path.join(ROOT, "docs", "analysts.md"), "utf8");
    for (const example of ["flow_time_by_team_month", "defect_waits_by_state", "wip_by_type_last_quarter"]) {
      const statement = sqlFile(`examples/${example}.sql`).replace(/^--[^\n]*\n/gm, "").trim();
      expect(docs, example).toContain(statement);
    }
  });
});
