// The GitHub sync on the shared engine (connectors/sync/engine.ts): for each configured repository,
// the items updated since the watermark (minus an overlap), oldest change first, each with its
// timeline, mapped by the pure mapper and stored with its raw bundle. The engine stores, commits,
// resumes from the last stored page and moves the watermark.
import { setMaxListeners } from "node:events";
import type { Rejection, Transition, WorkItem } from "../../core/model.ts";
import { parseTimestamp } from "../../core/time.ts";
import { WorkflowSchema, type Workflow } from "../../core/workflow.ts";
import { FlowSink } from "../../pipeline/sink.ts";
import { sqlFile } from "../../store/sql.ts";
import type { Store } from "../../store/store.ts";
import { encodePage, rawLine, writeBatch, type PageBatch } from "../sync/batch.ts";
import { runPagedSync, type SyncProgress } from "../sync/engine.ts";
import { createLimiter } from "../sync/polite.ts";
import { GitHubClient, GitHubHttpError, type GitHubEvent, type GitHubStats, type ListPage } from "./collect.ts";
import { GitHubConfigError, resolveGitHubAuth, type GitHubConfig } from "./config.ts";
import { githubMapContext, itemIdOf, mapItem, type GitHubMapContext, type ItemBundle, type RawEvent, type RawIssue } from "./map.ts";

export interface GitHubSyncProgress extends SyncProgress, GitHubStats {
  /** Items a full sync found on no list page, marked deleted. */
  markedDeleted: number;
}

/** The slice of the product config the GitHub connector reads. */
export interface GitHubSourceConfig {
  sources: { github?: GitHubConfig };
  workflows: Record<string, Workflow>;
}

export interface GitHubSyncOptions {
  store: Store;
  config: GitHubSourceConfig;
  env?: NodeJS.ProcessEnv;
  signal?: AbortSignal;
  /** Re-read every item, not only those changed since the watermark. */
  full?: boolean;
  log?: (line: string) => void;
  onProgress?: (progress: GitHubSyncProgress) => void;
}

/** Where a run stands: the repository (index into the run's list) and the Link URL of its next page (null: its first). */
export interface GitHubCursor {
  repo: number;
  url: string | null;
}

/** One item ready to map: its bundle, or why its history could not be read. */
export interface FetchedItem {
  bundle: ItemBundle;
  error: string | null;
}

interface StoredPage {
  etag: string;
  next: string | null;
  /** Item ids on the page, so a full sync knows what a page answered 304 shows. */
  ids?: string[];
}

interface RunPlan {
  repos: string[];
  since: string | null;
}

export function githubSection(config: Pick<GitHubSourceConfig, "sources">): GitHubConfig {
  const github = config.sources.github;
  if (!github) throw new GitHubConfigError("sources.github is not configured: add repos (or org) to the config file and export GITHUB_TOKEN");
  return github;
}

export function githubWorkflow(config: Pick<GitHubSourceConfig, "workflows">): Workflow {
  return config.workflows.github ?? WorkflowSchema.parse({});
}

/** One sync scope per API and repository selection: changing them starts a new backfill. */
export function githubScope(github: GitHubConfig): string {
  const selection = github.org ? `org:${github.org}:${github.include.join(",")}:${github.exclude.join(",")}` : "";
  return `${new URL(github.api_url).host}|${[...github.repos].sort().join(",")}|${selection}`;
}

