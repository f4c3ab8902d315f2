// GitHub section: (1) the pure mapper on generated items with 10 timeline events each; (2) the
// replay server's ceiling: the sync's own client (same page size and timeline concurrency) reading
// every list page and every timeline and dropping them; (3) a whole sync of those items into a
// fresh embedded store, as a share of (2); (4) a re-sync with nothing changed (--full: every page
// asked for again), and the share of its requests answered 304; (5) signed webhooks to the item's
// new state being queryable, p95. The server answers each request after LATENCY_MS, as GitHub does
// from nearby. It runs in a child process (this file, with FLOWPULSE_BENCH_GITHUB_REPLAY set), as a
// remote GitHub would: its JSON and hashing do not stall our event loop, nor our store work its.
import { fork } from "node:child_process";
import { createHmac } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseConfig } from "../../cli/config.ts";
import { GitHubClient, type ListPage } from "../../connectors/github/collect.ts";
import { resolveGitHubAuth } from "../../connectors/github/config.ts";
import { githubMapContext, mapItem, type ItemBundle, type RawEvent, type RawIssue } from "../../connectors/github/map.ts";
import { readPage, syncGitHub, type PageRead } from "../../connectors/github/sync.ts";
import { startGitHubWebhooks } from "../../connectors/github/webhook.ts";
import { createLimiter } from "../../connectors/sync/polite.ts";
import { WorkflowSchema } from "../../core/workflow.ts";
import { openStore } from "../../store/open.ts";
import type { Store } from "../../store/store.ts";
import { startGitHubReplay, type ReplayRepo } from "../../test/helpers/github-replay.ts";
import type { BenchOptions, BenchResult } from "../types.ts";

export const name = "github";
export const description = "GitHub mapping throughput, a 10k-item sync against a replay server, 304 re-syncs, webhook to queryable";

const MAP_ITEMS = 200_000;
const MAP_POOL = 10_000;
const SYNC_ITEMS = 10_000;
const LATENCY_MS = 50;
const WEBHOOKS = 60;
const REPO = "bench/app";
const TOKEN = "ghp_bench";
const SECRET = "bench-webhook-secret";
const SERVER_ROLE = "FLOWPULSE_BENCH_GITHUB_REPLAY";
const WORKFLOW = { type_rules: [{ flow_type: "defect", labels: ["bug"] }] };

const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
const user = (login: string, type = "User") => ({ login, id: login.length, type });

