// The GitHub sync against the local replay server (GitHub's shapes and headers) into real chDB:
// the hand-checked histories land exactly, a second sync costs 304s and adds nothing, rate limits
// and 5xx are waited out, a renamed repository keeps its items' ids, a deleted item is marked.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { remapGitHub, syncGitHub, type GitHubSyncProgress } from "../connectors/github/sync.ts";
import { parseCommand } from "../bot/parse.ts";
import { velocity } from "../metrics/query.ts";
import { sqlFile } from "../store/sql.ts";
import type { Store } from "../store/store.ts";
import { GITHUB_ENV, REPO, REPO_ID, shopRepo, TOKEN, WORKFLOW, event } from "./helpers/github-board.ts";
import { primaryLimit, secondaryLimit, startGitHubReplay, type GitHubReplay, type GitHubReplayOptions } from "./helpers/github-replay.ts";
import { freshStore } from "./helpers/store.ts";

const servers: GitHubReplay[] = [];
// chDB binds one data directory per process: one store for the file; each replay server has its
// own port, so its items have their own ids (github:127.0.0.1:PORT:...) and its own sync scope.
let fresh: Awaited<ReturnType<typeof freshStore>>;
beforeAll(async () => {
  fresh = await freshStore();
});

async function setup(options: Partial<GitHubReplayOptions> = {}, section: Record<string, unknown> = {}) {
  const github = await startGitHubReplay({ repos: [shopRepo()], token: TOKEN, ...options });
  servers.push(github);
  const config = {
    workflows: { github: { states: {}, type_rules: WORKFLOW.type_rules, default_flow_type: "feature" } },
    sources: { github: sectionFor(github, section) },
  };
  const log: string[] = [];
  const sync = (extra: { full?: boolean } = {}) => syncGitHub({ store: fresh.store, config, env: GITHUB_ENV, log: (line) => log.push(line), ...extra });
  const prefix = `github:${new URL(github.url).host}:`;
  return { github, store: fresh.store, config, log, sync, prefix };
}

function sectionFor(github: GitHubReplay, section: Record<string, unknown>) {
  return {
    api_url: github.url, repos: [REPO], include: ["*"], exclude: [], page_size: 2, concurrency: 2, commit_items: 3, stream: "software", overlap_minutes: 10,
    max_retries: 3, timeout_ms: 60_000, auth: { token_env: "GITHUB_TOKEN", app_id_env: "A", app_key_env: "B", installation_env: "C" },
    labels: { active: ["wip"], waiting: ["blocked"] }, bots: [], team: { by_repo: {}, by_label: {}, default: "" }, ...section,
  };
}

async function transitions({ store, prefix }: { store: Store; prefix: string }): Promise<string[]> {
  const rows = await store.query<{ key: string; to_state: string; to_flow_state: string; at: string }>(
    "SELECT w.key AS key, t.to_state AS to_state, t.to_flow_state AS to_flow_state, toString(t.at) AS at " +
      "FROM transitions AS t FINAL INNER JOIN (SELECT item_id, key FROM work_items FINAL) AS w USING (item_id) " +
      "WHERE startsWith(t.item_id, {prefix:String}) ORDER BY key, t.at, t.event_id",
    { prefix },
  );
  return rows.map((r) => `${r.key} ${r.at.slice(5, 16)} ${r.to_state} (${r.to_flow_state})`);
}

async function counts({ store, prefix }: { store: Store; prefix: string }) {
  const [row] = await store.query<{ items: string; transitions: string; raw: string }>(
    "SELECT (SELECT count() FROM work_items FINAL WHERE startsWith(item_id, {prefix:String})) AS items, " +
      "(SELECT count() FROM transitions FINAL WHERE startsWith(item_id, {prefix:String})) AS transitions, " +
      "(SELECT count() FROM raw_payloads FINAL WHERE source = 'github' AND kind = 'item' AND startsWith(key, {prefix:String})) AS raw",
    { prefix },
  );
  return { items: Number(row!.items), transitions: Number(row!.transitions), raw: Number(row!.raw) };
}

