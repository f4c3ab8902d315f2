// The Jira sync: backfill on the first run, then only issues updated since the stored watermark
// (minus an overlap). Search pages are mapped and stored in batches (raw payloads, then the
// FlowSink, then a commit) and the page cursor is saved only after a batch is committed, so a run
// that dies resumes at the page after the last one committed, and re-reading a page changes
// nothing (the tables collapse repeats by key). The next page is fetched while one is stored, and
// each page's rows are encoded for the store as it is mapped, so no step stalls the page chain.
import type { Rejection, Transition, WorkItem } from "../../core/model.ts";
import { withoutUserinfo } from "../../core/secrets.ts";
import { addElapsed, parseTimestamp, toClickHouseTime } from "../../core/time.ts";
import { WorkflowSchema, type Workflow } from "../../core/workflow.ts";
import { encodeItems, encodeTransitions, FlowSink, nextVersions } from "../../pipeline/sink.ts";
import { sqlFile } from "../../store/sql.ts";
import type { Store } from "../../store/store.ts";
import { JiraClient, JiraHttpError, mapLimit, type CollectEvent, type Cursor, type SearchPage } from "./collect.ts";
import { JiraConfigError, resolveJiraAuth, type JiraConfig } from "./config.ts";
import { mapContext, mapIssue, statusCategoriesFrom, type MapContext, type RawIssue } from "./map.ts";

export interface JiraSyncProgress {
  mode: "backfill" | "incremental" | "full";
  resumed: boolean;
  pages: number;
  issues: number;
  items: number;
  transitions: number;
  rejected: number;
  changelogPages: number;
  rateLimitWaits: number;
  retries: number;
  waitedMs: number;
  markedDeleted: number;
  /** Where the run's time went (ms); fetches overlap the store work, so only waits are counted. */
  timings: JiraSyncTimings;
}

export interface JiraSyncTimings {
  /** Waiting for the next search page (and its changelogs) after the previous one was stored. */
  fetchWaitMs: number;
  /** Mapping each page and encoding its rows for the store. */
  mapMs: number;
  /** raw_payloads inserts. */
  rawMs: number;
  /** Items, transitions and rejections through the FlowSink. */
  writeMs: number;
  /** FlowSink commits (derived rows). */
  commitMs: number;
  /** Resume cursor saves. */
  stateMs: number;
  /** Waiting for the previous batch to be stored before handing over the next. */
  storeWaitMs: number;
}

interface Filling {
  /** Rows not yet handed to the store (earlier pages' rows may have been written ahead). */
  batch: PageBatch;
  pages: number;
  issues: number;
  /** Issues of `batch`, i.e. mapped since the last write-ahead. */
  unwritten: number;
}

interface FetchedPage {
  count: number;
  next: Cursor | null;
  complete: { issue: RawIssue; error: string | null }[];
}

/** The slice of the product config the Jira connector reads (the whole config, cli/config.ts, fits it). */
export interface JiraSourceConfig {
  sources: { jira?: JiraConfig };
  workflows: Record<string, Workflow>;
}

export interface JiraSyncOptions {
  store: Store;
  config: JiraSourceConfig;
  env?: NodeJS.ProcessEnv;
  signal?: AbortSignal;
  /** Re-read everything and mark items no longer returned as deleted. */
  full?: boolean;
  log?: (line: string) => void;
  onProgress?: (progress: JiraSyncProgress) => void;
}

interface StoredRun {
  jql: string;
  cursor: Cursor;
  startedAt: number;
  mode: JiraSyncProgress["mode"];
  maxUpdated: number | null;
  pages: number;
  issues: number;
}
interface StoredState {
  /** Highest `updated` (epoch ms, Jira's clock) of the last completed run. */
  watermark: number | null;
  /** The run in progress; present only while a run has not finished. */
  run: StoredRun | null;
}

