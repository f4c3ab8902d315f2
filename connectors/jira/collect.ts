// Fetching from Jira through jira-client: search pages (Cloud's /search/jql with nextPageToken,
// Data Center's /search with startAt), the rest of a long changelog, statuses and the user's time
// zone. Polite by construction: 429 waits for Retry-After, 5xx and dropped connections back off
// exponentially with jitter, retries are bounded, changelog fetches run at most N at a time.
import http from "node:http";
import https from "node:https";
import { createRequire } from "node:module";
import JiraClientModule from "jira-client";
import { redact } from "../../core/secrets.ts";
import { backoffMs, mapLimit, retryAfterMs as retryAfterHeader, sleep } from "../sync/polite.ts";
import type { JiraAuth, JiraConfig } from "./config.ts";
import type { RawHistory, RawIssue } from "./map.ts";

// jira-client sends through postman-request; the same transport is handed back to it as its
// `request` option so that status codes and Retry-After reach us (its default one drops them).
const requireFromJiraClient = createRequire(createRequire(import.meta.url).resolve("jira-client"));
type Transport = (options: object, callback: (error: Error | null, response: { statusCode: number; headers: Record<string, string | string[] | undefined>; body: unknown }) => void) => { abort(): void };
const transport = requireFromJiraClient("postman-request") as Transport;

interface JiraClientInternals {
  makeUri(options: { pathname: string }): string;
  makeRequestHeader(uri: string, options?: object): object;
  doRequest(options: object): Promise<unknown>;
}
type JiraClientCtor = new (options: Record<string, unknown>) => JiraClientInternals;
const JiraApi: JiraClientCtor =
  ((JiraClientModule as unknown as { default?: JiraClientCtor }).default ?? (JiraClientModule as unknown as JiraClientCtor));

/** The fields a sync asks for; nothing else is transferred. */
export const BASE_FIELDS = ["summary", "status", "issuetype", "labels", "components", "project", "created", "updated"];

export type Cursor = { kind: "token"; token: string | null } | { kind: "offset"; startAt: number };
export interface SearchPage {
  issues: RawIssue[];
  /** The cursor of the following page, or null after the last page. */
  next: Cursor | null;
}

export interface CollectStats {
  requests: number;
  retries: number;
  rateLimitWaits: number;
  waitedMs: number;
  changelogPages: number;
}

export type CollectEvent =
  | { kind: "rate-limit"; path: string; waitMs: number; attempt: number }
  | { kind: "retry"; path: string; waitMs: number; attempt: number; reason: string };

export class JiraHttpError extends Error {
  override name = "JiraHttpError";
  constructor(message: string, readonly status: number, readonly path: string) {
    // Every Jira error text is printed or stored as a rejection reason, and an error page may echo
    // the request's Authorization header: credentials leave here already removed.
    super(redact(message));
  }
}

interface Envelope {
  __transport: true;
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
  error?: string;
}

export interface JiraClientOptions {
  signal?: AbortSignal;
  onEvent?: (event: CollectEvent) => void;
  /** Replaceable for tests of the backoff arithmetic; defaults to Math.random. */
  random?: () => number;
}

export class JiraClient {
  readonly stats: CollectStats = { requests: 0, retries: 0, rateLimitWaits: 0, waitedMs: 0, changelogPages: 0 };
  private readonly api: JiraClientInternals;
  private readonly apiRoot: string;
  /**
   * Keep-alive connections: without an agent of its own, request opens a new connection (and on
   * https a new TLS handshake) for every page, which costs both sides more than a small page.
   */
  private readonly agent: http.Agent;

