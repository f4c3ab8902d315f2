// A local GitHub REST API: node:http on 127.0.0.1 at a random port, answering what the connector
// asks in the shapes GitHub sends (recorded traffic in ../shared/reference/github-api): the issues
// list (pull requests included) filtered by since= and ordered by updated_at, paged by a Link
// header whose URLs name the repository by id (/repositories/{id}/issues?...&page=N) as GitHub's
// do; each item's timeline, paged the same way; an organisation's repositories. Every 200 carries
// an ETag (a hash of its body) and answers 304 with no body to a matching If-None-Match, and every
// answer carries x-ratelimit-* headers. A repository renamed answers 301 to its old name. Faults
// (rate limits, 5xx, held requests) are injected per path; an optional latency holds each answer.
import { createHash } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

type Json = Record<string, unknown>;

export interface GitHubFault {
  /** Matches the request path (without query). */
  path: RegExp;
  /** Let this many matching requests through before the fault starts (default 0). */
  skip?: number;
  /** How many matching requests get the fault (default 1). */
  times?: number;
  /** "hold" never answers (until close), to stop a client mid-run. */
  respond: { status: number; headers?: Record<string, string>; body: string } | "hold" | (() => { status: number; headers?: Record<string, string>; body: string });
}

export interface GitHubRecordedRequest {
  path: string;
  query: Record<string, string>;
  ifNoneMatch: string | null;
  status: number | "held";
}

export interface ReplayRepo {
  /** Repository id, used in Link URLs (/repositories/{id}/...). */
  id: number;
  /** Current "owner/name"; the name the API answers under. */
  name: string;
  /** Earlier names that answer 301 to the current one. */
  formerNames?: string[];
  /** Items in GitHub's issue shape (pull requests with `pull_request` and `draft`). */
  items: Json[];
  /** Timelines by item number. */
  timelines: Map<number, Json[]>;
  /** Item numbers whose timeline answers 404 or 410 (deleted since listed). */
  gone?: Map<number, 404 | 410>;
}

export interface GitHubReplayOptions {
  repos: ReplayRepo[];
  /** Organisations and their repository names, for GET /orgs/{org}/repos. */
  orgs?: Record<string, string[]>;
  /** Expected token; anything else gets 401. */
  token: string;
  faults?: GitHubFault[];
  /** Ms each answer waits (read per request, so a benchmark may change it on a running server). */
  latencyMs?: number;
}

export interface GitHubReplay {
  url: string;
  requests: GitHubRecordedRequest[];
  options: GitHubReplayOptions;
  close(): Promise<void>;
}

const JSON_TYPE = "application/json; charset=utf-8";

