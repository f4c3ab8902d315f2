// `flowpulse sync jira` as a user runs it: the real CLI in child processes (`node bin/flowpulse.js`)
// against the local replay of Jira Cloud served from this test process, with a flowpulse.yaml in a
// temp dir. The hand-checked board is synced, its flow times read back through `metrics time`, a
// second sync must add nothing, and a sync killed with SIGKILL midway and run again must end with
// the same tables as the uninterrupted one. The stores are read here only after their child exited
// (chDB binds one data directory per process: each is opened, read and closed in turn).
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { sqlFile } from "../store/sql.ts";
import { openStore } from "../store/open.ts";
import { board, boardIssues, CLOUD_AUTH, CLOUD_ENV, sitePrefix, WORKFLOW } from "./helpers/jira-board.ts";
import { startJiraReplay, tokenOffset, type JiraReplay, type ReplayOptions } from "./helpers/jira-replay.ts";
import { runToEnd, type CliOutcome } from "./helpers/hung.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const BIN = path.join(ROOT, "bin", "flowpulse.js");
const SEARCH = "/rest/api/3/search/jql";
// One issue per search page and a commit every 2 issues: the 9-issue board takes 9 pages and 5
// commits, so a kill can land between commits.
const PAGE_SIZE = 1;
const COMMIT_ISSUES = 2;

let tmp: string;
const servers: JiraReplay[] = [];


/** A site with its own replay server, config file and data directory. */
interface Site { jira: JiraReplay; config: string; data: string }

async function site(name: string, replay: Partial<ReplayOptions> = {}): Promise<Site> {
  const jira = await startJiraReplay({
    flavor: "cloud", issues: boardIssues(), statuses: board.statuses, timeZone: "Europe/Berlin", embeddedChangelog: 3, authorization: CLOUD_AUTH, ...replay,
  });
  servers.push(jira);
  const dir = path.join(tmp, name);
  const config = path.join(tmp, `${name}.yaml`);
  writeFileSync(
    config,
    stringify({
      workflows: { jira: WORKFLOW },
      sources: {
        jira: {
          site: jira.url, flavor: "cloud", auth: { email: "sync-bot@acme.test" }, projects: ["FP"],
          page_size: PAGE_SIZE, commit_issues: COMMIT_ISSUES, changelog_page_size: 3, backoff_ms: 20, max_retries: 3,
          team: { by_project: { FP: "payments" }, by_component: { Security: "secops" } },
        },
      },
    }),
  );
  return { jira, config, data: dir };
}

const cliEnv = () => ({ ...process.env, ...CLOUD_ENV, FLOWPULSE_CONFIG: "", FLOWPULSE_DATA: "" });

/** Runs the CLI to its end. Asynchronous on purpose: the replay server lives in this process. */
function flowpulse(target: Site, ...args: string[]): Promise<CliOutcome> {
  return runToEnd([BIN, "--config", target.config, "--data", target.data, ...args], { cwd: tmp, env: cliEnv(), deadlineMs: CLI_DEADLINE_MS });
}

const json = async (target: Site, ...args: string[]) => {
  const result = await flowpulse(target, ...args, "--format", "json");
  expect(result.stderr).toBe("");
  expect(result.code).toBe(0);
  return JSON.parse(result.stdout) as Record<string, unknown>[];
};
const MARCH = ["--since", "2024-03-01", "--until", "2024-03-31", "--period", "month"];
const flowTime = (target: Site) => json(target, "metrics", "time", ...MARCH);
const velocity = (target: Site) => json(target, "metrics", "velocity", ...MARCH);
const rejections = async (target: Site) =>
  (await json(target, "rejected", "--source", "jira")).map((r) => `${r.reference}: ${r.reason}`).sort();

/** Every table's row count and content checksum for the site, read after its CLI exited. */
async function tables(target: Site) {
  const store = await openStore({ kind: "embedded", path: target.data });
  try {
    const sums = await store.query(sqlFile("queries/jira_checksums.sql"), { prefix: sitePrefix(target.jira.url) });
    const [raw] = await store.query<{ raw: number | string }>("SELECT count() AS raw FROM raw_payloads FINAL WHERE source = 'jira' AND kind = 'issue'");
    return { sums, raw: Number(raw!.raw) };
  } finally {
    await store.close();
  }
}

