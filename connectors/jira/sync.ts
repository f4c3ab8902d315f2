// The Jira sync on the shared engine (connectors/sync/engine.ts): backfill on the first run, then
// only issues updated since the stored watermark (minus an overlap). This file says how Jira pages
// are asked for (JQL ordered by creation, Cloud's page tokens or Data Center's offsets), completes
// long changelogs, and maps a page; the engine stores, commits, resumes and moves the watermark.
import type { Rejection, Transition, WorkItem } from "../../core/model.ts";
import { withoutUserinfo } from "../../core/secrets.ts";
import { parseTimestamp, toClickHouseTime } from "../../core/time.ts";
import { WorkflowSchema, type Workflow } from "../../core/workflow.ts";
import { FlowSink } from "../../pipeline/sink.ts";
import { sqlFile } from "../../store/sql.ts";
import type { Store } from "../../store/store.ts";
import { encodePage, rawLine, writeBatch, type PageBatch } from "../sync/batch.ts";
import { runPagedSync, type SyncProgress, type SyncTimings } from "../sync/engine.ts";
import { mapLimit } from "../sync/polite.ts";
import { JiraClient, JiraHttpError, type CollectEvent, type Cursor } from "./collect.ts";
import { JiraConfigError, resolveJiraAuth, type JiraConfig } from "./config.ts";
import { mapContext, mapIssue, statusCategoriesFrom, type MapContext, type RawIssue } from "./map.ts";

export interface JiraSyncProgress extends Omit<SyncProgress, "records"> {
  issues: number;
  changelogPages: number;
  rateLimitWaits: number;
  retries: number;
  waitedMs: number;
  markedDeleted: number;
}

export type JiraSyncTimings = SyncTimings;

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

interface CompleteIssue {
  issue: RawIssue;
  error: string | null;
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
  // Stopped by the caller's signal, or by the engine when storing fails while a page is being fetched.
  const stopFetching = new AbortController();
  const fetchSignal = signal ? AbortSignal.any([signal, stopFetching.signal]) : stopFetching.signal;
  const client = new JiraClient(jira, auth, { signal: fetchSignal, onEvent: (event) => log(describeEvent(event)) });
  const extraFields = jira.team.field ? [jira.team.field] : [];
  const announced = new Set<string>();
  let ctx: MapContext | null = null;
  let markedDeleted = 0;
  const withStats = (progress: SyncProgress): JiraSyncProgress => {
    const { records, ...rest } = progress;
    return {
      ...rest, issues: records, markedDeleted,
      changelogPages: client.stats.changelogPages, rateLimitWaits: client.stats.rateLimitWaits, retries: client.stats.retries, waitedMs: client.stats.waitedMs,
    };
  };
  try {
    const result = await runPagedSync<Cursor, CompleteIssue>(
      {
        source: "jira",
        scope: syncScope(jira),
        commitRecords: jira.commit_issues,
        pageSize: jira.page_size,
        async startRun(mode, watermark) {
          const since = watermark === null ? null : await windowStart(client, watermark - jira.overlap_minutes * 60_000);
          return { query: runJql(jira, since), cursor: jira.flavor === "cloud" ? { kind: "token", token: null } : { kind: "offset", startAt: 0 } };
        },
        async fetchPage(run, cursor) {
          const page = await client.searchPage(run.query, cursor, extraFields);
          // Long changelogs are read before the next search, so a page is whole before the next one
          // is asked for (a stop between pages loses none) and at most `concurrency` requests run.
          // Most pages embed every history and resolve here without a request.
          const records = await mapLimit(page.issues, jira.concurrency, async (issue): Promise<CompleteIssue> => {
            try {
              return { issue: await client.withFullChangelog(issue), error: null };
            } catch (error) {
              if (error instanceof JiraHttpError) return { issue, error: error.message };
              throw error;
            }
          });
          return { records, next: page.next };
        },
        async prepare() {
          const statusPayload = await client.statuses();
          ctx = mapContext(jira, jiraWorkflow(options.config), statusCategoriesFrom(statusPayload));
          await store.insertRows("raw_payloads", [
            { source: "jira", kind: "statuses", key: ctx.siteHost, payload: JSON.stringify(statusPayload), fetched_at: toClickHouseTime(Date.now()) },
          ]);
        },
        mapPage: (records) => mapPage(records, ctx!, announced, log, { keepRaw: true }),
        stopFetching: (reason) => stopFetching.abort(reason),
        async finish(run, sink) {
          if (run.mode === "full") markedDeleted = await markUnseenDeleted(store, sink, ctx!, run.startedAt);
        },
      },
      { store, full: options.full, log, onProgress: options.onProgress && ((progress) => options.onProgress!(withStats(progress))) },
    );
    const progress = withStats(result);
    log(
      `jira: ${result.run.mode} sync done: ${progress.issues} issues on ${progress.pages} pages, ${progress.transitions} status changes, ` +
        `${progress.rejected} rejected, ${progress.rateLimitWaits} rate-limit waits, ${progress.markedDeleted} marked deleted`,
    );
    options.onProgress?.(progress);
    return progress;
  } finally {
    // Nothing of this run may go on asking (a first search left behind by a failed /status read).
    stopFetching.abort(new Error("the Jira sync has ended"));
    client.close();
  }
}

/**
 * Maps a page and encodes its rows for the store right away (connectors/sync/batch.ts says why).
 * With `keepRaw`, each mapped issue's raw row goes to the batch too.
 */
function mapPage(
  complete: readonly CompleteIssue[],
  ctx: MapContext,
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
  for (const { issue, error } of complete) {
    if (error) {
      rejections.push({ source: "jira", reference: issue?.key ?? String(issue?.id), reason: `changelog could not be read: ${error}`, payload: JSON.stringify(issue) });
      continue;
    }
    const mapped = mapIssue(issue, ctx);
    rejections.push(...mapped.rejections);
    if (!mapped.item) continue;
    items.push(mapped.item);
    for (const transition of mapped.transitions) transitions.push(transition);
    if (keepRaw) {
      raw += rawLine("jira", "issue", mapped.item.key, issue, now);
      rawCount += 1;
    }
    for (const status of mapped.fallbackStatuses) {
      if (!announced.has(status)) {
        announced.add(status);
        log(`jira: status "${status}" is not in workflows.jira.states; using its Jira status category`);
      }
    }
    const updated = parseTimestamp(issue.fields?.updated);
    if (updated.ok) maxUpdated = Math.max(maxUpdated ?? updated.ms, updated.ms);
  }
  return encodePage({ items, transitions, rejections, raw: { lines: raw, count: rawCount }, maxUpdated }, now);
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