  constructor(private readonly config: JiraConfig, auth: JiraAuth, private readonly options: JiraClientOptions = {}) {
    const site = new URL(config.site);
    const signal = options.signal;
    this.apiRoot = config.flavor === "cloud" ? "/rest/api/3" : "/rest/api/2";
    const agentOptions = { keepAlive: true, maxSockets: config.concurrency + 1 };
    this.agent = site.protocol === "https:" ? new https.Agent(agentOptions) : new http.Agent(agentOptions);
    const agent = this.agent;
    this.api = new JiraApi({
      protocol: site.protocol.replace(":", ""),
      host: site.hostname,
      port: site.port || undefined,
      base: site.pathname.replace(/\/+$/, ""),
      apiVersion: config.flavor === "cloud" ? "3" : "2",
      strictSSL: true,
      timeout: config.timeout_ms,
      ...(auth.kind === "basic" ? { username: auth.username, password: auth.password } : { bearer: auth.token }),
      request: (requestOptions: object) =>
        new Promise<Envelope>((resolve) => {
          const onAbort = () => {
            request.abort();
            resolve({ __transport: true, status: 0, headers: {}, body: undefined, error: "aborted" });
          };
          const request = transport({ ...requestOptions, agent }, (error, response) => {
            signal?.removeEventListener("abort", onAbort);
            if (error) resolve({ __transport: true, status: 0, headers: {}, body: undefined, error: (error as NodeJS.ErrnoException).code ?? error.message });
            else resolve({ __transport: true, status: response.statusCode, headers: response.headers, body: response.body });
          });
          signal?.addEventListener("abort", onAbort, { once: true });
        }),
    });
  }

  /** GET a JSON resource under /rest/api/<2|3>, retrying what is worth retrying. */
  async get(pathname: string, query: Record<string, string | number> = {}): Promise<unknown> {
    const path = `${this.apiRoot}${pathname}`;
    for (let attempt = 0; ; attempt++) {
      this.options.signal?.throwIfAborted();
      this.stats.requests += 1;
      const uri = this.api.makeUri({ pathname });
      // Query values go through request's qs encoder: makeUri's own query handling decodes the
      // URL again, which would corrupt JQL containing & or = and opaque page tokens.
      const response = (await this.api.doRequest(this.api.makeRequestHeader(uri, { qs: query }))) as Envelope;
      this.options.signal?.throwIfAborted();
      const { status, body } = response;
      const isJson = body !== null && typeof body === "object";
      if (status >= 200 && status < 300 && isJson) return body;

      let waitMs: number;
      let reason: string;
      if (status === 429) {
        waitMs = retryAfterMs(response.headers) ?? this.backoff(attempt);
        reason = "429 Too Many Requests";
      } else if (status === 0) {
        waitMs = this.backoff(attempt);
        reason = `connection failed (${response.error})`;
      } else if (status >= 500 || (status >= 200 && status < 300)) {
        waitMs = retryAfterMs(response.headers) ?? this.backoff(attempt);
        reason = status >= 500 ? `HTTP ${status}${isJson ? "" : describeNonJson(body)}` : `HTTP ${status} with ${describeNonJson(body).trim() || "an empty body"} instead of JSON`;
      } else {
        throw new JiraHttpError(clientErrorMessage(status, path, body), status, path);
      }
      if (attempt >= this.config.max_retries) {
        throw new JiraHttpError(`GET ${path} failed after ${attempt + 1} attempts: ${reason}`, status, path);
      }
      if (status === 429) {
        this.stats.rateLimitWaits += 1;
        this.options.onEvent?.({ kind: "rate-limit", path, waitMs, attempt: attempt + 1 });
      } else {
        this.options.onEvent?.({ kind: "retry", path, waitMs, attempt: attempt + 1, reason });
      }
      this.stats.retries += 1;
      this.stats.waitedMs += waitMs;
      await sleep(waitMs, this.options.signal);
    }
  }

  /** Closes the kept-alive connections. */
  close(): void {
    this.agent.destroy();
  }

  private backoff(attempt: number): number {
    return backoffMs(this.config.backoff_ms, attempt, this.options.random);
  }

  /** The signed-in user's time zone: JQL dates are read in it, so the watermark is written in it. */
  async timeZone(): Promise<string | undefined> {
    const me = (await this.get("/myself")) as { timeZone?: unknown };
    return typeof me.timeZone === "string" ? me.timeZone : undefined;
  }

  async statuses(): Promise<unknown> {
    return this.get("/status");
  }