export async function startGitHubReplay(options: GitHubReplayOptions): Promise<GitHubReplay> {
  const requests: GitHubRecordedRequest[] = [];
  const faultHits = new Map<GitHubFault, number>();
  let remaining = 5000;
  const held = new Set<ServerResponse>();
  const server = createServer((req, res) => {
    try {
      handle(req, res);
    } catch (error) {
      send(res, 500, { message: String(error) }, {});
    }
  });
  let base = "";

  function rateHeaders(): Record<string, string> {
    return {
      "x-ratelimit-limit": "5000",
      "x-ratelimit-remaining": String(remaining),
      "x-ratelimit-reset": String(Math.floor(Date.now() / 1000) + 3600),
      "x-ratelimit-used": String(5000 - remaining),
      "x-ratelimit-resource": "core",
      "x-github-media-type": "github.v3; format=json",
    };
  }

  function handle(req: IncomingMessage, res: ServerResponse) {
    const url = new URL(req.url ?? "/", "http://replay");
    const record: GitHubRecordedRequest = { path: url.pathname, query: Object.fromEntries(url.searchParams), ifNoneMatch: header(req, "if-none-match"), status: 0 };
    requests.push(record);
    if (req.headers.authorization !== `token ${options.token}` && req.headers.authorization !== `bearer ${options.token}`) {
      return finish(record, res, 401, { message: "Bad credentials", documentation_url: "https://docs.github.com/rest" });
    }
    for (const fault of options.faults ?? []) {
      if (!fault.path.test(url.pathname)) continue;
      const hits = (faultHits.get(fault) ?? 0) + 1;
      faultHits.set(fault, hits);
      const skip = fault.skip ?? 0;
      if (hits <= skip || hits > skip + (fault.times ?? 1)) continue;
      if (fault.respond === "hold") {
        record.status = "held";
        held.add(res);
        return;
      }
      const answer = typeof fault.respond === "function" ? fault.respond() : fault.respond;
      record.status = answer.status;
      res.writeHead(answer.status, { "content-type": JSON_TYPE, ...rateHeaders(), ...answer.headers });
      res.end(answer.body);
      return;
    }
    later(() => route(url, record, req, res));
  }

  function later(work: () => void) {
    const latency = options.latencyMs ?? 0;
    if (latency > 0) setTimeout(work, latency);
    else work();
  }

  function route(url: URL, record: GitHubRecordedRequest, req: IncomingMessage, res: ServerResponse) {
    const byName = /^\/repos\/([^/]+\/[^/]+)\/issues(?:\/(\d+)\/timeline)?$/.exec(url.pathname);
    const byId = /^\/repositories\/(\d+)\/issues(?:\/(\d+)\/timeline)?$/.exec(url.pathname);
    const org = /^\/orgs\/([^/]+)\/repos$/.exec(url.pathname);
    if (org) {
      const names = options.orgs?.[org[1]!] ?? [];
      const list = names.map((full) => ({ id: options.repos.find((r) => r.name === full)?.id ?? 0, name: full.split("/")[1], full_name: full, archived: false }));
      return paged(record, req, res, url, `/orgs/${org[1]}/repos`, list);
    }
    let repo: ReplayRepo | undefined;
    let number: string | undefined;
    if (byName) {
      const name = byName[1]!.toLowerCase();
      number = byName[2];
      repo = options.repos.find((r) => r.name.toLowerCase() === name);
      if (!repo) {
        const moved = options.repos.find((r) => r.formerNames?.some((former) => former.toLowerCase() === name));
        if (moved) {
          // GitHub answers a renamed repository's old name with 301 to the repository's id.
          const location = `${base}/repositories/${moved.id}/issues${number ? `/${number}/timeline` : ""}${url.search}`;
          return finish(record, res, 301, { message: "Moved Permanently", url: location, documentation_url: "https://docs.github.com/v3/#http-redirects" }, { location });
        }
        return finish(record, res, 404, { message: "Not Found", documentation_url: "https://docs.github.com/rest" });
      }
    } else if (byId) {
      repo = options.repos.find((r) => r.id === Number(byId[1]));
      number = byId[2];
    }
    if (!repo) return finish(record, res, 404, { message: "Not Found", documentation_url: "https://docs.github.com/rest" });
    if (number) {
      const n = Number(number);
      const gone = repo.gone?.get(n);
      if (gone === 410) return finish(record, res, 410, { message: "This issue was deleted", documentation_url: "https://docs.github.com/rest/issues" });
      const timeline = repo.timelines.get(n);
      if (gone === 404 || !timeline) return finish(record, res, 404, { message: "Not Found", documentation_url: "https://docs.github.com/rest" });
      return paged(record, req, res, url, `/repositories/${repo.id}/issues/${n}/timeline`, timeline);
    }
    const since = url.searchParams.get("since");
    const sinceMs = since ? Date.parse(since) : -Infinity;
    const items = repo.items
      .filter((item) => Date.parse(String(item.updated_at)) >= sinceMs)
      .sort((a, b) => Date.parse(String(a.updated_at)) - Date.parse(String(b.updated_at)) || Number(a.number) - Number(b.number));
    return paged(record, req, res, url, `/repositories/${repo.id}/issues`, items);
  }

  /** One page of `all`, with GitHub's Link header (next, last, first, prev) and an ETag of the body. */
  function paged(record: GitHubRecordedRequest, req: IncomingMessage, res: ServerResponse, url: URL, linkPath: string, all: unknown[]) {
    const perPage = Math.min(100, Number(url.searchParams.get("per_page") ?? 30));
    const page = Math.max(1, Number(url.searchParams.get("page") ?? 1));
    const last = Math.max(1, Math.ceil(all.length / perPage));
    const body = JSON.stringify(all.slice((page - 1) * perPage, page * perPage));
    const etag = `W/"${createHash("sha256").update(body).digest("hex")}"`;
    const link = (n: number) => {
      const query = new URLSearchParams(url.searchParams);
      query.set("page", String(n));
      return `${base}${linkPath}?${query}`;
    };
    const links: string[] = [];
    if (page > 1) links.push(`<${link(page - 1)}>; rel="prev"`);
    if (page < last) links.push(`<${link(page + 1)}>; rel="next"`, `<${link(last)}>; rel="last"`);
    if (page > 1) links.push(`<${link(1)}>; rel="first"`);
    const headers: Record<string, string> = { etag, "cache-control": "private, max-age=60, s-maxage=60", vary: "Accept, Authorization, Cookie, X-GitHub-OTP" };
    if (links.length) headers.link = links.join(", ");
    if (header(req, "if-none-match") === etag) {
      // A 304 to a conditional request does not count against the rate limit.
      record.status = 304;
      res.writeHead(304, { ...rateHeaders(), ...headers });
      res.end();
      return;
    }
    remaining = Math.max(0, remaining - 1);
    record.status = 200;
    res.writeHead(200, { "content-type": JSON_TYPE, ...rateHeaders(), ...headers });
    res.end(body);
  }

  function finish(record: GitHubRecordedRequest, res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
    record.status = status;
    send(res, status, body, { ...rateHeaders(), ...headers });
  }

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: base,
    requests,
    options,
    async close() {
      for (const res of held) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function header(req: IncomingMessage, name: string): string | null {
  const value = req.headers[name];
  return typeof value === "string" ? value : null;
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string>) {
  res.writeHead(status, { "content-type": JSON_TYPE, ...headers });
  res.end(JSON.stringify(body));
}

/** GitHub's primary rate limit answer: 403 with x-ratelimit-remaining 0 and the reset time. */
export function primaryLimit(resetInSeconds: number): () => { status: number; headers: Record<string, string>; body: string } {
  return () => ({
    status: 403,
    headers: { "x-ratelimit-remaining": "0", "x-ratelimit-reset": String(Math.floor(Date.now() / 1000) + resetInSeconds), "x-ratelimit-used": "5000" },
    body: JSON.stringify({ message: "API rate limit exceeded for user ID 1.", documentation_url: "https://docs.github.com/rest/overview/resources-in-the-rest-api#rate-limiting" }),
  });
}

/** GitHub's secondary rate limit answer: 403 with retry-after. */
export function secondaryLimit(retryAfterSeconds: number): { status: number; headers: Record<string, string>; body: string } {
  return {
    status: 403,
    headers: { "retry-after": String(retryAfterSeconds) },
    body: JSON.stringify({
      message: "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
      documentation_url: "https://docs.github.com/rest/overview/resources-in-the-rest-api#secondary-rate-limits",
    }),
  };
}
