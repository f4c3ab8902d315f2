// GitHub webhooks in `flowpulse serve` (in this process, on a real embedded store): signatures
// checked (401 and nothing stored when bad or missing), deliveries de-duplicated, the item's new
// state queryable as soon as the answer arrives, and the next sync writing the very same rows.
import { createHmac } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseConfig } from "../cli/config.ts";
import { serveCommand } from "../cli/commands/serve.ts";
import { syncGitHub } from "../connectors/github/sync.ts";
import { connectStore } from "../store/open.ts";
import { sqlFile } from "../store/sql.ts";
import type { Store } from "../store/store.ts";
import { ALICE, BOB, CAROL, event, GITHUB_ENV, issueShape, REPO, shopRepo, TOKEN, WORKFLOW } from "./helpers/github-board.ts";
import { startGitHubReplay, type GitHubReplay, type ReplayRepo } from "./helpers/github-replay.ts";
import { issuesEvent, pullRequest, pullRequestEvent, reviewEvent } from "./helpers/github-webhooks.ts";

const SECRET = "It's a Secret to Everybody";

let tmp: string;
let github: GitHubReplay;
let repo: ReplayRepo;
let store: Store;
let url: string;
let stopServe: () => void;
let served: Promise<number>;
let config: ReturnType<typeof parseConfig>;
let deliveries = 0;

const sign = (body: string, secret = SECRET) => `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;

async function post(name: string, payload: unknown, headers: Record<string, string | null> = {}) {
  const body = JSON.stringify(payload);
  const all: Record<string, string | null> = {
    "content-type": "application/json", "x-github-event": name, "x-github-delivery": `d-${++deliveries}`, "x-hub-signature-256": sign(body), ...headers,
  };
  const response = await fetch(url, { method: "POST", headers: Object.fromEntries(Object.entries(all).filter(([, v]) => v !== null)) as Record<string, string>, body });
  return { status: response.status, text: (await response.text()).trim() };
}

async function states(key: string): Promise<string[]> {
  const rows = await store.query<{ to_state: string; at: string }>(
    "SELECT t.to_state AS to_state, toString(t.at) AS at FROM transitions AS t FINAL " +
      "WHERE t.item_id IN (SELECT item_id FROM work_items FINAL WHERE key = {key:String}) ORDER BY t.at, t.event_id",
    { key },
  );
  return rows.map((r) => `${r.at.slice(5, 16)} ${r.to_state}`);
}

const checksums = () => store.query(sqlFile("queries/github_checksums.sql"), { prefix: `github:${new URL(github.url).host}:` });

beforeAll(async () => {
  tmp = mkdtempSync(path.join(os.tmpdir(), "fp-github-hook-"));
  repo = shopRepo();
  // #7: an open pull request awaiting review, the one the webhooks move on.
  repo.items.push(issueShape(REPO, { id: 1_007, number: 7, title: "Faster search", created: "2024-04-01T09:00:00Z", updated: "2024-04-01T09:00:00Z", author: CAROL, pull: { draft: false, mergedAt: null } }));
  repo.timelines.set(7, []);
  // #8: an open issue on a Projects board.
  repo.items.push(issueShape(REPO, { id: 1_008, number: 8, title: "Saved carts", created: "2024-04-01T10:00:00Z", updated: "2024-04-01T10:00:00Z" }));
  repo.timelines.set(8, []);
  github = await startGitHubReplay({ repos: [repo], token: TOKEN });
  Object.assign(process.env, GITHUB_ENV, { GITHUB_WEBHOOK_SECRET: SECRET });
  config = parseConfig({
    store: { kind: "embedded", path: path.join(tmp, "data") },
    workflows: { github: WORKFLOW },
    sources: { github: { api_url: github.url, repos: [REPO], labels: { active: ["wip"], waiting: ["blocked"] }, webhook: { port: 0, host: "127.0.0.1", path: "/hooks/github" } } },
    serve: { github_sync_cron: "0 0 1 1 *", compact_cron: "" },
  });
  const until = new Promise<void>((resolve) => (stopServe = resolve));
  const ready = new Promise<string[]>((resolve) => {
    served = serveCommand({ config, openStore: () => Promise.reject(new Error("unused")), out: () => {}, err: () => {} }, { stream: false, bot: false, until, onReady: resolve });
  });
  const parts = await Promise.race([ready, served.then(() => [] as string[])]);
  const port = /GitHub webhooks on :(\d+)\/hooks\/github/.exec(parts.join("; "))?.[1];
  expect(port, parts.join("; ")).toBeDefined();
  url = `http://127.0.0.1:${port}/hooks/github`;
  store = await connectStore(config.store);
  await syncGitHub({ store, config, env: GITHUB_ENV });
}, 120_000);

afterAll(async () => {
  await store?.close();
  stopServe?.();
  await served;
  await github.close();
  rmSync(tmp, { recursive: true, force: true });
});