afterAll(async () => {
  for (const server of servers) await server.close();
  await fresh.dispose();
});

describe("GitHub backfill and re-sync", () => {
  let env: Awaited<ReturnType<typeof setup>>;
  let first: GitHubSyncProgress;
  beforeAll(async () => {
    env = await setup();
    first = await env.sync();
  }, 60_000);

  it("pages the issues list by Link (since, sort=updated, asc) and reads every item's timeline", () => {
    const lists = env.github.requests.filter((r) => r.path.endsWith("/issues"));
    // 6 items, 2 per page: the first page by name, the next two by the Link GitHub gave (repository id).
    expect(lists.map((r) => [r.path, r.query.page ?? "1", r.query.state, r.query.sort, r.query.direction, r.query.since ?? null])).toEqual([
      [`/repos/${REPO}/issues`, "1", "all", "updated", "asc", null],
      [`/repositories/${REPO_ID}/issues`, "2", "all", "updated", "asc", null],
      [`/repositories/${REPO_ID}/issues`, "3", "all", "updated", "asc", null],
    ]);
    // The malformed item's timeline is read too; its record is refused when mapped.
    expect(env.github.requests.filter((r) => r.path.endsWith("/timeline")).length).toBe(6);
    expect(first).toMatchObject({ mode: "backfill", pages: 3, records: 6, items: 5, rejected: 1, notModified: 0 });
  });

  it("stores exactly the hand-checked state changes, times in UTC", async () => {
    expect(await transitions(env)).toEqual([
      "acme/shop#1 03-01 09:00 open (new)",
      "acme/shop#1 03-02 09:00 in progress (active)",
      "acme/shop#1 03-03 09:00 blocked (waiting)",
      "acme/shop#1 03-04 09:00 in progress (active)",
      "acme/shop#1 03-05 09:00 closed (done)",
      "acme/shop#1 03-06 09:00 in progress (active)",
      "acme/shop#1 03-07 09:00 closed (done)",
      "acme/shop#2 03-01 10:00 open (new)",
      "acme/shop#2 03-04 10:00 not planned (canceled)",
      "acme/shop#3 03-01 12:00 open (new)",
      "acme/shop#3 03-01 13:00 Todo (new)",
      "acme/shop#3 03-02 12:00 In Progress (active)",
      "acme/shop#3 03-04 12:00 In Review (waiting)",
      "acme/shop#3 03-05 12:00 closed (done)",
      "acme/shop#4 03-01 08:00 draft (active)",
      "acme/shop#4 03-02 08:00 awaiting review (waiting)",
      "acme/shop#4 03-03 08:00 in review (active)",
      "acme/shop#4 03-03 10:00 changes requested (active)",
      "acme/shop#4 03-04 08:00 awaiting review (waiting)",
      "acme/shop#4 03-04 12:00 approved (waiting)",
      "acme/shop#4 03-05 08:00 merged (done)",
      "acme/shop#5 03-02 10:00 awaiting review (waiting)",
      "acme/shop#5 03-03 10:00 closed (canceled)",
    ]);
    // Review wait (docs/github.md), #4: awaiting review 03-02 08:00 -> 03-03 08:00 (24 h) and
    // 03-04 08:00 -> 12:00 (4 h) = 28 h; approved 03-04 12:00 -> merged 03-05 08:00 = 20 h.
    // #5: awaiting review 03-02 10:00 -> closed 03-03 10:00 = 24 h, never approved.
    expect(await env.store.query(sqlFile("queries/github_review_wait.sql"), { prefix: env.prefix })).toEqual([
      { key: "acme/shop#4", review_wait_hours: 28, merge_wait_hours: 20 },
      { key: "acme/shop#5", review_wait_hours: 24, merge_wait_hours: 0 },
    ]);
    const rejected = await env.store.query<{ reference: string; reason: string }>("SELECT reference, reason FROM rejected_records WHERE source = 'github'");
    expect(rejected.map((r) => `${r.reference}: ${r.reason}`)).toEqual([expect.stringMatching(/^acme\/shop#6: created_at: .*offset/)]);
  });

  it("a second sync reads since the watermark minus the overlap, answers 304 for unchanged pages and adds nothing", async () => {
    const before = { counts: await counts(env), transitions: await transitions(env) };
    const mark = env.github.requests.length;
    const second = await env.sync();
    const requests = env.github.requests.slice(mark);
    // The newest update is #1's (03-07 09:00); 10 minutes of overlap. #1's timeline is asked for
    // with its stored ETag and is unchanged.
    expect(requests.map((r) => [r.path, r.query.since, r.status])).toEqual([
      [`/repos/${REPO}/issues`, "2024-03-07T08:50:00Z", 200],
      [`/repos/${REPO}/issues/1/timeline`, undefined, 304],
    ]);
    expect(second).toMatchObject({ mode: "incremental", records: 1, items: 1, notModified: 1 });
    // The same again: the list page now has its ETag and answers 304; nothing else is asked for.
    const third = await env.sync();
    expect(env.github.requests.slice(mark + 2).map((r) => [r.path, r.status])).toEqual([[`/repos/${REPO}/issues`, 304]]);
    expect(third).toMatchObject({ mode: "incremental", records: 0, notModified: 1, requests: 1 });
    // A full re-read: every list page is unchanged (304), so no timeline is asked for.
    const fourth = await env.sync({ full: true });
    expect(fourth).toMatchObject({ mode: "full", records: 0, notModified: 3, requests: 3 });
    expect({ counts: await counts(env), transitions: await transitions(env) }).toEqual(before);
  });

  it("filters by repository as a team, in the metrics and in the Slack grammar", async () => {
    // No team mapping is configured, so each item's team is its repository: #1 (defect) and #3,
    // #4 (features) were delivered in March 2024.
    const march = { sinceMs: Date.UTC(2024, 2, 1), untilMs: Date.UTC(2024, 3, 1), period: "month" as const, timezone: "UTC" };
    const rows = await velocity(env.store, { ...march, team: REPO });
    expect(rows.map((r) => [r.flow_type, Number(r.items)])).toEqual([["defect", 1], ["feature", 2]]);
    expect(await velocity(env.store, { ...march, team: "acme/other" })).toEqual([]);
    const parsed = parseCommand(`velocity team:${REPO} last 30d`, { nowMs: Date.UTC(2024, 2, 20), timezone: "UTC" });
    expect(parsed).toMatchObject({ ok: true });
    expect(JSON.stringify(parsed)).toContain(`"team":"${REPO}"`);
  });

  it("re-maps the stored raw items without the API and changes nothing", async () => {
    const before = await transitions(env);
    const mark = env.github.requests.length;
    const result = await remapGitHub({ store: env.store, config: env.config });
    expect(result).toEqual({ items: 5, transitions: 23, rejected: 0 });
    expect(env.github.requests.length).toBe(mark);
    expect(await transitions(env)).toEqual(before);
  });
});

describe("GitHub's limits and failures", () => {
  it("waits out a primary and a secondary rate limit and a 5xx, and stores the same", async () => {
    const env = await setup({
      faults: [
        { path: /\/issues$/, skip: 1, respond: primaryLimit(1) },
        { path: /\/issues\/3\/timeline$/, respond: secondaryLimit(1) },
        { path: /\/issues\/4\/timeline$/, respond: { status: 502, body: '{"message":"Server Error"}' } },
      ],
    });
    const started = Date.now();
    const result = await env.sync();
    expect(result).toMatchObject({ records: 6, items: 5, rateLimitWaits: 1, secondaryLimitWaits: 1 });
    // Primary: until x-ratelimit-reset (1 s ahead) plus one; secondary: retry-after 1 s.
    expect(Date.now() - started).toBeGreaterThanOrEqual(2_000);
    expect(env.log.join("\n")).toMatch(/primary rate limit on \/repositories\/\d+\/issues; waiting \d s/);
    expect(env.log.join("\n")).toMatch(/secondary rate limit on \/repos\/acme\/shop\/issues\/3\/timeline; waiting 1 s/);
    const statuses = env.github.requests.filter((r) => r.path.endsWith("/4/timeline")).map((r) => r.status);
    expect(statuses).toEqual([502, 200]);
    expect(env.log).toContain("github: HTTP 502 on /repos/acme/shop/issues/4/timeline; asked again after 1 s (retry 1 of 3)");
    expect((await transitions(env)).length).toBe(23);
  }, 60_000);

  it("gives up on a request GitHub never answers after timeout_ms and asks again, and stores the same", async () => {
    // A list page and a timeline are each left unanswered once (the connection stays open).
    const env = await setup(
      { faults: [{ path: /\/issues$/, skip: 1, respond: "hold" }, { path: /\/issues\/3\/timeline$/, respond: "hold" }] },
      { timeout_ms: 1_000 },
    );
    const result = await env.sync();
    expect(result).toMatchObject({ records: 6, items: 5, rejected: 1, retries: 2 });
    const statuses = (pattern: RegExp) => env.github.requests.filter((r) => pattern.test(r.path)).map((r) => r.status);
    expect(statuses(/\/3\/timeline$/)).toEqual(["held", 200]);
    expect(statuses(/\/issues$/)).toEqual([200, "held", 200, 200]);
    const said = env.log.filter((line) => line.includes("no answer"));
    // The list page and the timeline were asked side by side: either may be said first.
    expect(said).toHaveLength(2);
    expect(said).toContainEqual(expect.stringMatching(/^github: no answer within 1 s on \/repositories\/\d+\/issues; asked again after 1 s \(retry 1 of 3\)$/));
    expect(said).toContain("github: no answer within 1 s on /repos/acme/shop/issues/3/timeline; asked again after 1 s (retry 1 of 3)");
    expect((await transitions(env)).length).toBe(23);
  }, 60_000);

  it("stops in one line when GitHub never answers or cannot be reached, after the retries", async () => {
    const silent = await setup({ faults: [{ path: /\/issues$/, times: 10, respond: "hold" }] }, { timeout_ms: 1_000, max_retries: 1 });
    await expect(silent.sync()).rejects.toThrow(
      "GET /repos/acme/shop/issues got no answer within 1 s, asked 2 times (check sources.github.api_url and the network; sources.github.timeout_ms sets the wait)",
    );
    const gone = await setup({}, { max_retries: 0 });
    await gone.github.close();
    await expect(gone.sync()).rejects.toThrow(
      /^GET \/repos\/acme\/shop\/issues could not be asked: connect ECONNREFUSED 127\.0\.0\.1:\d+, asked 1 time \(check sources\.github\.api_url and the network\)$/,
    );
  }, 60_000);

  it("follows a renamed repository (301) and keeps its items' ids; a deleted item (410) is marked deleted", async () => {
    const repo = shopRepo();
    const env = await setup({ repos: [repo] });
    await env.sync();
    const ids = await env.store.query<{ item_id: string }>("SELECT item_id FROM work_items FINAL WHERE startsWith(item_id, {prefix:String}) ORDER BY item_id", { prefix: env.prefix });
    // Renamed: the old name answers 301; #1 changed since, #2 was deleted.
    repo.formerNames = [REPO];
    repo.name = "acme/storefront";
    for (const item of repo.items) {
      for (const key of ["url", "repository_url", "html_url"]) item[key] = String(item[key]).replace(REPO, "acme/storefront");
    }
    const one = repo.items.find((item) => item.number === 1)!;
    one.updated_at = "2024-03-08T10:00:00Z";
    repo.timelines.get(1)!.push(event("labeled", "2024-03-08T10:00:00Z", { label: { name: "security" } }));
    const two = repo.items.find((item) => item.number === 2)!;
    two.updated_at = "2024-03-08T11:00:00Z";
    repo.gone = new Map([[2, 410]]);
    const mark = env.github.requests.length;
    await env.sync();
    expect(env.github.requests.slice(mark)[0]).toMatchObject({ path: `/repos/${REPO}/issues`, status: 301 });
    expect(env.log.join("\n")).toContain("github: acme/shop now answers as acme/storefront (renamed or transferred); items keep their ids");
    const after = await env.store.query<{ item_id: string; key: string; deleted: boolean | number }>("SELECT item_id, key, deleted FROM work_items FINAL WHERE startsWith(item_id, {prefix:String}) ORDER BY item_id", { prefix: env.prefix });
    expect(after.map((r) => r.item_id)).toEqual(ids.map((r) => r.item_id));
    expect(after.filter((r) => r.key.startsWith("acme/storefront")).map((r) => r.key)).toEqual(["acme/storefront#1", "acme/storefront#2"]);
    expect(after.filter((r) => Number(r.deleted) === 1).map((r) => r.key)).toEqual(["acme/storefront#2"]);
  }, 60_000);

  it("a full sync marks items no list page shows deleted, also when their pages answer 304", async () => {
    const repo = shopRepo();
    const env = await setup({ repos: [repo] });
    await env.sync();
    // A full re-read with nothing changed: every page 304, nothing marked.
    const unchanged = await env.sync({ full: true });
    expect(unchanged).toMatchObject({ mode: "full", notModified: 3, markedDeleted: 0 });
    // #5 deleted at GitHub: the list no longer shows it (its page changes, the others answer 304).
    repo.items.splice(repo.items.findIndex((item) => item.number === 5), 1);
    const full = await env.sync({ full: true });
    expect(full).toMatchObject({ mode: "full", markedDeleted: 1 });
    expect(env.log.at(-1)).toMatch(/; 1 marked deleted$/);
    const rows = await env.store.query<{ key: string; deleted: number | boolean }>(
      "SELECT key, deleted FROM work_items FINAL WHERE startsWith(item_id, {prefix:String}) ORDER BY key", { prefix: env.prefix },
    );
    expect(rows.filter((r) => Number(r.deleted) === 1).map((r) => r.key)).toEqual(["acme/shop#5"]);
  }, 60_000);

  it("syncs an organisation's repositories chosen by include and exclude patterns", async () => {
    const env = await setup({ orgs: { acme: ["acme/shop", "acme/shop-archive", "acme/legacy"] } }, { repos: [], org: "acme", include: ["sh*"], exclude: ["*-archive"] });
    const result = await env.sync();
    expect(env.github.requests[0]).toMatchObject({ path: "/orgs/acme/repos", status: 200 });
    const lists = env.github.requests.filter((r) => r.path.endsWith("/issues"));
    expect(lists[0]).toMatchObject({ path: `/repos/${REPO}/issues` });
    expect(lists.every((r) => !r.path.includes("legacy") && !r.path.includes("archive"))).toBe(true);
    expect(result).toMatchObject({ records: 6, items: 5 });
  }, 60_000);

  it("a timeline GitHub refuses is rejected with its reason and the rest is stored; a bad token stops the run in one line", async () => {
    const env = await setup({ faults: [{ path: /\/issues\/3\/timeline$/, respond: { status: 422, body: '{"message":"Validation Failed"}' } }] });
    const result = await env.sync();
    expect(result).toMatchObject({ items: 4, rejected: 2 });
    const rejected = await env.store.query<{ reference: string; reason: string }>("SELECT reference, reason FROM rejected_records WHERE source = 'github' AND reason LIKE '%422%'");
    expect(rejected.map((r) => `${r.reference}: ${r.reason}`)).toContain("acme/shop#3: timeline could not be read: GET /repos/acme/shop/issues/3/timeline answered HTTP 422: Validation Failed");
    const bad = await setup();
    await expect(syncGitHub({ store: bad.store, config: bad.config, env: { GITHUB_TOKEN: "wrong" } })).rejects.toThrow(
      "GET /repos/acme/shop/issues answered HTTP 401: Bad credentials (check the token in $GITHUB_TOKEN, or the GitHub App's credentials)",
    );
  }, 60_000);
});
