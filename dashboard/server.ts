// The dashboard's HTTP server (node:http, read-only): the page and its assets, ECharts from the
// installed package (the page needs no internet), a JSON API that answers named views with
// validated filters through the metric API, and server-sent events when the store's data changes.
// Only GET and HEAD; optional token or basic auth; the page carries no secret.
import { createHash, timingSafeEqual } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { gzip } from "node:zlib";
import { DEFAULT_FORECAST_SETTINGS, type ForecastSettings } from "../metrics/forecast-query.ts";
import { MetricError } from "../metrics/query.ts";
import { sqlFile } from "../store/sql.ts";
import type { Store } from "../store/store.ts";
import type { DashboardAuth } from "./config.ts";
import { FilterError, forecastQuestion, parseFilterQuery, toMetricFilters, VIEW_NAMES, type MetricDefaults, type ViewName } from "./filters.ts";
import { liveFeed } from "./live.ts";
import { viewData, type WipLimit } from "./views.ts";

export interface DashboardOptions {
  store: Store;
  host: string;
  port: number;
  auth: DashboardAuth;
  /** The config's metric settings (zone, flow-time rule, aging), as the CLI and the bot use them. */
  defaults: MetricDefaults;
  wipLimits?: readonly WipLimit[];
  /** The config's metrics.forecast settings, as `flowpulse forecast` uses them. */
  forecast?: ForecastSettings;
  pollMs?: number;
  pointsLimit?: number;
  log?: (line: string) => void;
}

export interface DashboardServer {
  /** Where it listens, e.g. http://127.0.0.1:8737/ */
  url: string;
  close(): Promise<void>;
}

const ASSET_DIR = fileURLToPath(new URL("./assets/", import.meta.url));
// The chart definitions live below the front ends (the Slack digest draws them too); the page
// loads that very file.
const CHARTS_FILE = fileURLToPath(new URL("../present/charts.js", import.meta.url));
const ECHARTS_FILE = createRequire(import.meta.url).resolve("echarts/dist/echarts.min.js");
const ASSETS: Record<string, { file: string; type: string }> = {
  "/": { file: `${ASSET_DIR}index.html`, type: "text/html; charset=utf-8" },
  "/assets/app.js": { file: `${ASSET_DIR}app.js`, type: "text/javascript; charset=utf-8" },
  "/assets/charts.js": { file: CHARTS_FILE, type: "text/javascript; charset=utf-8" },
  "/assets/app.css": { file: `${ASSET_DIR}app.css`, type: "text/css; charset=utf-8" },
  "/assets/echarts.min.js": { file: ECHARTS_FILE, type: "text/javascript; charset=utf-8" },
};
const COOKIE = "flowpulse_dashboard";
const gzipAsync = promisify(gzip);
/** How long the store's names are reused before a name not among them is looked up again. */
const NAMES_TTL_MS = 60_000;

interface Names { team: string[]; stream: string[]; type: string[] }

const SECURITY_HEADERS = {
  "content-security-policy": "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  // The token may be in the address the page was opened with: never send it on.
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
};