// Tests that run six or more CLI processes, each starting chDB: on two busy cores in CI one such
// test has taken over a minute, ten times its time on an idle machine.
const CLI_HEAVY_MS = 240_000;
// One CLI run takes seconds; past this it is hung, and is ended with its stacks in the failure.
const CLI_DEADLINE_MS = 120_000;

let straight: Site;
/** The uninterrupted sync's figures, read once by the second-sync test for the killed one to match. */
let straightFigures: { time: unknown; velocity: unknown; rejected: string[] };
let firstTables: Awaited<ReturnType<typeof tables>>;

beforeAll(async () => {
  tmp = mkdtempSync(path.join(os.tmpdir(), "fp-jira-cli-"));
  straight = await site("straight");
});
afterAll(async () => {
  for (const server of servers) await server.close();
  rmSync(tmp, { recursive: true, force: true });
});

describe("flowpulse sync jira (CLI against the replay server)", () => {
  it("fills the store and prints the summary", async () => {
    const result = await flowpulse(straight, "sync", "jira");
    // 1: this run refused two records and stored the rest (the exit status contract, docs/cli.md).
    expect(result.code).toBe(1);
    // 9 issues, one per page. Status changes: FP-1 5 (creation + 4), FP-2 3, FP-3 5, FP-4 7 (its
    // priority and assignee histories are not status changes), FP-5 3, FP-7 3, FP-8 1 (creation
    // only), FP-9 6 = 33. Rejected: FP-6 (no fields) and FP-7's history item without a field name.
    expect(result.stderr).toMatch(/^jira: backfill sync done: 9 issues on 9 pages, 33 status changes, 2 rejected, 0 rate-limit waits, 0 marked deleted$/m);
    expect(result.stdout).toBe("2 issue(s) or change(s) rejected: flowpulse rejected --source jira\n");
    expect(result.stderr).not.toContain(CLOUD_ENV.JIRA_API_TOKEN);
    const searches = straight.jira.requests.filter((r) => r.path === SEARCH);
    expect(searches.map((r) => r.status)).toEqual(Array(9).fill(200));
    expect(await rejections(straight)).toEqual([
      expect.stringMatching(/^FP-6: .*issue has no fields/),
      "FP-7: history 20051 item 0 has no field name",
    ]);
    firstTables = await tables(straight);
    expect(firstTables.raw).toBe(8);
  });

  it("gives the hand-checked flow times per type", async () => {
    // Flow time runs from the first move into an active/waiting state to the finish (UTC):
    //   FP-1 feature: In Progress 03-02 14:00 -> Done 03-05 14:00 = 3 d
    //   FP-9 feature: In Progress 03-05 13:00 -> Done 03-05 17:00 = 4 h = 1/6 d
    //   FP-2 defect:  Code Review 03-02 09:00 (10:00+0100) -> Done 03-03 15:00 = 30 h = 1.25 d
    //   FP-3 debt:    In Progress 03-01 09:00 -> last Done 03-04 09:00 = 3 d less the day spent
    //                 Done before the reopen (03-02 09:00 -> 03-03 09:00) = 2 d
    //   FP-4 risk:    In Progress 03:00-0800 = 11:00 -> Done 12:00-0800 = 20:00 = 9 h = 0.375 d
    //   FP-7 is canceled, FP-5 still in progress, FP-8 never started: none counts.
    // Percentiles interpolate at rank (n - 1) * p; for features (n = 2, values 1/6 and 3):
    //   p50 = 1/6 + 0.50 * (3 - 1/6) = 1.58333, p85 = 1/6 + 0.85 * 17/6 = 2.575,
    //   p95 = 1/6 + 0.95 * 17/6 = 2.85833, mean = (3 + 1/6) / 2 = 1.58333 (rounded to 4 places).
    expect(await flowTime(straight)).toEqual([
      { period_start: "2024-03-01", flow_type: "debt", items: 1, p50_days: 2, p85_days: 2, p95_days: 2, mean_days: 2 },
      { period_start: "2024-03-01", flow_type: "defect", items: 1, p50_days: 1.25, p85_days: 1.25, p95_days: 1.25, mean_days: 1.25 },
      { period_start: "2024-03-01", flow_type: "feature", items: 2, p50_days: 1.5833, p85_days: 2.575, p95_days: 2.8583, mean_days: 1.5833 },
      { period_start: "2024-03-01", flow_type: "risk", items: 1, p50_days: 0.375, p85_days: 0.375, p95_days: 0.375, mean_days: 0.375 },
    ]);
    expect(await velocity(straight)).toEqual([
      { period_start: "2024-03-01", flow_type: "debt", items: 1 },
      { period_start: "2024-03-01", flow_type: "defect", items: 1 },
      { period_start: "2024-03-01", flow_type: "feature", items: 2 },
      { period_start: "2024-03-01", flow_type: "risk", items: 1 },
    ]);
  });

  it("a second sync reads only recent changes and adds nothing", async () => {
    const before = { time: await flowTime(straight), velocity: await velocity(straight), rejected: await rejections(straight) };
    straightFigures = before;
    const mark = straight.jira.requests.length;
    const result = await flowpulse(straight, "sync", "jira");
    expect(result.code).toBe(0);
    // Only FP-8 was updated within the overlap of the watermark (its update is the newest).
    expect(result.stderr).toMatch(/^jira: incremental sync done: 1 issues on 1 pages, 1 status changes, 0 rejected, /m);
    expect(result.stdout).toBe("");
    const searches = straight.jira.requests.slice(mark).filter((r) => r.path === SEARCH);
    expect(searches.map((r) => r.query.jql)).toEqual(['(project in ("FP")) AND updated >= "2024-03-07 09:50" ORDER BY created ASC, key ASC']);
    expect({ time: await flowTime(straight), velocity: await velocity(straight), rejected: await rejections(straight) }).toEqual(before);
    expect(await tables(straight)).toEqual(firstTables);
  }, CLI_HEAVY_MS);

  it("a sync killed midway and run again ends with the same tables", async () => {
    let child: ReturnType<typeof spawn> | undefined;
    let searches = 0;
    // The 8th search request is held unanswered and the CLI is SIGKILLed as it arrives. Fetching
    // runs ahead of storing, but by a bounded amount: pages 1-7 are read by then, and at most 6 of
    // them are uncommitted (2 fetched ahead, a full batch waiting, a batch being stored), so at
    // least pages 1-2 are committed for certain and page 7 is not (its batch needs page 8).
    const killed = await site("killed", {
      faults: [{ path: /^\/search\/jql$/, skip: 7, times: 1, respond: "hold" }],
      onRequest: (request) => {
        if (request.path === SEARCH && ++searches === 8) child?.kill("SIGKILL");
      },
    });
    const exited = await new Promise<CliOutcome>((resolve) => {
      let stderr = "";
      child = spawn(process.execPath, [BIN, "--config", killed.config, "--data", killed.data, "sync", "jira"], { cwd: tmp, env: cliEnv(), stdio: ["ignore", "ignore", "pipe"] });
      child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
      child.on("exit", (code, signal) => resolve({ code, signal, stdout: "", stderr }));
    });
    expect(exited.signal).toBe("SIGKILL");
    expect(exited.stderr).not.toMatch(/sync done/);
    const partial = await tables(killed);
    expect(partial).not.toEqual(firstTables);

    const mark = killed.jira.requests.length;
    const rerun = await flowpulse(killed, "sync", "jira");
    // 1 when the pages this run read held a refused record (where the kill landed decides), else 0.
    const refused = Number(/^jira: backfill sync done: .*?, (\d+) rejected,/m.exec(rerun.stderr)?.[1]);
    expect(rerun.code, rerun.stderr).toBe(refused > 0 ? 1 : 0);
    const resumed = /^jira: resuming the backfill run started \S+ after page (\d+)$/m.exec(rerun.stderr);
    expect(resumed, rerun.stderr).not.toBeNull();
    const committed = Number(resumed![1]);
    expect([2, 4, 6]).toContain(committed);
    expect(rerun.stderr).toMatch(/^jira: backfill sync done: 9 issues on 9 pages, /m);
    // It reads exactly the pages after the last commit: no page skipped, none read twice.
    const offsets = killed.jira.requests.slice(mark).filter((r) => r.path === SEARCH).map((r) => tokenOffset(r.query.nextPageToken ?? ""));
    expect(offsets).toEqual(Array.from({ length: 9 - committed }, (_, i) => (committed + i) * PAGE_SIZE));

    expect(await tables(killed)).toEqual(firstTables);
    expect(await flowTime(killed)).toEqual(straightFigures.time);
    expect(await rejections(killed)).toEqual(straightFigures.rejected);
  }, CLI_HEAVY_MS);
});