export async function syncGitHub(options: GitHubSyncOptions): Promise<GitHubSyncProgress> {
  const { store } = options;
  const log = options.log ?? (() => {});
  const github = githubSection(options.config);
  const auth = resolveGitHubAuth(github, options.env ?? process.env);
  const stopFetching = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, stopFetching.signal]) : stopFetching.signal;
  // Node's fetch drops its abort listener only when the request is garbage collected, so a sync's
  // thousands of requests pile listeners on this one signal until GC runs: not a leak, no warning.
  setMaxListeners(0, signal);
  const client = new GitHubClient(github, auth, { signal, onEvent: (event) => log(describeEvent(event)) });
  const ctx = githubMapContext(github, githubWorkflow(options.config));
  const announced = new Set<string>();
  // ETags of list pages, written only once the run is complete: a page answered 304 is skipped,
  // so its ETag must never stand for items that were not stored.
  let pagesRead: Promise<Map<string, StoredPage>> | null = null;
  const storedPages = () =>
    (pagesRead ??= store.query<{ key: string; payload: string }>(sqlFile("queries/github_pages.sql")).then(
      (rows) => new Map(rows.map((row) => [row.key, JSON.parse(row.payload) as StoredPage])),
    ));
  const readPages: { url: string; etag: string; next: string | null; ids: string[] }[] = [];
  // Item ids every list page of this run showed (a full run marks the others deleted), and
  // whether that is known for every page (not after a resume, nor from a page stored without ids).
  const seen = new Set<string>();
  let seenAll = true;
  // A store without a single item of this API (a first backfill) has no ETags to look up per page.
  let bundlesChecked: Promise<boolean> | null = null;
  const anyBundles = () =>
    (bundlesChecked ??= store.query<{ n: string }>(sqlFile("queries/github_any_items.sql"), { prefix: `github:${ctx.host}:` }).then((rows) => Number(rows[0]?.n ?? 0) > 0));
  const limit = createLimiter(github.concurrency);
  let ahead: { url: string; read: PageRead } | null = null;
  let markedDeleted = 0;
  // Pages already stored when this process took the run over: a resumed run's earlier pages were
  // read by a process that is gone, with what they showed.
  let firstPages: number | null = null;
  const withStats = (progress: SyncProgress): GitHubSyncProgress => ({ ...progress, ...client.stats, markedDeleted });
  try {
    const result = await runPagedSync<GitHubCursor, FetchedItem>(
      {
        source: "github",
        scope: githubScope(github),
        commitRecords: github.commit_items,
        pageSize: github.page_size,
        async startRun(_mode, watermark) {
          const since = watermark === null ? null : new Date(watermark - github.overlap_minutes * 60_000).toISOString().replace(/\.\d{3}Z$/, "Z");
          const plan: RunPlan = { repos: await client.repositories(), since };
          return { query: JSON.stringify(plan), cursor: { repo: 0, url: null } };
        },
        async fetchPage(run, cursor) {
          firstPages ??= run.pages;
          const plan = JSON.parse(run.query) as RunPlan;
          const repo = plan.repos[cursor.repo];
          if (repo === undefined) return { records: [], next: null };
          const url = cursor.url ?? client.firstListUrl(repo, plan.since);
          const pagesStored = await storedPages();
          const bundles = (await anyBundles()) ? store : null;
          const read = (at: string) => readPage(client, at, (page) => pagesStored.get(page)?.etag ?? null, (items) => completeItems(client, limit, bundles, ctx, repo, items, log));
          // One page is read ahead (its list and its timelines, behind this page's in the limiter),
          // so the requests in flight stay at the cap across page boundaries.
          const current = ahead?.url === url ? ahead.read : read(url);
          ahead = null;
          const page = await current.listing;
          const nextUrl = page.items === null ? (pagesStored.get(url)?.next ?? null) : page.next;
          if (nextUrl) ahead = { url: nextUrl, read: read(nextUrl) };
          const next = nextUrl ? { repo: cursor.repo, url: nextUrl } : cursor.repo + 1 < plan.repos.length ? { repo: cursor.repo + 1, url: null } : null;
          const records = await current.records;
          if (records === null) {
            const ids = pagesStored.get(url)?.ids;
            if (ids) for (const id of ids) seen.add(id);
            else seenAll = false;
            return { records: [], next };
          }
          const ids = (page.items ?? []).filter((item) => item && (typeof item.id === "number" || typeof item.id === "string")).map((item) => itemIdOf(ctx, item.id!));
          for (const id of ids) seen.add(id);
          if (page.etag) readPages.push({ url, etag: page.etag, next: page.next, ids });
          return { records, next };
        },
        mapPage: (records) => mapPage(records, ctx, announced, log, { keepRaw: true }),
        stopFetching: (reason) => stopFetching.abort(reason),
        async finish(run, sink) {
          if (run.mode === "full") {
            const plan = JSON.parse(run.query) as RunPlan;
            if (run.pages > 0 && seenAll && (firstPages ?? 0) === 0) markedDeleted = await markUnseenDeleted(store, sink, ctx, plan.repos, seen);
            else log("github: this full sync could not see every page itself (resumed, or pages stored by an older flowpulse); items gone from GitHub are marked by the next full sync");
          }
          if (readPages.length === 0) return;
          const now = Date.now();
          await store.insertLines(
            "raw_payloads",
            ["source", "kind", "key", "payload", "fetched_at"],
            readPages.map(({ url, etag, next, ids }) => rawLine("github", "page", url, { etag, next, ids }, now)).join(""),
          );
        },
      },
      { store, full: options.full, log, onProgress: options.onProgress && ((progress) => options.onProgress!(withStats(progress))) },
    );
    const progress = withStats(result);
    log(
      `github: ${result.run.mode} sync done: ${progress.records} items on ${progress.pages} pages, ${progress.transitions} state changes, ` +
        `${progress.rejected} rejected; ${progress.requests} requests, ${progress.notModified} answered 304, ` +
        `${progress.rateLimitWaits + progress.secondaryLimitWaits} rate-limit waits${result.run.mode === "full" ? `; ${markedDeleted} marked deleted` : ""}`,
    );
    options.onProgress?.(progress);
    return progress;
  } finally {
    stopFetching.abort(new Error("the GitHub sync has ended"));
  }
}