export function jiraSection(config: Pick<JiraSourceConfig, "sources">): JiraConfig {
  const jira = config.sources.jira;
  if (!jira) throw new JiraConfigError("sources.jira is not configured: add site, flavor, projects (or jql) and auth to the config file");
  return jira;
}

export function jiraWorkflow(config: Pick<JiraSourceConfig, "workflows">): Workflow {
  return config.workflows.jira ?? WorkflowSchema.parse({});
}

/** One sync scope per site and query: changing projects or jql starts a new backfill. */
export function syncScope(jira: JiraConfig): string {
  // The site names the scope, never its credentials: sync_state is readable by every analyst.
  return `${withoutUserinfo(jira.site)}|${jira.jql ?? `projects:${[...(jira.projects ?? [])].sort().join(",")}`}`;
}

export function baseJql(jira: JiraConfig): string {
  if (jira.jql) return jira.jql;
  return `project in (${(jira.projects ?? []).map((key) => `"${key}"`).join(", ")})`;
}

/** The query a run pages through: the scope, for incremental runs only issues updated since `since`. */
export function runJql(jira: JiraConfig, since: string | null): string {
  let jql = baseJql(jira);
  if (since !== null) jql = `(${jql}) AND updated >= "${since}"`;
  // Creation order does not change while we page, so an update mid-run cannot shift a page.
  return `${jql} ORDER BY created ASC, key ASC`;
}