/** Item `index`: even ones are pull requests (draft -> merged), odd ones issues (reopened once); 10 timeline events each. */
export function generatedItem(index: number): { issue: Record<string, unknown>; timeline: Record<string, unknown>[] } {
  const created = Date.UTC(2024, 0, 1) + index * 60_000;
  const at = (hours: number) => iso(created + hours * 3_600_000);
  const pull = index % 2 === 0;
  const number = index + 1;
  const timeline = pull
    ? [
        { event: "ready_for_review", created_at: at(1), actor: user("dev") },
        { event: "review_requested", created_at: at(1.1), actor: user("dev"), requested_reviewer: user("rev") },
        { event: "reviewed", submitted_at: at(2), user: user("ci-helper[bot]", "Bot"), state: "commented" },
        { event: "reviewed", submitted_at: at(3), user: user("rev"), state: "commented" },
        { event: "reviewed", submitted_at: at(4), user: user("rev"), state: "changes_requested" },
        { event: "labeled", created_at: at(4.5), actor: user("dev"), label: { name: "bug" } },
        { event: "review_requested", created_at: at(5), actor: user("dev"), requested_reviewer: user("rev") },
        { event: "reviewed", submitted_at: at(6), user: user("rev"), state: "approved" },
        { event: "merged", created_at: at(7), actor: user("dev") },
        { event: "closed", created_at: at(7), actor: user("dev") },
      ]
    : [
        { event: "assigned", created_at: at(1), actor: user("lead"), assignee: user("dev") },
        { event: "labeled", created_at: at(2), actor: user("dev"), label: { name: "blocked" } },
        { event: "unlabeled", created_at: at(3), actor: user("dev"), label: { name: "blocked" } },
        { event: "project_v2_item_status_changed", created_at: at(3.5), actor: user("dev"), status: "In Progress" },
        { event: "project_v2_item_status_changed", created_at: at(4), actor: user("dev"), status: "In Review" },
        { event: "closed", created_at: at(5), actor: user("dev"), state_reason: "completed" },
        { event: "reopened", created_at: at(6), actor: user("qa") },
        { event: "labeled", created_at: at(6.5), actor: user("qa"), label: { name: "bug" } },
        { event: "project_v2_item_status_changed", created_at: at(7), actor: user("dev"), status: "In Progress" },
        { event: "closed", created_at: at(8), actor: user("dev"), state_reason: "completed" },
      ];
  const issue: Record<string, unknown> = {
    url: `https://api.github.com/repos/${REPO}/issues/${number}`, repository_url: `https://api.github.com/repos/${REPO}`,
    html_url: `https://github.com/${REPO}/${pull ? "pull" : "issues"}/${number}`, id: 5_000_000 + index, node_id: `I_bench${index}`, number,
    title: `Generated ${pull ? "pull request" : "issue"} ${number}`, user: user("dev"), labels: [{ name: "bug" }], state: "closed",
    created_at: at(0), updated_at: at(pull ? 7 : 8), closed_at: at(pull ? 7 : 8), state_reason: pull ? null : "completed", type: null,
  };
  if (pull) Object.assign(issue, { draft: false, pull_request: { url: `https://api.github.com/repos/${REPO}/pulls/${number}`, merged_at: at(7) } });
  return { issue, timeline };
}

function repoOf(count: number): ReplayRepo {
  const items: Record<string, unknown>[] = [];
  const timelines = new Map<number, Record<string, unknown>[]>();
  for (let i = 0; i < count; i++) {
    const { issue, timeline } = generatedItem(i);
    items.push(issue);
    timelines.set(i + 1, timeline);
  }
  return { id: 4242, name: REPO, items, timelines };
}

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)] ?? 0;
};