export interface PageRead<R = FetchedItem> {
  listing: Promise<ListPage>;
  /** The page's items with their timelines; null when the page answered 304. */
  records: Promise<R[] | null>;
}

/**
 * Starts reading one list page and then its items' histories (`complete`); both promises are safe
 * to leave unawaited. The sync and the benchmark's ceiling read pages this same way.
 */
export function readPage<R>(
  client: GitHubClient,
  url: string,
  etagOf: (url: string) => string | null,
  complete: (items: RawIssue[]) => Promise<R[]>,
): PageRead<R> {
  const listing = client.listPage(url, etagOf);
  const records = listing.then((page) => (page.items === null ? null : complete(page.items)));
  listing.catch(() => {});
  records.catch(() => {});
  return { listing, records };
}

/**
 * Each listed item with its whole timeline: the stored bundles of the page are read in one query,
 * so each timeline is asked for with its ETag and a 304 reuses the stored one.
 */
async function completeItems(
  client: GitHubClient,
  limit: <T>(task: () => Promise<T>) => Promise<T>,
  store: Store | null,
  ctx: GitHubMapContext,
  configuredRepo: string,
  items: RawIssue[],
  log: (line: string) => void,
): Promise<FetchedItem[]> {
  const ids = items.filter((item) => item && (typeof item.id === "number" || typeof item.id === "string")).map((item) => itemIdOf(ctx, item.id!));
  const stored = new Map<string, ItemBundle>();
  if (store && ids.length > 0) {
    for (const row of await store.query<{ key: string; payload: string }>(sqlFile("queries/github_items.sql"), { keys: ids })) {
      stored.set(row.key, JSON.parse(row.payload) as ItemBundle);
    }
  }
  let announcedMove = false;
  return Promise.all(items.map((issue) => limit(async (): Promise<FetchedItem> => {
    // A renamed or transferred repository answers under its new name; ids do not change.
    const repo = repoOf(issue) ?? configuredRepo;
    if (repo.toLowerCase() !== configuredRepo.toLowerCase() && !announcedMove) {
      announcedMove = true;
      log(`github: ${configuredRepo} now answers as ${repo} (renamed or transferred); items keep their ids; update sources.github.repos`);
    }
    const bundle: ItemBundle = { repo, issue, timeline: [] };
    if (!issue || typeof issue !== "object" || typeof issue.number !== "number" || (typeof issue.id !== "number" && typeof issue.id !== "string")) {
      return { bundle, error: null };
    }
    const before = stored.get(itemIdOf(ctx, issue.id));
    const conditional = before && before.timelinePages === 1 && before.etag ? before.etag : null;
    try {
      const timeline = await client.timeline(repo, issue.number, conditional);
      if (timeline.kind === "not-modified") return { bundle: { ...bundle, timeline: before!.timeline, etag: before!.etag, timelinePages: 1 }, error: null };
      if (timeline.kind === "gone") return { bundle: { ...bundle, timeline: before?.timeline ?? [], deleted: true }, error: null };
      return { bundle: { ...bundle, timeline: withWebhookStatuses(timeline.events, before), etag: timeline.etag, timelinePages: timeline.pages }, error: null };
    } catch (error) {
      if (error instanceof GitHubHttpError) return { bundle, error: error.message };
      throw error;
    }
  })));
}

/**
 * The timeline as read, plus the Projects status changes only a webhook reported: the REST timeline
 * does not always list them (github.com community discussion 209484), and the stored bundle is
 * what a remap rebuilds the history from.
 */
function withWebhookStatuses(events: RawEvent[], before: ItemBundle | undefined): RawEvent[] {
  const stored = (before?.timeline ?? []).filter((event) => event.event === "project_v2_item_status_changed" && event.changes);
  if (stored.length === 0) return events;
  const listed = new Set(events.filter((event) => event.event === "project_v2_item_status_changed").map((event) => event.created_at));
  const missing = stored.filter((event) => !listed.has(event.created_at));
  return missing.length === 0 ? events : [...events, ...missing];
}

function repoOf(issue: RawIssue & { repository_url?: string }): string | null {
  const match = typeof issue?.repository_url === "string" ? /\/repos\/([^/]+\/[^/]+)$/.exec(issue.repository_url) : null;
  return match ? match[1]! : null;
}

