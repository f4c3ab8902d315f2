// Fetching from GitHub's REST API through octokit: the changed items of a repository (the issues
// list, which holds pull requests too, paged by Link with paginate.iterator), each item's timeline,
// and an organisation's repositories. Polite by construction: octokit's throttling plugin waits out
// primary (x-ratelimit-remaining/reset) and secondary (retry-after) limits, its retry plugin backs
// off after 5xx and dropped connections, at most `concurrency` timelines are read at once, and a
// page read before is asked for with its ETag, so an unchanged page answers 304 and costs nothing
// against the rate limit.
import { createAppAuth } from "@octokit/auth-app";
import { Octokit, RequestError } from "octokit";
import { innermostCause } from "../../core/errors.ts";
import { redact } from "../../core/secrets.ts";
import type { GitHubAuth, GitHubConfig } from "./config.ts";
import { matchesPattern } from "./config.ts";
import type { RawEvent, RawIssue } from "./map.ts";

export interface GitHubStats {
  requests: number;
  /** Answers 304 to a conditional request: free against the rate limit. */
  notModified: number;
  rateLimitWaits: number;
  secondaryLimitWaits: number;
  retries: number;
}

export type GitHubEvent =
  | { kind: "rate-limit"; secondary: boolean; path: string; waitMs: number; attempt: number }
  | { kind: "retry"; path: string; waitedMs: number; attempt: number; of: number; reason: string }
  | { kind: "moved"; from: string; to: string };

export class GitHubHttpError extends Error {
  override name = "GitHubHttpError";
  constructor(message: string, readonly status: number, readonly path: string) {
    super(redact(message));
  }
}

export interface ListPage {
  /** null when GitHub answered 304: the page is as it was when its ETag was stored. */
  items: RawIssue[] | null;
  next: string | null;
  etag: string | null;
}

export type Timeline =
  | { kind: "fresh"; events: RawEvent[]; etag: string | null; pages: number }
  | { kind: "not-modified" }
  | { kind: "gone"; status: number };

export interface GitHubClientOptions {
  signal?: AbortSignal;
  onEvent?: (event: GitHubEvent) => void;
}

const HEADER_ETAG = "etag";

type LiveIterator = AsyncIterator<{ data: unknown; headers: Record<string, unknown>; url: string }>;

export class GitHubClient {
  readonly stats: GitHubStats = { requests: 0, notModified: 0, rateLimitWaits: 0, secondaryLimitWaits: 0, retries: 0 };
  readonly octokit: InstanceType<typeof Octokit>;
  /** ETags to send with the next request of a URL (absolute), set by the caller per request. */
  private readonly etags = new Map<string, string>();
  /**
   * Per URL, why its last attempt failed, when, and how many attempts ran; cleared by an answer
   * below 500. A request for a URL found here is a retry. (octokit's own retryCount lives on an
   * options object its requests share, so it cannot tell one request's retries from another's.)
   */
  private readonly failures = new Map<string, { reason: string; timedOut: boolean; attempts: number; at: number }>();
  /** The list iterator in use and the URL its next page will come from. */
  private live: { url: string; iterator: LiveIterator; pending: ReturnType<LiveIterator["next"]> | null } | null = null;