export async function syncJira(options: JiraSyncOptions): Promise<JiraSyncProgress> {
  const { store, signal } = options;
  const log = options.log ?? (() => {});
  const jira = jiraSection(options.config);
  const auth = resolveJiraAuth(jira, options.env ?? process.env);
  // Stopped by the caller's signal, or by us when storing fails while a page is being fetched.
  const stopFetching = new AbortController();
  const fetchSignal = signal ? AbortSignal.any([signal, stopFetching.signal]) : stopFetching.signal;
  const client = new JiraClient(jira, auth, { signal: fetchSignal, onEvent: (event) => log(describeEvent(event)) });
  try {
    const scope = syncScope(jira);
    const states = new StateStore(store, scope);
    const state = await states.load();

    let run = state.run;
    const resumed = run !== null;
    if (!run) {
      const mode: StoredRun["mode"] = options.full ? "full" : state.watermark === null ? "backfill" : "incremental";
      const since = mode === "incremental" ? await windowStart(client, state.watermark! - jira.overlap_minutes * 60_000) : null;
      run = {
        jql: runJql(jira, since),
        cursor: jira.flavor === "cloud" ? { kind: "token", token: null } : { kind: "offset", startAt: 0 },
        startedAt: Date.now(),
        mode,
        maxUpdated: state.watermark,
        pages: 0,
        issues: 0,
      };
      await states.save({ watermark: state.watermark, run });
    } else {
      log(`jira: resuming the ${run.mode} run started ${new Date(run.startedAt).toISOString()} after page ${run.pages}`);
    }

    // The first search page is asked for beside /status: the page chain starts at once.
    const extraFields = jira.team.field ? [jira.team.field] : [];
    const search = (at: Cursor) => client.searchPage(run.jql, at, extraFields);
    const firstSearch = search(run.cursor);
    // Awaited by the fetching loop below; if reading /status fails first, nobody awaits it.
    firstSearch.catch(() => {});
    const statusPayload = await client.statuses();
    const ctx = mapContext(jira, jiraWorkflow(options.config), statusCategoriesFrom(statusPayload));
    await store.insertRows("raw_payloads", [
      { source: "jira", kind: "statuses", key: ctx.siteHost, payload: JSON.stringify(statusPayload), fetched_at: toClickHouseTime(Date.now()) },
    ]);

    const progress: JiraSyncProgress = {
      mode: run.mode, resumed, pages: run.pages, issues: run.issues, items: 0, transitions: 0, rejected: 0,
      changelogPages: 0, rateLimitWaits: 0, retries: 0, waitedMs: 0, markedDeleted: 0,
      timings: { fetchWaitMs: 0, storeWaitMs: 0, mapMs: 0, rawMs: 0, writeMs: 0, commitMs: 0, stateMs: 0 },
    };
    const sink = new FlowSink(store);
    const announced = new Set<string>();
    const timings = progress.timings;
    const timed = <T>(key: keyof JiraSyncTimings, work: () => Promise<T>): Promise<T> => addElapsed(timings, key, work);
    const withChangelogs = (issues: readonly RawIssue[]) =>
      mapLimit(issues, jira.concurrency, async (issue) => {
        try {
          return { issue: await client.withFullChangelog(issue), error: null };
        } catch (error) {
          if (error instanceof JiraHttpError) return { issue, error: error.message };
          throw error;
        }
      });

    // Pages are stored in batches of about commit_issues: each store write and each commit (derived
    // rows) has a fixed cost far above a page's worth of rows. Fetching runs on its own, up to
    // `pagesAhead` pages ahead of mapping, so a slow store step does not stall the page chain (Cloud
    // pages come one after another: each needs the previous page's token). Batches are stored one at
    // a time, in order, and the cursor is saved only after a batch is committed, so a run that dies
    // re-reads uncommitted pages, never skips them. Memory is bounded: the batch being stored, the
    // one filled and waiting for it, the one being filled, and the pages fetched ahead.
    // While the store is idle, the filling batch's rows are written ahead in parts of a fifth of a
    // batch (not committed, cursor not saved: a run that dies re-reads them, and repeats collapse),
    // so the last batch, which can only be stored after the last page, leaves little to write.
    const pagesAhead = Math.min(MAX_PAGES_AHEAD, Math.max(1, Math.ceil(jira.commit_issues / jira.page_size)));
    const writeAheadIssues = Math.max(1, Math.ceil(jira.commit_issues / 5));
    const emptyFilling = (): Filling => ({ batch: emptyBatch(), pages: 0, issues: 0, unwritten: 0 });
    let filling = emptyFilling();
    /** The store's one piece of work at a time (a write-ahead or a batch), in order. */
    let storing: Promise<void> | null = null;
    let storeIdle = true;
    const startStoring = (work: Promise<void>) => {
      storeIdle = false;
      storing = work;
      // Awaited before the next flush and at the end; until then it must not count as unhandled.
      // After a failure the store stays "busy", so nothing more is written ahead.
      work.then(() => (storeIdle = storing === work), () => {});
    };
    // raw_payloads is independent of the flow tables, so it is inserted beside the sink's write.
    const writeRaw = (batch: PageBatch) => timed("rawMs", () => store.insertLines("raw_payloads", RAW_COLUMNS, joined(batch.raw)));
    const writeFlow = (batch: PageBatch) => timed("writeMs", () => Promise.all([writeBatch(sink, batch), sink.reject(batch.rejections)]));
    const writeRows = async (batch: PageBatch) => {
      await Promise.all([writeRaw(batch), writeFlow(batch)]);
    };
    const writeAhead = () => {
      if (!storeIdle || filling.unwritten < writeAheadIssues) return;
      const rows = filling.batch;
      filling.batch = { ...emptyBatch(), maxUpdated: rows.maxUpdated };
      filling.unwritten = 0;
      startStoring(writeRows(rows));
    };
    const storeBatch = async ({ batch, pages, issues }: Filling, next: Cursor | null) => {
      // The rows were encoded page by page as they were mapped; here they are only joined (a copy)
      // and handed over. The commit follows the flow write; the cursor waits for the raw rows too.
      await Promise.all([writeRaw(batch), writeFlow(batch).then(() => timed("commitMs", () => sink.commit()))]);
      if (batch.maxUpdated !== null) run.maxUpdated = Math.max(run.maxUpdated ?? batch.maxUpdated, batch.maxUpdated);
      run.pages += pages;
      run.issues += issues;
      if (next) {
        run.cursor = next;
        await timed("stateMs", () => states.save({ watermark: state.watermark, run }));
      }
    };
    /** Waits for the batch being stored (its failure ends the run), then starts storing the filled one. */
    const flush = async (next: Cursor | null) => {
      if (storing) await timed("storeWaitMs", () => storing!);
      storing = null;
      storeIdle = true;
      if (filling.pages === 0) return;
      startStoring(storeBatch(filling, next));
      filling = emptyFilling();
    };

    const pages = new PageQueue<FetchedPage>(pagesAhead);
    const fetching = (async () => {
      let searching: Promise<SearchPage> | null = firstSearch;
      while (searching && !pages.closed) {
        const page: SearchPage = await searching;
        // Long changelogs are read before the next search, so a page is whole before the next one
        // is asked for (a stop between pages loses none) and at most `concurrency` requests run.
        // Most pages embed every history and resolve here without a request.
        const complete = await withChangelogs(page.issues);
        // As many pages ahead as the queue holds, counting the search about to be sent.
        await pages.room();
        if (pages.closed) return;
        // The next search goes out before this page is handed on: Cloud pages form a chain (each
        // needs the previous page's token), so the chain must never wait for our mapping or store
        // work. Until the next turn awaits it, its failure must not count as unhandled.
        searching = page.next ? search(page.next) : null;
        if (searching) {
          searching.catch(() => {});
          // postman-request writes the request on setImmediate; let it leave before the mapping
          // loop gets the page (callbacks run in order, so this one comes after the send).
          await new Promise((resolve) => setImmediate(resolve));
        }
        await pages.put({ count: page.issues.length, next: page.next, complete });
      }
    })().then(
      () => pages.end(),
      (error: unknown) => pages.fail(error),
    );

    try {
      let lastNext: Cursor | null = run.cursor;
      for (;;) {
        let page: FetchedPage | null;
        try {
          page = await timed("fetchWaitMs", () => pages.take());
        } catch (error) {
          // A search page failed (retries exhausted, Ctrl-C): keep what was read before it.
          await flush(lastNext);
          await flush(null);
          throw error;
        }
        if (!page) break;
        lastNext = page.next;

        const t0 = performance.now();
        const mapped = mapPage(page.complete, ctx, announced, log, { keepRaw: true });
        timings.mapMs += performance.now() - t0;
        appendBatch(filling.batch, mapped);
        filling.pages += 1;
        filling.issues += page.count;
        filling.unwritten += page.count;
        progress.items += mapped.items.count;
        progress.transitions += mapped.transitions.count;
        progress.rejected += mapped.rejections.length;
        progress.pages += 1;
        progress.issues += page.count;
        Object.assign(progress, {
          changelogPages: client.stats.changelogPages,
          rateLimitWaits: client.stats.rateLimitWaits,
          retries: client.stats.retries,
          waitedMs: client.stats.waitedMs,
        });
        if (filling.issues >= jira.commit_issues || !page.next) await flush(page.next);
        else writeAhead();
        options.onProgress?.({ ...progress, timings: { ...timings } });
      }
      await flush(null);
    } catch (error) {
      // Whatever failed, fetching stops and a batch still being written finishes before the caller
      // closes the store.
      pages.close();
      stopFetching.abort(error);
      await (storing as Promise<void> | null)?.catch(() => {});
      await fetching;
      throw error;
    }
    await fetching;

    if (run.mode === "full") progress.markedDeleted = await markUnseenDeleted(store, sink, ctx, run.startedAt);
    await states.save({ watermark: run.maxUpdated, run: null });
    log(
      `jira: ${run.mode} sync done: ${progress.issues} issues on ${progress.pages} pages, ${progress.transitions} status changes, ` +
        `${progress.rejected} rejected, ${progress.rateLimitWaits} rate-limit waits, ${progress.markedDeleted} marked deleted`,
    );
    options.onProgress?.({ ...progress, timings: { ...progress.timings } });
    return progress;
  } finally {
    // Nothing of this run may go on asking (a first search left behind by a failed /status read).
    stopFetching.abort(new Error("the Jira sync has ended"));
    client.close();
  }
}