export async function startDashboard(options: DashboardOptions): Promise<DashboardServer> {
  const log = options.log ?? (() => undefined);
  const live = liveFeed(options.store, options.pollMs ?? 2_000, log);
  const files = new Map<string, Buffer>();
  const asset = (path: string) => {
    let body = files.get(path);
    if (!body) {
      body = readFileSync(ASSETS[path]!.file);
      files.set(path, body);
    }
    return body;
  };
  // Compressed off the event loop (zlib's thread pool), started now so a first visit finds it.
  const gzipped = new Map<string, Promise<Buffer>>();
  const zipped = (path: string) => {
    let body = gzipped.get(path);
    if (!body) {
      body = gzipAsync(asset(path), { level: 9 });
      gzipped.set(path, body);
    }
    return body;
  };
  for (const path of Object.keys(ASSETS)) if (path !== "/") zipped(path).catch(() => gzipped.delete(path));
  let names: { at: number; value: Names } | undefined;
  const storeNames = async (fresh: boolean): Promise<Names> => {
    if (!fresh && names && Date.now() - names.at < NAMES_TTL_MS) return names.value;
    const [row] = await options.store.query<Names>(sqlFile("queries/names.sql"));
    names = { at: Date.now(), value: { team: row?.team ?? [], stream: row?.stream ?? [], type: row?.type ?? [] } };
    return names.value;
  };

  const json = (response: ServerResponse, status: number, body: unknown) => {
    response.writeHead(status, { "content-type": "application/json; charset=utf-8", "cache-control": "no-store", ...SECURITY_HEADERS });
    response.end(JSON.stringify(body));
  };

  /** Every name the filters use must be in the store: a typo is named, not answered with zeros. */
  const checkNames = async (query: ReturnType<typeof parseFilterQuery>) => {
    for (const [key, kind, label] of [["stream", "stream", "streams"], ["team", "team", "teams"], ["type", "type", "flow item types"]] as const) {
      const value = query[key];
      if (value === undefined) continue;
      let known = await storeNames(false);
      if (!known[kind].includes(value)) known = await storeNames(true);
      if (!known[kind].includes(value)) {
        throw new FilterError(`no ${key} "${value}" in the store (${label}: ${known[kind].join(", ") || "none yet"})`);
      }
    }
  };

  const api = async (url: URL, response: ServerResponse) => {
    if (url.pathname === "/api/events") return live.attach(response);
    if (url.pathname === "/api/names") return json(response, 200, await storeNames(false));
    const view = url.pathname.slice("/api/view/".length) as ViewName;
    if (!url.pathname.startsWith("/api/view/") || !VIEW_NAMES.includes(view)) {
      return json(response, 404, { error: `no such view: use one of ${VIEW_NAMES.join(", ")}` });
    }
    try {
      const query = parseFilterQuery(url.searchParams);
      const filters = toMetricFilters(query, options.defaults);
      const question = view === "forecast" ? forecastQuestion(query, filters.timezone ?? "UTC") : undefined;
      const known = await storeNames(false);
      if (known.type.length === 0 && (await storeNames(true)).type.length === 0) return json(response, 200, { view, empty: true });
      await checkNames(query);
      const started = performance.now();
      const data = await viewData(view, filters, {
        store: options.store,
        wipLimits: options.wipLimits ?? [],
        pointsLimit: options.pointsLimit ?? 5_000,
        forecast: question && { question, settings: options.forecast ?? DEFAULT_FORECAST_SETTINGS },
      });
      return json(response, 200, {
        view,
        empty: false,
        filters: { ...query, sinceMs: filters.sinceMs, untilMs: filters.untilMs, period: filters.period, timezone: filters.timezone },
        ms: Math.round(performance.now() - started),
        data,
      });
    } catch (error) {
      if (error instanceof FilterError || error instanceof MetricError) return json(response, 400, { error: error.message });
      throw error;
    }
  };

  const handle = async (request: IncomingMessage, response: ServerResponse) => {
    if (request.method !== "GET" && request.method !== "HEAD") {
      response.writeHead(405, { allow: "GET, HEAD", ...SECURITY_HEADERS }).end("the dashboard is read-only\n");
      return;
    }
    const url = new URL(request.url ?? "/", "http://dashboard.invalid");
    if (!authorize(options.auth, request, response, url)) return;
    if (url.pathname.startsWith("/api/")) return api(url, response);
    if (url.pathname === "/favicon.ico") {
      response.writeHead(204, SECURITY_HEADERS).end();
      return;
    }
    const known = ASSETS[url.pathname];
    if (!known) {
      response.writeHead(404, { "content-type": "text/plain; charset=utf-8", ...SECURITY_HEADERS }).end("not found\n");
      return;
    }
    if (url.pathname === "/") {
      response.writeHead(200, { "content-type": known.type, "cache-control": "no-store", ...SECURITY_HEADERS });
      response.end(request.method === "HEAD" ? undefined : page(asset("/").toString("utf8"), url));
      return;
    }
    // The assets change only with the package: compressed once, sent gzipped to browsers that
    // take it (ECharts: 1 MB, about a third of that gzipped, which counts on a remote link).
    const takesGzip = /\bgzip\b/.test(String(request.headers["accept-encoding"] ?? ""));
    const body = takesGzip ? await zipped(url.pathname) : asset(url.pathname);
    response.writeHead(200, {
      "content-type": known.type,
      "cache-control": "max-age=300",
      vary: "accept-encoding",
      ...(takesGzip ? { "content-encoding": "gzip" } : {}),
      ...SECURITY_HEADERS,
    });
    response.end(request.method === "HEAD" ? undefined : body);
  };

  const server = createServer((request, response) => {
    handle(request, response).catch((error: Error) => {
      log(`[dashboard] ${request.method} ${request.url?.split("?")[0]} failed: ${error.message}`);
      if (!response.headersSent) json(response, 500, { error: `the store could not answer: ${error.message}` });
      else response.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}/`,
    async close() {
      await live.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * The page with a preload of the data its first view asks for, so the request leaves while the
 * browser is still fetching the scripts (app.js asks for the same address and gets this answer).
 * The address is built as app.js builds it: the view's name, then the page's filters in their
 * order, `view` and empty values left out, a repeated key once with its last value.
 */
function page(html: string, url: URL): string {
  const requested = url.searchParams.get("view") ?? "";
  const view = (VIEW_NAMES as readonly string[]).includes(requested) ? requested : "overview";
  const filters: Record<string, string> = {};
  for (const [key, value] of url.searchParams) if (key !== "view" && value !== "") filters[key] = value;
  const query = new URLSearchParams(filters).toString();
  const href = `api/view/${view}${query ? `?${query}` : ""}`.replaceAll("&", "&amp;").replaceAll('"', "&quot;").replaceAll("<", "&lt;");
  return html.replace("<!-- first-view-data -->", `<link rel="preload" as="fetch" crossorigin="anonymous" href="${href}">`);
}

const digest = (text: string) => createHash("sha256").update(text).digest();
const same = (a: string, b: string) => timingSafeEqual(digest(a), digest(b));

/**
 * Lets the request through, or answers it. Token auth: a `?token=` link sets an HttpOnly cookie
 * (holding a hash of the token, not the token) and redirects to the same address without it, so
 * the token leaves the address bar; API clients may send `Authorization: Bearer`.
 */
function authorize(auth: DashboardAuth, request: IncomingMessage, response: ServerResponse, url: URL): boolean {
  if (auth.kind === "none") return true;
  const header = request.headers.authorization ?? "";
  if (auth.kind === "basic") {
    const [scheme, encoded] = header.split(" ");
    const given = scheme?.toLowerCase() === "basic" && encoded ? Buffer.from(encoded, "base64").toString("utf8") : "";
    const colon = given.indexOf(":");
    if (colon > 0 && same(given.slice(0, colon), auth.user) && same(given.slice(colon + 1), auth.password)) return true;
    response.writeHead(401, { "www-authenticate": 'Basic realm="Flowpulse dashboard", charset="UTF-8"', ...SECURITY_HEADERS }).end("sign in to see the dashboard\n");
    return false;
  }
  const cookieValue = digest(`flowpulse:${auth.token}`).toString("hex");
  const queryToken = url.searchParams.get("token");
  if (queryToken !== null) {
    if (!same(queryToken, auth.token)) {
      response.writeHead(401, { "content-type": "text/plain; charset=utf-8", ...SECURITY_HEADERS }).end("that access token is not the dashboard's\n");
      return false;
    }
    url.searchParams.delete("token");
    response.writeHead(303, {
      location: url.pathname + (url.search || ""),
      "set-cookie": `${COOKIE}=${cookieValue}; HttpOnly; SameSite=Strict; Path=/`,
      ...SECURITY_HEADERS,
    }).end();
    return false;
  }
  const bearer = header.toLowerCase().startsWith("bearer ") ? header.slice(7).trim() : "";
  const cookie = (request.headers.cookie ?? "").split(";").map((part) => part.trim().split("=")).find(([name]) => name === COOKIE)?.[1] ?? "";
  if ((bearer && same(bearer, auth.token)) || (cookie && same(cookie, cookieValue))) return true;
  response.writeHead(401, { "content-type": "text/plain; charset=utf-8", ...SECURITY_HEADERS }).end("open the dashboard with its access link (?token=...)\n");
  return false;
}