  constructor(readonly config: GitHubConfig, auth: GitHubAuth, private readonly options: GitHubClientOptions = {}) {
    const onEvent = options.onEvent ?? (() => {});
    const stats = this.stats;
    const maxRetries = config.max_retries;
    const limited = (secondary: boolean) => (retryAfter: number, request: { method: string; url: string }, _octokit: unknown, retryCount: number) => {
      if (secondary) stats.secondaryLimitWaits += 1;
      else stats.rateLimitWaits += 1;
      if (retryCount >= maxRetries) return false;
      onEvent({ kind: "rate-limit", secondary, path: pathOf(request.url), waitMs: retryAfter * 1000, attempt: retryCount + 1 });
      return true;
    };
    this.octokit = new Octokit({
      baseUrl: config.api_url.replace(/\/+$/, ""),
      ...(auth.kind === "token"
        ? { auth: auth.token }
        : { authStrategy: createAppAuth, auth: { appId: auth.appId, privateKey: auth.privateKey, installationId: auth.installationId } }),
      userAgent: "flowpulse",
      throttle: { onRateLimit: limited(false), onSecondaryRateLimit: limited(true) },
      retry: { retries: maxRetries },
      log: { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} },
      request: { signal: options.signal, fetch: this.fetchWithDeadline.bind(this) },
    });
    this.octokit.hook.before("request", (request) => {
      // Requests that set no `request` options of their own share the client's object, and the
      // retry and throttling plugins count retries on it: one request's retries would lengthen the
      // next one's waits ((n + 1)² s). This hook runs before theirs, so each gets its own.
      request.request = { ...request.request };
      stats.requests += 1;
      const etag = this.etags.get(request.url);
      if (etag) request.headers = { ...request.headers, "if-none-match": etag };
    });
  }

  /**
   * fetch with a deadline for the answer to begin: a request GitHub never answers (a connection
   * left open, a proxy that swallowed it) fails after `timeout_ms` and is retried like a 5xx,
   * rather than holding the sync until the socket gives up minutes later. Each failure is kept by
   * URL, so the retry is logged with its reason and the final error says what happened.
   */
  private async fetchWithDeadline(input: string | URL | Request, init?: RequestInit): Promise<Response> {
    const url = urlKey(input instanceof Request ? input.url : String(input));
    const timeoutMs = this.config.timeout_ms;
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(new Error(`no answer within ${timeoutMs / 1000} s`)), timeoutMs);
    timer.unref();
    const previous = this.failures.get(url);
    const attempts = (previous?.attempts ?? 0) + 1;
    if (previous) {
      this.stats.retries += 1;
      const retry = { path: pathOf(url), waitedMs: Date.now() - previous.at, attempt: previous.attempts, of: this.config.max_retries };
      this.options.onEvent?.({ kind: "retry", ...retry, reason: previous.reason });
    }
    try {
      const response = await fetch(input, { ...init, signal: init?.signal ? AbortSignal.any([init.signal, deadline.signal]) : deadline.signal });
      if (response.status >= 500) this.failures.set(url, { reason: `HTTP ${response.status}`, timedOut: false, attempts, at: Date.now() });
      else this.failures.delete(url);
      return response;
    } catch (error) {
      const timedOut = deadline.signal.aborted && !init?.signal?.aborted;
      this.failures.set(url, { reason: timedOut ? `no answer within ${timeoutMs / 1000} s` : causeOf(error), timedOut, attempts, at: Date.now() });
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  private absolute(path: string): string {
    return `${this.config.api_url.replace(/\/+$/, "")}${path}`;
  }

  /**
   * A failed request as one line a person can act on. A request that never got an answer (no
   * response: a deadline passed, the connection was refused or dropped) says so and how often it
   * was asked, rather than the HTTP 500 octokit files such failures under.
   */
  private asHttpError(error: unknown, url: string): unknown {
    if (error instanceof RequestError && !error.response) {
      const failure = this.failures.get(urlKey(error.request?.url ?? url)) ?? this.failures.get(urlKey(url));
      if (failure) {
        const path = pathOf(url);
        const asked = `asked ${failure.attempts} time${failure.attempts === 1 ? "" : "s"}`;
        return failure.timedOut
          ? new GitHubHttpError(`GET ${path} got ${failure.reason}, ${asked} (check sources.github.api_url and the network; sources.github.timeout_ms sets the wait)`, 0, path)
          : new GitHubHttpError(`GET ${path} could not be asked: ${failure.reason}, ${asked} (check sources.github.api_url and the network)`, 0, path);
      }
    }
    return asHttpError(error, url);
  }

  /** The first page URL of a repository's items updated since `since` (oldest change first). */
  firstListUrl(repo: string, since: string | null): string {
    const query = new URLSearchParams({ state: "all", sort: "updated", direction: "asc", per_page: String(this.config.page_size) });
    if (since) query.set("since", since);
    return this.absolute(`/repos/${repo}/issues?${query}`);
  }

  /**
   * One page of items. Pages come from paginate.iterator, which follows Link; a new iterator starts
   * only where the previous one cannot go on (a resumed run, after a 304, a new repository), always
   * at a URL GitHub gave (never a page number of our own: deep page numbers are refused). The next
   * page is asked for as soon as this one arrives (with the ETag `etagOf` gives for its URL), so
   * the list chain runs beside the timelines of the page in hand.
   */
  async listPage(url: string, etagOf: (url: string) => string | null): Promise<ListPage> {
    try {
      if (!this.live || this.live.url !== url) {
        this.live = { url, iterator: this.octokit.paginate.iterator(`GET ${url}`)[Symbol.asyncIterator]() as never, pending: null };
      }
      const live = this.live;
      const etag = etagOf(url);
      const result = await (live.pending ?? this.nextOf(live.iterator, url, etag));
      if (result.done) return { items: [], next: null, etag: null };
      const response = result.value;
      const next = nextLink(response.headers.link);
      if (next) {
        const pending = this.nextOf(live.iterator, next, etagOf(next));
        // Awaited by the call for `next`; a caller that stops first must not leave it unhandled.
        pending.catch(() => {});
        this.live = { url: next, iterator: live.iterator, pending };
      } else {
        this.live = null;
      }
      if (!Array.isArray(response.data)) throw new GitHubHttpError(`GET ${pathOf(url)} answered JSON that is not a list of items`, 200, pathOf(url));
      return { items: response.data as RawIssue[], next, etag: headerText(response.headers[HEADER_ETAG]) };
    } catch (error) {
      this.live = null;
      if (error instanceof RequestError && error.status === 304) {
        this.stats.notModified += 1;
        return { items: null, next: null, etag: etagOf(url) };
      }
      throw this.asHttpError(error, url);
    }
  }

  private async nextOf(iterator: LiveIterator, url: string, etag: string | null) {
    if (etag) this.etags.set(url, etag);
    try {
      return await iterator.next();
    } finally {
      this.etags.delete(url);
    }
  }

  /**
   * An item's whole timeline. With `etag` (a timeline read before as one page), asked for
   * conditionally: 304 means the stored timeline is still whole. 404 and 410 mean the item is gone.
   */
  async timeline(repo: string, number: number, etag: string | null): Promise<Timeline> {
    const url = this.absolute(`/repos/${repo}/issues/${number}/timeline?per_page=100`);
    if (etag) this.etags.set(url, etag);
    const events: RawEvent[] = [];
    let firstEtag: string | null = null;
    let pages = 0;
    try {
      for await (const response of this.octokit.paginate.iterator(`GET ${url}`)) {
        if (pages === 0) {
          firstEtag = headerText(response.headers[HEADER_ETAG]);
          this.etags.delete(url);
        }
        pages += 1;
        if (!Array.isArray(response.data)) throw new GitHubHttpError(`GET ${pathOf(url)} answered JSON that is not a list of events`, 200, pathOf(url));
        for (const event of response.data as RawEvent[]) events.push(event);
      }
      return { kind: "fresh", events, etag: firstEtag, pages };
    } catch (error) {
      if (error instanceof RequestError && error.status === 304) {
        this.stats.notModified += 1;
        return { kind: "not-modified" };
      }
      if (error instanceof RequestError && (error.status === 404 || error.status === 410)) return { kind: "gone", status: error.status };
      throw this.asHttpError(error, url);
    } finally {
      this.etags.delete(url);
    }
  }

  /** The repositories to sync: the configured list, then an organisation's by include/exclude. */
  async repositories(): Promise<string[]> {
    const repos = [...this.config.repos];
    if (this.config.org) {
      try {
        for await (const response of this.octokit.paginate.iterator("GET /orgs/{org}/repos", { org: this.config.org, per_page: 100, type: "all" })) {
          for (const repo of response.data as { name: string; full_name: string; archived?: boolean }[]) {
            const included = this.config.include.some((pattern) => matchesPattern(repo.name, pattern));
            const excluded = this.config.exclude.some((pattern) => matchesPattern(repo.name, pattern));
            if (included && !excluded && !repos.includes(repo.full_name)) repos.push(repo.full_name);
          }
        }
      } catch (error) {
        throw this.asHttpError(error, this.absolute(`/orgs/${this.config.org}/repos`));
      }
    }
    return repos;
  }
}

