// `flowpulse sync github` through the CLI against the replay server: the hand-checked flow times,
// a second sync adding nothing, and a sync killed midway and run again ending with the same tables.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { openStore } from "../store/open.ts";
import { sqlFile } from "../store/sql.ts";
import { GITHUB_ENV, REPO, shopRepo, TOKEN, WORKFLOW } from "./helpers/github-board.ts";
import { startGitHubReplay, type GitHubFault, type GitHubReplay } from "./helpers/github-replay.ts";
import { runToEnd, type CliOutcome } from "./helpers/hung.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const BIN = path.join(ROOT, "bin", "flowpulse.js");
// One item per page and a commit every 2 items: the 6-item repository takes 6 pages and 3 commits.
const PAGE_SIZE = 1;
const COMMIT_ITEMS = 2;
// Tests that run several CLI processes, each starting chDB: generous for two busy CI cores.
const CLI_HEAVY_MS = 240_000;
// One CLI run takes seconds; past this it is hung, and is ended with its stacks in the failure.
const CLI_DEADLINE_MS = 120_000;

interface Site { github: GitHubReplay; config: string; data: string }

let tmp: string;
const servers: GitHubReplay[] = [];

async function site(name: string, faults: GitHubFault[] = [], onRequest?: (path: string) => void): Promise<Site> {
  const github = await startGitHubReplay({ repos: [shopRepo()], token: TOKEN, faults });
  if (onRequest) {
    const requests = github.requests;
    const push = requests.push.bind(requests);
    requests.push = (...items) => {
      const n = push(...items);
      for (const item of items) onRequest(item.path);
      return n;
    };
  }
  servers.push(github);
  const config = path.join(tmp, `${name}.yaml`);
  writeFileSync(
    config,
    stringify({
      workflows: { github: WORKFLOW },
      sources: { github: { api_url: github.url, repos: [REPO], page_size: PAGE_SIZE, commit_items: COMMIT_ITEMS, labels: { active: ["wip"], waiting: ["blocked"] } } },
    }),
  );
  return { github, config, data: path.join(tmp, name) };
}

const cliEnv = () => ({ ...process.env, ...GITHUB_ENV, FLOWPULSE_CONFIG: "", FLOWPULSE_DATA: "" });

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

async function tables(target: Site) {
  const store = await openStore({ kind: "embedded", path: target.data });
  try {
    return await store.query(sqlFile("queries/github_checksums.sql"), { prefix: `github:${new URL(target.github.url).host}:` });
  } finally {
    await store.close();
  }
}

let straight: Site;
let firstTables: unknown;
let firstTime: unknown;

beforeAll(async () => {
  tmp = mkdtempSync(path.join(os.tmpdir(), "fp-github-cli-"));
  straight = await site("straight");
});
afterAll(async () => {
  for (const server of servers) await server.close();
  rmSync(tmp, { recursive: true, force: true });
});

describe("flowpulse sync github (CLI against the replay server)", () => {
  it("fills the store, gives the hand-checked flow times and refuses the malformed item", async () => {
    const result = await flowpulse(straight, "sync", "github");
    // 1: this run refused a record (#6) and stored the rest.
    expect(result.code, result.stderr).toBe(1);
    expect(result.stderr).toMatch(/^github: backfill sync done: 6 items on 6 pages, 23 state changes, 1 rejected; 12 requests, 0 answered 304, 0 rate-limit waits$/m);
    expect(result.stdout).toBe("1 item(s) or event(s) rejected: flowpulse rejected --source github\n");
    expect(result.stderr).not.toContain(TOKEN);
    // Flow time runs from the first move into an active or waiting state to the finish (UTC),
    // less the time spent done before a reopen:
    //   #1 defect (type Bug): in progress 03-02 09:00 -> closed 03-07 09:00 = 5 d, less the day
    //      closed before the reopen (03-05 09:00 -> 03-06 09:00) = 4 d
    //   #3 feature: In Progress 03-02 12:00 -> closed 03-05 12:00 = 3 d
    //   #4 feature (pull request): draft 03-01 08:00 -> merged 03-05 08:00 = 4 d
    //   #2 and #5 are canceled, #6 refused: none counts.
    // Features (n = 2, values 3 and 4), percentiles at rank (n - 1) * p:
    //   p50 = 3 + 0.5 = 3.5, p85 = 3.85, p95 = 3.95, mean = 3.5.
    firstTime = await flowTime(straight);
    expect(firstTime).toEqual([
      { period_start: "2024-03-01", flow_type: "defect", items: 1, p50_days: 4, p85_days: 4, p95_days: 4, mean_days: 4 },
      { period_start: "2024-03-01", flow_type: "feature", items: 2, p50_days: 3.5, p85_days: 3.85, p95_days: 3.95, mean_days: 3.5 },
    ]);
    const rejected = await json(straight, "rejected", "--source", "github");
    expect(rejected.map((r) => r.reference)).toEqual(["acme/shop#6"]);
    firstTables = await tables(straight);
  }, CLI_HEAVY_MS);

  it("a second sync reads only recent changes and adds nothing", async () => {
    const result = await flowpulse(straight, "sync", "github");
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/^github: incremental sync done: 1 items on 1 pages, 7 state changes, 0 rejected; 2 requests, 1 answered 304/m);
    expect(await flowTime(straight)).toEqual(firstTime);
    expect(await tables(straight)).toEqual(firstTables);
  }, CLI_HEAVY_MS);

  it("a sync killed midway and run again ends with the same tables", async () => {
    let child: ReturnType<typeof spawn> | undefined;
    let lists = 0;
    // The last list page is held unanswered and the CLI is SIGKILLed as it arrives: pages 1-5 are
    // read by then, and fetching runs ahead of storing, so 0, 2 or 4 of them are committed (how
    // far the store got decides; rows written ahead of a commit are there in every case).
    const killed = await site("killed", [{ path: /\/issues$/, skip: 5, times: 1, respond: "hold" }], (requestPath) => {
      if (requestPath.endsWith("/issues") && ++lists === 6) child?.kill("SIGKILL");
    });
    const exited = await new Promise<CliOutcome>((resolve) => {
      let stderr = "";
      child = spawn(process.execPath, [BIN, "--config", killed.config, "--data", killed.data, "sync", "github"], { cwd: tmp, env: cliEnv(), stdio: ["ignore", "ignore", "pipe"] });
      child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
      child.on("exit", (code, signal) => resolve({ code, signal, stdout: "", stderr }));
    });
    expect(exited.signal).toBe("SIGKILL");
    expect(await tables(killed)).not.toEqual(firstTables);

    const mark = killed.github.requests.length;
    const rerun = await flowpulse(killed, "sync", "github");
    const resumed = /^github: resuming the backfill run started \S+ after page (\d+)$/m.exec(rerun.stderr);
    expect(resumed, rerun.stderr).not.toBeNull();
    const committed = Number(resumed![1]);
    expect([0, 2, 4]).toContain(committed);
    // It reads exactly the pages after the last commit, by the Link URLs GitHub gave.
    const pages = killed.github.requests.slice(mark).filter((r) => r.path.endsWith("/issues")).map((r) => Number(r.query.page ?? 1));
    expect(pages).toEqual(Array.from({ length: 6 - committed }, (_, i) => committed + 1 + i));
    expect(await tables(killed)).toEqual(firstTables);
    expect(await flowTime(killed)).toEqual(firstTime);
  }, CLI_HEAVY_MS);
});