  async searchPage(jql: string, cursor: Cursor, extraFields: readonly string[] = []): Promise<SearchPage> {
    const fields = [...BASE_FIELDS, ...extraFields].join(",");
    const maxResults = this.config.page_size;
    if (cursor.kind === "token") {
      const query: Record<string, string | number> = { jql, maxResults, fields, expand: "changelog" };
      if (cursor.token) query.nextPageToken = cursor.token;
      const body = (await this.get("/search/jql", query)) as { issues?: unknown; nextPageToken?: unknown; isLast?: unknown };
      const issues = requireIssues(body, "/search/jql");
      const token = typeof body.nextPageToken === "string" && body.nextPageToken ? body.nextPageToken : null;
      return { issues, next: body.isLast === true || !token ? null : { kind: "token", token } };
    }
    const body = (await this.get("/search", { jql, startAt: cursor.startAt, maxResults, fields, expand: "changelog" })) as {
      issues?: unknown;
      total?: unknown;
      startAt?: unknown;
    };
    const issues = requireIssues(body, "/search");
    const startAt = typeof body.startAt === "number" ? body.startAt : cursor.startAt;
    const nextStart = startAt + issues.length;
    const total = typeof body.total === "number" ? body.total : nextStart;
    return { issues, next: issues.length === 0 || nextStart >= total ? null : { kind: "offset", startAt: nextStart } };
  }

  /**
   * The issue with every changelog entry. Search embeds at most a page of histories
   * (changelog.maxResults); when changelog.total says there are more, all pages of
   * /issue/{key}/changelog are read and merged with the embedded ones by history id.
   */
  async withFullChangelog(issue: RawIssue): Promise<RawIssue> {
    const embedded = Array.isArray(issue.changelog?.histories) ? issue.changelog!.histories! : [];
    const total = typeof issue.changelog?.total === "number" ? issue.changelog.total : embedded.length;
    if (total <= embedded.length || typeof issue.key !== "string") return issue;
    const histories = new Map<string, RawHistory>();
    for (const history of embedded) histories.set(String(history.id), history);
    let startAt = 0;
    for (;;) {
      const body = (await this.get(`/issue/${encodeURIComponent(issue.key)}/changelog`, {
        startAt,
        maxResults: this.config.changelog_page_size,
      })) as { values?: unknown; histories?: unknown; total?: unknown; isLast?: unknown };
      this.stats.changelogPages += 1;
      const values = Array.isArray(body.values) ? body.values : Array.isArray(body.histories) ? body.histories : null;
      if (!values) throw new JiraHttpError(`changelog page of ${issue.key} at startAt=${startAt} has no values`, 200, `/issue/${issue.key}/changelog`);
      for (const history of values as RawHistory[]) histories.set(String(history.id), history);
      startAt += values.length;
      const pageTotal = typeof body.total === "number" ? body.total : total;
      if (body.isLast === true || values.length === 0 || startAt >= pageTotal) break;
    }
    const all = [...histories.values()];
    return { ...issue, changelog: { startAt: 0, maxResults: all.length, total: all.length, histories: all } };
  }
}

function requireIssues(body: { issues?: unknown }, path: string): RawIssue[] {
  if (!Array.isArray(body.issues)) throw new JiraHttpError(`${path} answered JSON without an issues array`, 200, path);
  return body.issues as RawIssue[];
}

function retryAfterMs(headers: Envelope["headers"]): number | undefined {
  return retryAfterHeader(headers["retry-after"]);
}

function describeNonJson(body: unknown): string {
  if (typeof body !== "string" || !body) return "";
  return /<html|<!doctype/i.test(body) ? " (an HTML page)" : ` (${JSON.stringify(body.slice(0, 80))})`;
}

function clientErrorMessage(status: number, path: string, body: unknown): string {
  const detail =
    body && typeof body === "object"
      ? [...((body as { errorMessages?: string[] }).errorMessages ?? []), ...Object.values((body as { errors?: Record<string, string> }).errors ?? {})].join("; ")
      : describeNonJson(body).trim();
  const hint =
    status === 401
      ? "check auth.email and the API token (or the personal access token) in the environment"
      : status === 403
        ? "the account lacks permission to browse these projects"
        : status === 400
          ? "check sources.jira.projects / sources.jira.jql"
          : status === 404
            ? "check sources.jira.site and sources.jira.flavor (cloud uses /rest/api/3, datacenter /rest/api/2)"
            : "";
  return `GET ${path} answered HTTP ${status}${detail ? `: ${detail}` : ""}${hint ? ` (${hint})` : ""}`;
}

// Shared with the other API connectors; re-exported for the callers that import them from here.
export { mapLimit, sleep };