/** Pages fetched ahead of mapping at most (each page is up to page_size issues with changelogs). */
const MAX_PAGES_AHEAD = 10;

/**
 * A bounded first-in first-out hand-over from the fetching loop to the mapping loop: put() waits
 * while `limit` pages are waiting, take() waits for a page and returns null after end(), or throws
 * the fetch error after the pages read before it.
 */
class PageQueue<T> {
  private readonly items: T[] = [];
  private finished = false;
  private error: { reason: unknown } | null = null;
  private wakeTaker: (() => void) | null = null;
  private wakePutter: (() => void) | null = null;
  /** Set when the consumer gave up: put() returns at once and the fetching loop stops. */
  closed = false;

  constructor(private readonly limit: number) {}

  /** Waits until put() would not wait (or the consumer gave up). */
  async room(): Promise<void> {
    while (this.items.length >= this.limit && !this.closed) await new Promise<void>((resolve) => (this.wakePutter = resolve));
  }

  async put(item: T): Promise<void> {
    await this.room();
    if (this.closed) return;
    this.items.push(item);
    this.wake("taker");
  }

  async take(): Promise<T | null> {
    while (this.items.length === 0) {
      if (this.error) throw this.error.reason;
      if (this.finished) return null;
      await new Promise<void>((resolve) => (this.wakeTaker = resolve));
    }
    const item = this.items.shift()!;
    this.wake("putter");
    return item;
  }

