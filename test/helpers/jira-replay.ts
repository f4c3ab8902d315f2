// A local Jira: node:http on 127.0.0.1 at a random port, answering the endpoints the connector
// uses in the shapes Jira sends (Cloud /rest/api/3/search/jql with nextPageToken/isLast, Data
// Center /rest/api/2/search with startAt/total, the paged /issue/{key}/changelog, /status,
// /myself). It keeps each issue whole (all fields, full changelog) and, like Jira, returns only
// the requested fields and embeds only the first few changelog entries. Faults (429, 5xx, HTML
// pages, dropped connections, requests held unanswered) are injected per path. An optional
// latency holds each search and changelog answer, as a remote Jira takes time per page.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

type Json = Record<string, unknown>;

export interface Fault {
  /** Matches the request path (without query), e.g. /search/jql or /issue/FP-9/changelog. */
  path: RegExp;
  /** Let this many matching requests through before the fault starts (default 0). */
  skip?: number;
  /** How many matching requests get the fault (default 1; Infinity for always). */
  times?: number;
  /** "drop" closes the connection; "hold" never answers (until close), to stop a client mid-run. */
  respond: { status: number; headers?: Record<string, string>; body: string } | "drop" | "hold";
}

export interface RecordedRequest {
  at: number;
  path: string;
  query: Record<string, string>;
  status: number | "dropped" | "held";
}

/** Issues produced on demand (for benchmarks): index order is the search order, no JQL filter. */
export interface IssueSource {
  count: number;
  at(index: number): Json;
}

export interface ReplayOptions {
  flavor: "cloud" | "datacenter";
  issues: Json[] | IssueSource;
  statuses: Json[];
  /** The signed-in user's zone, in which JQL dates are read. */
  timeZone?: string;
  /** Changelog entries embedded in a search result (Jira embeds at most one page). */
  embeddedChangelog?: number;
  /** Largest page the server returns whatever maxResults asks. */
  maxPageSize?: number;
  /** Expected Authorization header; anything else gets 401. */
  authorization: string;
  faults?: Fault[];
  /**
   * Milliseconds each search and changelog request waits before it is answered (default 0). Read
   * per request, so a benchmark may change it on a running server through `replay.options`.
   */
  latencyMs?: number;
  onRequest?: (request: RecordedRequest) => void;
  /** Called when a request's response is finished or its connection closed. */
  onSettled?: (request: RecordedRequest) => void;
}

export interface JiraReplay {
  url: string;
  requests: RecordedRequest[];
  options: ReplayOptions;
  close(): Promise<void>;
}