describe("GitHub webhooks in flowpulse serve", () => {
  it("refuses a bad or missing signature with 401 and stores nothing", async () => {
    const before = await checksums();
    const payload = reviewEvent(pullRequest(7, { user: CAROL }), { user: BOB, state: "approved", submitted_at: "2024-04-02T10:00:00Z" });
    expect(await post("pull_request_review", payload, { "x-hub-signature-256": null })).toMatchObject({ status: 401 });
    expect(await post("pull_request_review", payload, { "x-hub-signature-256": sign("{}") })).toMatchObject({ status: 401 });
    expect(await post("pull_request_review", payload, { "x-hub-signature-256": sign(JSON.stringify(payload), "another secret") })).toMatchObject({ status: 401 });
    expect(await checksums()).toEqual(before);
  });

  it("a review, then the merge: each state queryable when the answer arrives, a repeated delivery applied once", async () => {
    expect(await states("acme/shop#7")).toEqual(["04-01 09:00 awaiting review"]);
    const pull = pullRequest(7, { title: "Faster search", user: CAROL, created_at: "2024-04-01T09:00:00Z", updated_at: "2024-04-02T10:00:00Z" });
    const review = reviewEvent(pull, { user: BOB, state: "approved", submitted_at: "2024-04-02T10:00:00Z" });
    const started = performance.now();
    const answer = await post("pull_request_review", review, { "x-github-delivery": "review-1" });
    expect(answer).toEqual({ status: 200, text: "acme/shop#7 is approved" });
    expect(await states("acme/shop#7")).toEqual(["04-01 09:00 awaiting review", "04-02 10:00 approved"]);
    expect(performance.now() - started).toBeLessThan(2_000);
    // The same delivery again (GitHub redelivers): acknowledged, not applied twice.
    const before = await checksums();
    expect(await post("pull_request_review", review, { "x-github-delivery": "review-1" })).toEqual({ status: 200, text: "already applied" });
    expect(await checksums()).toEqual(before);

    const merged = { ...pull, state: "closed", merged: true, merged_at: "2024-04-03T08:00:00Z", closed_at: "2024-04-03T08:00:00Z", updated_at: "2024-04-03T08:00:00Z" };
    expect(await post("pull_request", pullRequestEvent("closed", merged, CAROL))).toEqual({ status: 200, text: "acme/shop#7 is merged" });
    expect(await states("acme/shop#7")).toEqual(["04-01 09:00 awaiting review", "04-02 10:00 approved", "04-03 08:00 merged"]);
  });

  it("an issue labeled through a webhook; the next sync, reading GitHub's timeline, writes the very same rows", async () => {
    const issue = { ...(repo.items.find((item) => item.number === 1) as object), state: "open", closed_at: null, updated_at: "2024-04-05T09:00:00Z" };
    // #1 was closed; reopened, then blocked.
    expect(await post("issues", issuesEvent("reopened", issue, ALICE))).toMatchObject({ status: 200, text: "acme/shop#1 is in progress" });
    const issue2 = { ...issue, updated_at: "2024-04-05T10:00:00Z", labels: [{ name: "blocked" }] };
    expect(await post("issues", issuesEvent("labeled", issue2, ALICE, { label: { id: 208045946, name: "blocked", color: "000000", default: false } }))).toMatchObject({ status: 200, text: "acme/shop#1 is blocked" });
    const afterHooks = await checksums();

    // What GitHub's API says afterwards: the same changes in the list and the timelines.
    const one = repo.items.find((item) => item.number === 1)!;
    Object.assign(one, { state: "open", closed_at: null, state_reason: "reopened", updated_at: "2024-04-05T10:00:00Z", labels: [{ name: "blocked" }] });
    repo.timelines.get(1)!.push(event("reopened", "2024-04-05T09:00:00Z"), event("labeled", "2024-04-05T10:00:00Z", { label: { name: "blocked" } }));
    const seven = repo.items.find((item) => item.number === 7)!;
    Object.assign(seven, { state: "closed", closed_at: "2024-04-03T08:00:00Z", updated_at: "2024-04-03T08:00:00Z", pull_request: { ...(seven.pull_request as object), merged_at: "2024-04-03T08:00:00Z" } });
    repo.timelines.get(7)!.push(
      event("reviewed", "2024-04-02T10:00:00Z", { user: BOB, state: "approved" }),
      event("merged", "2024-04-03T08:00:00Z", { actor: CAROL }),
      event("closed", "2024-04-03T08:00:00Z", { actor: CAROL }),
    );
    const sync = await syncGitHub({ store, config, env: GITHUB_ENV });
    // #8 is read again too: its update is the newest before these (within the overlap).
    expect(sync).toMatchObject({ records: 3, rejected: 0 });
    const after = await checksums();
    // Same transitions and derived rows; only the raw bundles differ (GitHub's own events now).
    expect(after.filter((t) => t.table_name !== "raw_items")).toEqual(afterHooks.filter((t) => t.table_name !== "raw_items"));
  });

  it("a Projects status change (projects_v2_item edited) moves the item it names by node id", async () => {
    const payload = {
      action: "edited",
      projects_v2_item: {
        id: 112, node_id: "PVTI_lADOBQ", project_node_id: "PVT_kwDOBQ", content_node_id: "I_kwDOHrjt1008", content_type: "Issue",
        creator: CAROL, created_at: "2024-04-01T10:30:00Z", updated_at: "2024-04-04T09:00:00Z", archived_at: null,
      },
      changes: {
        field_value: {
          field_node_id: "PVTSSF_lADOBQ", field_type: "single_select", field_name: "Status", project_number: 3,
          from: { id: "f75ad846", name: "Todo", color: "GRAY", description: "" }, to: { id: "47fc9ee4", name: "In Progress", color: "YELLOW", description: "" },
        },
      },
      organization: { login: "acme" },
      sender: CAROL,
    };
    expect(await post("projects_v2_item", payload)).toEqual({ status: 200, text: "acme/shop#8 is In Progress" });
    expect(await states("acme/shop#8")).toEqual(["04-01 10:00 open", "04-04 09:00 In Progress"]);
    // A change of another field is acknowledged and changes nothing.
    const other = { ...payload, changes: { field_value: { ...payload.changes.field_value, field_name: "Priority" } } };
    expect(await post("projects_v2_item", other)).toEqual({ status: 202, text: "not a status change" });
  });
});