  end(): void {
    this.finished = true;
    this.wake("taker");
  }

  fail(reason: unknown): void {
    this.error = { reason };
    this.wake("taker");
  }

  close(): void {
    this.closed = true;
    this.items.length = 0;
    this.wake("putter");
  }

  private wake(who: "taker" | "putter"): void {
    const wake = who === "taker" ? this.wakeTaker : this.wakePutter;
    if (who === "taker") this.wakeTaker = null;
    else this.wakePutter = null;
    wake?.();
  }
}

const RAW_COLUMNS = ["source", "kind", "key", "payload", "fetched_at"] as const;

/** Rows encoded for the store as JSONCompactEachRow lines, one chunk per page. */
interface EncodedChunks {
  chunks: Buffer[];
  bytes: number;
  count: number;
}

/** One page's (or a batch of pages') rows, encoded as the pages were mapped. */
interface PageBatch {
  /** Every item the rows touch (transitions belong to the item mapped with them). */
  itemIds: string[];
  items: EncodedChunks;
  transitions: EncodedChunks;
  raw: EncodedChunks;
  rejections: Rejection[];
  maxUpdated: number | null;
}

const noRows = (): EncodedChunks => ({ chunks: [], bytes: 0, count: 0 });
const emptyBatch = (): PageBatch => ({ itemIds: [], items: noRows(), transitions: noRows(), raw: noRows(), rejections: [], maxUpdated: null });

function addChunk(into: EncodedChunks, lines: string, count: number): void {
  if (count === 0) return;
  const chunk = Buffer.from(lines);
  into.chunks.push(chunk);
  into.bytes += chunk.length;
  into.count += count;
}

function appendRows(into: EncodedChunks, from: EncodedChunks): void {
  for (const chunk of from.chunks) into.chunks.push(chunk);
  into.bytes += from.bytes;
  into.count += from.count;
}

function appendBatch(into: PageBatch, from: PageBatch): void {
  for (const id of from.itemIds) into.itemIds.push(id);
  appendRows(into.items, from.items);
  appendRows(into.transitions, from.transitions);
  appendRows(into.raw, from.raw);
  for (const rejection of from.rejections) into.rejections.push(rejection);
  if (from.maxUpdated !== null) into.maxUpdated = Math.max(into.maxUpdated ?? from.maxUpdated, from.maxUpdated);
}