export async function startJiraReplay(options: ReplayOptions): Promise<JiraReplay> {
  const requests: RecordedRequest[] = [];
  const faultHits = new Map<Fault, number>();
  const server = createServer((req, res) => {
    try {
      handle(req, res);
    } catch (error) {
      send(res, 500, { errorMessages: [String(error)] });
    }
  });
  let base = "";

  function handle(req: IncomingMessage, res: ServerResponse) {
    const url = new URL(req.url ?? "/", "http://replay");
    const query = Object.fromEntries(url.searchParams);
    const record: RecordedRequest = { at: Date.now(), path: url.pathname, query, status: 200 };
    requests.push(record);
    options.onRequest?.(record);
    if (options.onSettled) res.once("close", () => options.onSettled!(record));

    const version = options.flavor === "cloud" ? "3" : "2";
    const prefix = `/rest/api/${version}`;
    if (!url.pathname.startsWith(prefix)) return reply(record, res, 404, { errorMessages: [`no such resource ${url.pathname}`] });
    const path = url.pathname.slice(prefix.length);

    for (const fault of options.faults ?? []) {
      if (!fault.path.test(path)) continue;
      const hits = (faultHits.get(fault) ?? 0) + 1;
      faultHits.set(fault, hits);
      const skip = fault.skip ?? 0;
      if (hits > skip && hits <= skip + (fault.times ?? 1)) {
        if (fault.respond === "drop") {
          record.status = "dropped";
          req.socket.destroy();
          return;
        }
        if (fault.respond === "hold") {
          record.status = "held";
          return;
        }
        record.status = fault.respond.status;
        res.writeHead(fault.respond.status, { "content-type": "text/html;charset=UTF-8", ...fault.respond.headers });
        res.end(fault.respond.body);
        return;
      }
    }
    if (req.headers.authorization !== options.authorization) {
      return reply(record, res, 401, { errorMessages: ["You are not authenticated. Authentication required to perform this operation."], errors: {} });
    }

    if (path === "/myself") return reply(record, res, 200, { self: `${base}${prefix}/user?accountId=5b10a2844c20165700ede21g`, accountId: "5b10a2844c20165700ede21g", displayName: "Sync Bot", active: true, timeZone: options.timeZone ?? "UTC" });
    if (path === "/status") return reply(record, res, 200, options.statuses);
    const changelog = /^\/issue\/([^/]+)\/changelog$/.exec(path);
    if (changelog) return later(record, res, () => changelogPage(decodeURIComponent(changelog[1]!), query));
    if (options.flavor === "cloud" && path === "/search/jql") return later(record, res, () => cloudSearch(query));
    if (options.flavor === "datacenter" && path === "/search") return later(record, res, () => dcSearch(query));
    return reply(record, res, 404, { errorMessages: [`no such resource ${url.pathname}`] });
  }

  /** Answers now, or after the configured latency (the page is built when it is sent). */
  function later(record: RecordedRequest, res: ServerResponse, answer: () => [number, unknown]) {
    const latency = options.latencyMs ?? 0;
    if (latency <= 0) return reply(record, res, ...answer());
    setTimeout(() => {
      // The client may have gone (aborted run) or the server closed while the answer waited.
      if (res.destroyed || res.writableEnded) return;
      try {
        reply(record, res, ...answer());
      } catch (error) {
        send(res, 500, { errorMessages: [String(error)] });
      }
    }, latency);
  }

  function matching(jql: string): { count: number; at(i: number): Json } {
    const source = options.issues;
    if (!Array.isArray(source)) return source;
    const filtered = source.filter((issue) => matchesJql(issue, jql, options.timeZone ?? "UTC"));
    filtered.sort((a, b) => facts(a).created - facts(b).created || String(a.key).localeCompare(String(b.key), "en", { numeric: true }));
    return { count: filtered.length, at: (i) => filtered[i]! };
  }

  function pageSize(query: Record<string, string>) {
    return Math.min(Number(query.maxResults ?? 50), options.maxPageSize ?? 100);
  }

  function cloudSearch(query: Record<string, string>): [number, unknown] {
    const jql = query.jql ?? "";
    let offset = 0;
    if (query.nextPageToken) {
      const token = decodeToken(query.nextPageToken);
      // Cloud's page tokens belong to their query: another JQL with an old token is refused.
      if (!token || token.jql !== jql) return [400, { errorMessages: ["The provided next page token is invalid or expired."], errors: {} }];
      offset = token.offset;
    }
    const all = matching(jql);
    const size = pageSize(query);
    const issues = [];
    for (let i = offset; i < Math.min(all.count, offset + size); i++) issues.push(shape(all.at(i), query));
    const next = offset + size;
    return [200, next < all.count ? { issues, nextPageToken: encodeToken({ jql, offset: next }), isLast: false } : { issues, isLast: true }];
  }

  function dcSearch(query: Record<string, string>): [number, unknown] {
    const all = matching(query.jql ?? "");
    const startAt = Number(query.startAt ?? 0);
    const size = pageSize(query);
    const issues = [];
    for (let i = startAt; i < Math.min(all.count, startAt + size); i++) issues.push(shape(all.at(i), query));
    return [200, { expand: "schema,names", startAt, maxResults: size, total: all.count, issues }];
  }

  function findIssue(key: string): Json | undefined {
    const source = options.issues;
    if (Array.isArray(source)) return source.find((issue) => issue.key === key || issue.id === key);
    for (let i = 0; i < source.count; i++) {
      const issue = source.at(i);
      if (issue.key === key) return issue;
    }
    return undefined;
  }

  function changelogPage(key: string, query: Record<string, string>): [number, unknown] {
    const issue = findIssue(key);
    if (!issue) return [404, { errorMessages: ["Issue does not exist or you do not have permission to see it."], errors: {} }];
    const histories = ((issue.changelog as Json | undefined)?.histories as Json[] | undefined) ?? [];
    const startAt = Number(query.startAt ?? 0);
    const maxResults = Math.min(Number(query.maxResults ?? 100), 100);
    const values = histories.slice(startAt, startAt + maxResults);
    const isLast = startAt + values.length >= histories.length;
    const self = `${base}/rest/api/${options.flavor === "cloud" ? 3 : 2}/issue/${key}/changelog`;
    return [200, {
      self: `${self}?startAt=${startAt}&maxResults=${maxResults}`,
      ...(isLast ? {} : { nextPage: `${self}?&startAt=${startAt + maxResults}&maxResults=${maxResults}` }),
      maxResults, startAt, total: histories.length, isLast, values,
    }];
  }

  function shape(issue: Json, query: Record<string, string>): Json {
    const { _replay: _ignored, changelog, fields, ...rest } = issue;
    const out: Json = { ...rest };
    if (fields) {
      const wanted = (query.fields ?? "*all").split(",");
      out.fields = wanted.includes("*all")
        ? fields
        : Object.fromEntries(Object.entries(fields as Json).filter(([name]) => wanted.includes(name)));
    }
    if ((query.expand ?? "").split(",").includes("changelog")) {
      const histories = ((changelog as Json | undefined)?.histories as Json[] | undefined) ?? [];
      const embedded = histories.slice(0, options.embeddedChangelog ?? 100);
      out.changelog = { startAt: 0, maxResults: embedded.length, total: histories.length, histories: embedded };
    }
    return out;
  }

  function reply(record: RecordedRequest, res: ServerResponse, status: number, body: unknown) {
    record.status = status;
    send(res, status, body);
  }

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: base,
    requests,
    options,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function send(res: ServerResponse, status: number, body: unknown) {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json;charset=UTF-8", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

function encodeToken(token: { jql: string; offset: number }): string {
  return Buffer.from(JSON.stringify(token)).toString("base64url");
}
/** The offset a Cloud nextPageToken of this server points at (null if it is not one of ours). */
export function tokenOffset(text: string): number | null {
  return decodeToken(text)?.offset ?? null;
}
function decodeToken(text: string): { jql: string; offset: number } | null {
  try {
    return JSON.parse(Buffer.from(text, "base64url").toString("utf8")) as { jql: string; offset: number };
  } catch {
    return null;
  }
}

/** created/updated/project of an issue, from its fields or (for malformed fixtures) its _replay block. */
function facts(issue: Json): { created: number; updated: number; project: string } {
  const fields = (issue.fields ?? issue._replay ?? {}) as Json;
  const project = typeof fields.project === "string" ? fields.project : String((fields.project as Json | undefined)?.key ?? "");
  return { created: Date.parse(jiraToIso(String(fields.created ?? "1970-01-01T00:00:00.000+0000"))), updated: Date.parse(jiraToIso(String(fields.updated ?? "1970-01-01T00:00:00.000+0000"))), project };
}
const jiraToIso = (text: string) => text.replace(/([+-]\d{2})(\d{2})$/, "$1:$2");

/** The two JQL clauses the connector writes: `project in (...)` and `updated >= "yyyy-MM-dd HH:mm"`. */
function matchesJql(issue: Json, jql: string, timeZone: string): boolean {
  const f = facts(issue);
  const projects = /project in \(([^)]*)\)/i.exec(jql);
  if (projects) {
    const keys = projects[1]!.split(",").map((key) => key.trim().replace(/^"|"$/g, ""));
    if (!keys.includes(f.project)) return false;
  }
  const updated = /updated >= "(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2})"/.exec(jql);
  if (updated) {
    const [, y, mo, d, h, mi] = updated.map(Number) as number[];
    if (f.updated < zonedToUtc(y!, mo!, d!, h!, mi!, timeZone)) return false;
  }
  return true;
}

function zonedToUtc(y: number, mo: number, d: number, h: number, mi: number, timeZone: string): number {
  const guess = Date.UTC(y, mo - 1, d, h, mi);
  const offset = (at: number) => {
    const parts = Object.fromEntries(
      new Intl.DateTimeFormat("en-US", { timeZone, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit" })
        .formatToParts(new Date(at))
        .map((p) => [p.type, Number(p.value)]),
    );
    return Date.UTC(parts.year!, parts.month! - 1, parts.day!, parts.hour!, parts.minute!) - at;
  };
  return guess - offset(guess - offset(guess));
}