export async function run(options: BenchOptions): Promise<BenchResult> {
  const log = options.log ?? (() => {});
  const figures: BenchResult["figures"] = {};
  const syncItems = Math.min(SYNC_ITEMS, options.items ?? SYNC_ITEMS);

  // (1) Pure mapping: a pool of distinct items mapped round after round.
  const mapConfig = parseConfig({ workflows: { github: WORKFLOW }, sources: { github: { repos: [REPO], labels: { active: ["wip"], waiting: ["blocked"] } } } }, "bench", {});
  const ctx = githubMapContext(mapConfig.sources.github!, WorkflowSchema.parse(WORKFLOW));
  const pool: ItemBundle[] = Array.from({ length: MAP_POOL }, (_, i) => {
    const { issue, timeline } = generatedItem(i);
    return { repo: REPO, issue: issue as RawIssue, timeline: timeline as RawEvent[] };
  });
  for (const bundle of pool) mapItem(bundle, ctx);
  let mapped = 0;
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  for (let round = 0; round < MAP_ITEMS / MAP_POOL; round++) for (const bundle of pool) mapped += mapItem(bundle, ctx).transitions.length;
  const mapRate = Math.round(MAP_ITEMS / ((performance.now() - t0) / 1000));
  const cpu = process.cpuUsage(cpu0);
  // The same per second of this process's CPU (its garbage collector's threads included): on a
  // shared machine the wall-clock rate also says how much of a core others left us.
  figures.map_items_per_cpu_s = Math.round(MAP_ITEMS / ((cpu.user + cpu.system) / 1e6));
  figures.map_items = MAP_ITEMS;
  figures.map_transitions = mapped;
  figures.map_items_per_s = mapRate;
  log(`map: ${MAP_ITEMS} items with 10 timeline events (${mapped} transitions) = ${mapRate} items/s`);
  pool.length = 0;

  const child = fork(fileURLToPath(import.meta.url), [], {
    execArgv: process.execArgv, env: { ...process.env, [SERVER_ROLE]: String(syncItems) }, stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const server = await new Promise<{ url: string }>((resolve, reject) => {
    child.once("message", (message) => resolve(message as { url: string }));
    child.once("exit", (code) => reject(new Error(`the replay server process exited (${code}) before it listened`)));
  });
  const dir = mkdtempSync(path.join(options.workDir ?? os.tmpdir(), "flowpulse-bench-github-"));
  let store: Store | null = null;
  const env = { GITHUB_TOKEN: TOKEN };
  try {
    const config = parseConfig(
      {
        workflows: { github: WORKFLOW },
        sources: { github: { api_url: server.url, repos: [REPO], page_size: 100, concurrency: 10, labels: { active: ["wip"], waiting: ["blocked"] }, webhook: { port: 0, host: "127.0.0.1" } } },
      },
      "bench",
      {},
    );
    const github = config.sources.github!;

    // (2) The ceiling: our client alone reading pages as the sync does (one page ahead, at most
    // `concurrency` timelines in flight across pages) and dropping them.
    const client = new GitHubClient(github, resolveGitHubAuth(github, env));
    const limit = createLimiter(github.concurrency);
    const read = (url: string) => readPage(client, url, () => null, (items) => Promise.all(items.map((item) => limit(() => client.timeline(REPO, item.number!, null)))));
    const readAll = async () => {
      const c0 = performance.now();
      let items = 0;
      let current: PageRead<unknown> | null = read(client.firstListUrl(REPO, null));
      while (current) {
        const page: ListPage = await current.listing;
        const next: PageRead<unknown> | null = page.next ? read(page.next) : null;
        items += (await current.records)?.length ?? 0;
        current = next;
      }
      return { items, seconds: (performance.now() - c0) / 1000 };
    };
    // Read before and after the sync, the faster kept: on a shared machine one read can be slowed
    // by others' work, which would flatter the sync's share.
    const before = await readAll();
    const readItems = before.items;
    let ceilingSeconds = before.seconds;
    figures.server_ceiling_items = readItems;
    log(`server ceiling (before the sync): ${readItems} items with their timelines in ${ceilingSeconds.toFixed(2)} s (${LATENCY_MS} ms per request)`);

    // (3) The sync into a fresh store.
    store = await openStore({ kind: "embedded", path: dir });
    const s0 = performance.now();
    const result = await syncGitHub({ store, config, env, log: (line) => log(`  ${line}`) });
    const syncSeconds = (performance.now() - s0) / 1000;
    const after = await readAll();
    log(`server ceiling (after the sync): ${after.seconds.toFixed(2)} s`);
    ceilingSeconds = Math.min(ceilingSeconds, after.seconds);
    figures.server_ceiling_seconds = Number(ceilingSeconds.toFixed(2));
    figures.server_ceiling_items_per_s = Math.round(readItems / ceilingSeconds);
    const share = Math.round((100 * ceilingSeconds) / syncSeconds);
    figures.sync_items = result.items;
    figures.sync_transitions = result.transitions;
    figures.sync_rejected = result.rejected;
    figures.sync_seconds = Number(syncSeconds.toFixed(2));
    figures.sync_items_per_s = Math.round(result.items / syncSeconds);
    figures.sync_share_of_server_ceiling_pct = share;
    figures.sync_wait_fetch_s = Number((result.timings.fetchWaitMs / 1000).toFixed(2));
    figures.sync_wait_store_s = Number((result.timings.storeWaitMs / 1000).toFixed(2));
    log(`sync: ${result.items} items in ${syncSeconds.toFixed(2)} s = ${share}% of the server's ceiling`);

    // (4) Nothing changed: a full re-sync asks for every list page again with its ETag.
    const again = await syncGitHub({ store, config, env, full: true });
    const share304 = again.requests === 0 ? 0 : Math.round((1000 * again.notModified) / again.requests) / 10;
    figures.resync_requests = again.requests;
    figures.resync_not_modified = again.notModified;
    figures.resync_304_share_pct = share304;
    const incremental = await syncGitHub({ store, config, env });
    figures.incremental_resync_requests = incremental.requests;
    figures.incremental_resync_not_modified = incremental.notModified;
    log(`unchanged re-sync: ${again.notModified} of ${again.requests} requests answered 304 (${share304}%); incremental: ${incremental.notModified} of ${incremental.requests}`);

    // (5) Signed webhooks: synced issues reopened, each timed from the POST to the new state being
    // read back from the store.
    const hooks = await startGitHubWebhooks({ store, config: github, ctx: githubMapContext(github, WorkflowSchema.parse(WORKFLOW)), secret: SECRET, client });
    const hookUrl = `http://127.0.0.1:${hooks.port}${hooks.path}`;
    const latencies: number[] = [];
    try {
      for (let i = 0; i < WEBHOOKS; i++) {
        const index = 2 * i + 1;
        const number = index + 1;
        const submitted = iso(Date.UTC(2025, 0, 1) + i * 60_000);
        const issue = { ...generatedItem(index).issue, state: "open", closed_at: null, state_reason: "reopened", updated_at: submitted };
        const body = JSON.stringify({ action: "reopened", issue, repository: { full_name: REPO }, sender: user("qa") });
        const started = performance.now();
        const response = await fetch(hookUrl, {
          method: "POST",
          headers: { "content-type": "application/json", "x-github-event": "issues", "x-github-delivery": `bench-${i}`, "x-hub-signature-256": `sha256=${createHmac("sha256", SECRET).update(body).digest("hex")}` },
          body,
        });
        await response.text();
        const rows = await store.query<{ n: string }>(
          "SELECT count() AS n FROM transitions FINAL WHERE item_id = {id:String} AND at = parseDateTime64BestEffort({at:String}, 3)",
          { id: `github:${new URL(server.url).host}:${5_000_000 + index}`, at: submitted },
        );
        if (Number(rows[0]?.n) !== 1) throw new Error(`webhook ${i} for #${number} is not queryable: ${response.status}`);
        latencies.push(performance.now() - started);
      }
    } finally {
      await hooks.close();
    }
    const p95 = Math.round(percentile(latencies, 0.95));
    figures.webhook_count = WEBHOOKS;
    figures.webhook_to_queryable_p50_ms = Math.round(percentile(latencies, 0.5));
    figures.webhook_to_queryable_p95_ms = p95;
    log(`webhooks: ${WEBHOOKS} signed deliveries, queryable after p50 ${figures.webhook_to_queryable_p50_ms} ms, p95 ${p95} ms`);

    return {
      section: name,
      params: { map_items: MAP_ITEMS, sync_items: syncItems, latency_ms: LATENCY_MS, page_size: 100, concurrency: 10, webhooks: WEBHOOKS },
      figures,
      targets: [
        { name: "map_items_per_s", value: mapRate, target: ">= 50000", pass: mapRate >= 50_000 },
        { name: "sync_items", value: result.items, target: `= ${syncItems}`, pass: result.items === syncItems && result.rejected === 0 },
        { name: "sync_share_of_server_ceiling_pct", value: share, target: ">= 90", pass: share >= 90 },
        { name: "resync_304_share_pct", value: share304, target: ">= 95", pass: share304 >= 95 },
        { name: "webhook_to_queryable_p95_ms", value: p95, target: "< 2000", pass: p95 < 2000 },
      ],
    };
  } finally {
    await store?.close();
    child.kill();
    if (!options.keep) rmSync(dir, { recursive: true, force: true });
  }
}

/** The child process's part: the replay server with `count` generated items, until the parent goes. */
async function serveReplay(count: number): Promise<void> {
  const server = await startGitHubReplay({ repos: [repoOf(count)], token: TOKEN, latencyMs: LATENCY_MS });
  process.on("disconnect", () => void server.close().then(() => process.exit(0)));
  process.send!({ url: server.url });
}

if (process.env[SERVER_ROLE] && process.send) await serveReplay(Number(process.env[SERVER_ROLE]));