function joined(rows: EncodedChunks): Buffer {
  return rows.chunks.length === 1 ? rows.chunks[0]! : Buffer.concat(rows.chunks, rows.bytes);
}

function writeBatch(sink: FlowSink, batch: PageBatch): Promise<void> {
  return sink.writeEncoded({
    itemIds: batch.itemIds,
    items: { lines: joined(batch.items), count: batch.items.count },
    transitions: { lines: joined(batch.transitions), count: batch.transitions.count },
  });
}

/**
 * Maps a page and encodes its rows for the store right away: encoding a whole batch at once (and
 * its raw issues, megabytes of JSON) would stall the event loop for hundreds of ms at every batch,
 * and with it the page chain. With `keepRaw`, each mapped issue's raw row goes to the batch too.
 */
function mapPage(
  complete: readonly { issue: RawIssue; error: string | null }[],
  ctx: MapContext,
  announced: Set<string>,
  log: (line: string) => void,
  { keepRaw }: { keepRaw: boolean },
): PageBatch {
  const batch = emptyBatch();
  const now = Date.now();
  const items: WorkItem[] = [];
  const transitions: Transition[] = [];
  let raw = "";
  let rawCount = 0;
  for (const { issue, error } of complete) {
    if (error) {
      batch.rejections.push({ source: "jira", reference: issue?.key ?? String(issue?.id), reason: `changelog could not be read: ${error}`, payload: JSON.stringify(issue) });
      continue;
    }
    const mapped = mapIssue(issue, ctx);
    batch.rejections.push(...mapped.rejections);
    if (!mapped.item) continue;
    const itemId = mapped.item.item_id;
    batch.itemIds.push(itemId);
    items.push(mapped.item);
    for (const transition of mapped.transitions) {
      if (transition.item_id !== itemId) batch.itemIds.push(transition.item_id);
      transitions.push(transition);
    }
    // The issue object is encoded inside its row: ClickHouse reads a JSON object into a String
    // column as its JSON text (input_format_json_read_objects_as_strings, on by default), so the
    // payload is serialized once, not once on its own and again escaped inside the row.
    if (keepRaw) {
      raw += JSON.stringify(["jira", "issue", mapped.item.key, issue, now]) + "\n";
      rawCount += 1;
    }
    for (const status of mapped.fallbackStatuses) {
      if (!announced.has(status)) {
        announced.add(status);
        log(`jira: status "${status}" is not in workflows.jira.states; using its Jira status category`);
      }
    }
    const updated = parseTimestamp(issue.fields?.updated);
    if (updated.ok) batch.maxUpdated = Math.max(batch.maxUpdated ?? updated.ms, updated.ms);
  }
  // Versions in page order, pages in order: a later page's row of the same record wins.
  addChunk(batch.items, encodeItems(items, nextVersions(items.length)), items.length);
  addChunk(batch.transitions, encodeTransitions(transitions, now, nextVersions(transitions.length)), transitions.length);
  addChunk(batch.raw, raw, rawCount);
  return batch;
}

/** Marks live items of this site that a full run did not write again as deleted. */
async function markUnseenDeleted(store: Store, sink: FlowSink, ctx: MapContext, startedAt: number): Promise<number> {
  const rows = await store.query<{
    item_id: string; source: string; stream: string; key: string; title: string; url: string; flow_type: string;
    team: string; labels: string[]; created_ms: string | number; source_type: string;
  }>(sqlFile("queries/jira_unseen_items.sql"), { prefix: `jira:${ctx.siteHost}:`, since: startedAt * 1000 });
  if (rows.length === 0) return 0;
  const items: WorkItem[] = rows.map((row) => ({ ...row, created_at: Number(row.created_ms), deleted: true }));
  for (const item of items) delete (item as Partial<{ created_ms: unknown }>).created_ms;
  await sink.write({ items });
  await sink.commit();
  return items.length;
}