/** The rel="next" URL of a Link header, if any. */
export function nextLink(link: unknown): string | null {
  if (typeof link !== "string") return null;
  const match = /<([^>]+)>;\s*rel="next"/.exec(link);
  return match ? match[1]! : null;
}

function headerText(value: unknown): string | null {
  return typeof value === "string" && value ? value : null;
}

function pathOf(url: string): string {
  try {
    const parsed = new URL(url);
    return parsed.pathname;
  } catch {
    return url.split("?")[0]!;
  }
}

/** A URL as one key, however octokit and the caller spelled it. */
function urlKey(url: string): string {
  try {
    return new URL(url).href;
  } catch {
    return url;
  }
}

/** A fetch failure in a few words: "connect ECONNREFUSED 127.0.0.1:9", not "fetch failed". */
function causeOf(error: unknown): string {
  const cause = innermostCause(error);
  return cause.message || cause.code || "the connection failed";
}

function asHttpError(error: unknown, url: string): unknown {
  if (!(error instanceof RequestError)) return error;
  const path = pathOf(url);
  const data = error.response?.data as { message?: string } | undefined;
  const detail = typeof data?.message === "string" ? `: ${data.message}` : "";
  const hint =
    error.status === 401
      ? " (check the token in $GITHUB_TOKEN, or the GitHub App's credentials)"
      : error.status === 403
        ? " (the token lacks access to this repository, or the rate limit was still exhausted after the retries)"
        : error.status === 404
          ? " (check sources.github.repos / org: the repository does not exist or the token cannot see it)"
          : "";
  return new GitHubHttpError(`GET ${path} answered HTTP ${error.status}${detail}${hint}`, error.status, path);
}