/** Maps a page and encodes its rows for the store; with `keepRaw`, each item's bundle goes to raw_payloads. */
export function mapPage(
  records: readonly FetchedItem[],
  ctx: GitHubMapContext,
  announced: Set<string>,
  log: (line: string) => void,
  { keepRaw }: { keepRaw: boolean },
): PageBatch {
  const now = Date.now();
  const items: WorkItem[] = [];
  const transitions: Transition[] = [];
  const rejections: Rejection[] = [];
  let maxUpdated: number | null = null;
  let raw = "";
  let rawCount = 0;
  for (const { bundle, error } of records) {
    const updated = parseTimestamp(bundle.issue?.updated_at);
    if (updated.ok) maxUpdated = Math.max(maxUpdated ?? updated.ms, updated.ms);
    if (error) {
      rejections.push({ source: "github", reference: `${bundle.repo}#${bundle.issue?.number ?? "?"}`, reason: `timeline could not be read: ${error}`, payload: JSON.stringify(bundle.issue ?? null) });
      continue;
    }
    const mapped = mapItem(bundle, ctx);
    for (const rejection of mapped.rejections) rejections.push(rejection);
    if (!mapped.item) continue;
    items.push(mapped.item);
    for (const transition of mapped.transitions) transitions.push(transition);
    if (keepRaw) {
      raw += rawLine("github", "item", mapped.item.item_id, bundle, now);
      rawCount += 1;
    }
    for (const status of mapped.unknownStatuses) {
      if (!announced.has(status)) {
        announced.add(status);
        log(`github: Projects status "${status}" is not in workflows.github.states; its changes are left out (add it to map them)`);
      }
    }
  }
  return encodePage({ items, transitions, rejections, raw: { lines: raw, count: rawCount }, maxUpdated }, now);
}

/** Marks live items of the synced repositories that no list page showed as deleted. */
async function markUnseenDeleted(store: Store, sink: FlowSink, ctx: GitHubMapContext, repos: readonly string[], seen: ReadonlySet<string>): Promise<number> {
  const prefixes = repos.map((repo) => `${repo.toLowerCase()}#`);
  const rows = await store.query<{
    item_id: string; source: string; stream: string; key: string; title: string; url: string; flow_type: string;
    team: string; labels: string[]; created_ms: string | number; source_type: string;
  }>(sqlFile("queries/github_live_items.sql"), { prefix: `github:${ctx.host}:` });
  const gone: WorkItem[] = rows
    .filter((row) => !seen.has(row.item_id) && prefixes.some((prefix) => row.key.toLowerCase().startsWith(prefix)))
    .map(({ created_ms, ...row }) => ({ ...row, created_at: Number(created_ms), deleted: true }));
  if (gone.length === 0) return 0;
  await sink.write({ items: gone });
  await sink.commit();
  return gone.length;
}

/** Re-maps every stored bundle with the current config: a mapping fix without the API. */
export async function remapGitHub(options: { store: Store; config: GitHubSourceConfig; log?: (line: string) => void; batchSize?: number }): Promise<{ items: number; transitions: number; rejected: number }> {
  const { store } = options;
  const github = githubSection(options.config);
  const ctx = githubMapContext(github, githubWorkflow(options.config));
  const sink = new FlowSink(store);
  const totals = { items: 0, transitions: 0, rejected: 0 };
  const announced = new Set<string>();
  let after = "";
  for (;;) {
    const rows = await store.query<{ key: string; payload: string }>(sqlFile("queries/github_raw_items.sql"), { after, limit: options.batchSize ?? 500 });
    if (rows.length === 0) break;
    const batch = mapPage(rows.map((row) => ({ bundle: JSON.parse(row.payload) as ItemBundle, error: null })), ctx, announced, options.log ?? (() => {}), { keepRaw: false });
    await writeBatch(sink, batch);
    await sink.reject(batch.rejections);
    await sink.commit();
    totals.items += batch.items.count;
    totals.transitions += batch.transitions.count;
    totals.rejected += batch.rejections.length;
    after = rows[rows.length - 1]!.key;
  }
  options.log?.(`github: re-mapped ${totals.items} stored items (${totals.transitions} state changes, ${totals.rejected} rejected)`);
  return totals;
}

function describeEvent(event: GitHubEvent): string {
  if (event.kind === "moved") return `github: ${event.from} moved to ${event.to}`;
  if (event.kind === "rate-limit") {
    return `github: ${event.secondary ? "secondary" : "primary"} rate limit on ${event.path}; waiting ${(event.waitMs / 1000).toFixed(0)} s as GitHub asks (attempt ${event.attempt})`;
  }
  return `github: ${event.reason} on ${event.path}; asked again after ${(event.waitedMs / 1000).toFixed(0)} s (retry ${event.attempt} of ${event.of})`;
}