/** Re-maps every stored raw issue with the current config: a mapping fix without the API. */
export async function remapJira(options: { store: Store; config: JiraSourceConfig; log?: (line: string) => void; batchSize?: number }): Promise<{ issues: number; items: number; transitions: number; rejected: number }> {
  const { store } = options;
  const jira = jiraSection(options.config);
  const host = mapContext(jira, jiraWorkflow(options.config), new Map()).siteHost;
  const statusRows = await store.query<{ payload: string }>(sqlFile("queries/jira_raw_statuses.sql"), { key: host });
  const ctx = mapContext(jira, jiraWorkflow(options.config), statusCategoriesFrom(statusRows[0] ? JSON.parse(statusRows[0].payload) : []));
  const sink = new FlowSink(store);
  const totals = { issues: 0, items: 0, transitions: 0, rejected: 0 };
  const announced = new Set<string>();
  let after = "";
  for (;;) {
    const rows = await store.query<{ id: string; payload: string }>(sqlFile("queries/jira_raw_issues.sql"), { after, limit: options.batchSize ?? 500 });
    if (rows.length === 0) break;
    const batch = mapPage(rows.map((row) => ({ issue: JSON.parse(row.payload) as RawIssue, error: null })), ctx, announced, options.log ?? (() => {}), { keepRaw: false });
    await writeBatch(sink, batch);
    await sink.reject(batch.rejections);
    await sink.commit();
    totals.issues += rows.length;
    totals.items += batch.items.count;
    totals.transitions += batch.transitions.count;
    totals.rejected += batch.rejections.length;
    after = rows[rows.length - 1]!.id;
  }
  options.log?.(`jira: re-mapped ${totals.issues} stored issues (${totals.transitions} status changes, ${totals.rejected} rejected)`);
  return totals;
}

async function windowStart(client: JiraClient, fromMs: number): Promise<string> {
  const zone = await client.timeZone();
  try {
    if (zone) return jqlTime(fromMs, zone);
  } catch {
    // An unknown zone name falls through to the zone-proof form below.
  }
  // Without the user's zone, widen the window by the largest UTC offset so nothing is missed.
  return jqlTime(fromMs - 14 * 3_600_000, "UTC");
}

/** `yyyy-MM-dd HH:mm` in the zone Jira reads JQL dates in, rounded down to the minute. */
export function jqlTime(ms: number, timeZone: string): string {
  const parts = new Intl.DateTimeFormat("en-US", {
    timeZone, year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hourCycle: "h23",
  }).formatToParts(new Date(ms));
  const part = (type: string) => parts.find((p) => p.type === type)?.value ?? "00";
  return `${part("year")}-${part("month")}-${part("day")} ${part("hour")}:${part("minute")}`;
}

function describeEvent(event: CollectEvent): string {
  return event.kind === "rate-limit"
    ? `jira: rate limited on ${event.path}; waiting ${(event.waitMs / 1000).toFixed(1)} s as Retry-After asks (attempt ${event.attempt})`
    : `jira: ${event.reason} on ${event.path}; retrying in ${(event.waitMs / 1000).toFixed(1)} s (attempt ${event.attempt})`;
}

class StateStore {
  private lastWrite = 0;
  constructor(private readonly store: Store, private readonly scope: string) {}

  async load(): Promise<StoredState> {
    const rows = await this.store.query<{ state: string }>(sqlFile("queries/jira_sync_state.sql"), { scope: this.scope });
    if (!rows[0]) return { watermark: null, run: null };
    return JSON.parse(rows[0].state) as StoredState;
  }

  async save(state: StoredState): Promise<void> {
    // updated_at decides which row survives, so it must grow with every save.
    this.lastWrite = Math.max(Date.now(), this.lastWrite + 1);
    await this.store.insertRows("sync_state", [
      { source: "jira", scope: this.scope, state: JSON.stringify(state), updated_at: toClickHouseTime(this.lastWrite) },
    ]);
  }
}
