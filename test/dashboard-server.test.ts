// The dashboard's server over real HTTP on real chDB: filters checked strictly, views answered by
// the metric API, read-only, token and basic auth, and a server-sent event when data lands.
import { request } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TransitionSchema, WorkItemSchema } from "../core/model.ts";
import { parseDateOption } from "../cli/dates.ts";
import { dashboardAuth, DashboardConfigSchema } from "../dashboard/config.ts";
import { FilterError, forecastQuestion, parseFilterQuery, toMetricFilters } from "../dashboard/filters.ts";
import { dashboardLink, forecastLink } from "../present/links.ts";
import { answerBlocks, type MetricAnswer } from "../bot/blocks/answer.ts";
import { forecastBlocks } from "../bot/blocks/forecast.ts";
import type { Forecast } from "../metrics/forecast-query.ts";
import { startDashboard, type DashboardServer } from "../dashboard/server.ts";
import { velocity } from "../metrics/query.ts";
import { FlowSink } from "../pipeline/sink.ts";
import { SOFTWARE, transitionsOf } from "./fixtures/metrics/histories.ts";
import { freshStore } from "./helpers/store.ts";

const TOKEN = "0123456789abcdef-token";
const DEFAULTS = { timezone: "UTC" };

interface Answer { status: number; headers: Record<string, string | string[] | undefined>; body: string }

function get(url: string, headers: Record<string, string> = {}, method = "GET"): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers }, (res) => {
      let body = "";
      res.on("data", (chunk: Buffer) => (body += chunk.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

describe("filters", () => {
  const query = (text: string) => parseFilterQuery(new URLSearchParams(text));

  it("refuses unknown, repeated and malformed filters with a message that says what to use", () => {
    expect(() => query("colour=red")).toThrow('unknown filter "colour": use stream, team, type, window, since, until, period');
    expect(() => query("team=a&team=b")).toThrow('give the filter "team" once');
    expect(() => query("window=ninety")).toThrow('window "ninety" must be a number of days such as 30d or 90d');
    expect(() => query("period=year")).toThrow('period "year" must be day, week or month');
    expect(() => query("since=2024-1-1")).toThrow('since "2024-1-1" must be a date YYYY-MM-DD');
    expect(() => query("window=30d&since=2024-01-01")).toThrow("give either window or since, not both");
    expect(() => toMetricFilters(query("since=2024-02-30"), DEFAULTS)).toThrow(FilterError);
    expect(() => toMetricFilters(query("since=2024-03-01&until=2024-02-01"), DEFAULTS)).toThrow("the window is empty");
  });

  it("reads dates as the command line does: a date-only until includes its whole day, in the configured zone", () => {
    const zone = "America/New_York";
    const filters = toMetricFilters(query("since=2024-03-01&until=2024-03-31&type=defect&view=cfd&token=x"), { timezone: zone });
    expect(filters.sinceMs).toBe(parseDateOption("since", "2024-03-01", zone, "start"));
    expect(filters.untilMs).toBe(parseDateOption("until", "2024-03-31", zone, "end"));
    expect(filters.flowType).toBe("defect");
    // A window counts back from until (now by default); empty values mean "all".
    const now = Date.parse("2024-06-01T00:00:00Z");
    expect(toMetricFilters(query("window=30d&team="), DEFAULTS, now)).toMatchObject({ sinceMs: now - 30 * 86_400_000, untilMs: now, period: "week" });
    expect(toMetricFilters(query("window=30d&team="), DEFAULTS, now).team).toBeUndefined();
  });
});

describe("links from Slack", () => {
  const NOW = Date.parse("2026-03-15T10:30:00Z");

  it("open the view with the same filters: the page reads back the window the answer used", () => {
    const zone = "Europe/Berlin";
    const cases = [
      // "last 30d": ends now, so the link keeps a moving window.
      { sinceMs: NOW - 30 * 86_400_000, untilMs: NOW, team: "pay & go", flowType: "defect", timezone: zone },
      // "this month": starts at a local midnight and ends now.
      { sinceMs: Date.parse("2026-02-28T23:00:00Z"), untilMs: NOW, timezone: zone, period: "day" as const },
      // "last month": whole local days in the past.
      { sinceMs: Date.parse("2026-01-31T23:00:00Z"), untilMs: Date.parse("2026-02-28T23:00:00Z"), stream: "orders", timezone: zone },
    ];
    for (const filters of cases) {
      const url = new URL(dashboardLink("https://flow.example.com/dash/", "throughput", filters, NOW));
      expect(url.pathname).toBe("/dash/");
      expect(url.searchParams.get("view")).toBe("throughput");
      const back = toMetricFilters(parseFilterQuery(url.searchParams), { timezone: zone }, NOW);
      const pick = (f: typeof back) => ({ sinceMs: f.sinceMs, untilMs: f.untilMs, team: f.team, flowType: f.flowType, stream: f.stream, period: f.period ?? "week" });
      expect(pick(back)).toEqual(pick(filters));
    }
    expect(dashboardLink("https://flow.example.com/", "overview", { sinceMs: NOW - 7 * 86_400_000, untilMs: NOW }, NOW)).toBe("https://flow.example.com/?window=7d");
  });

  it("appear under a /flow answer as a link, & escaped for Slack", () => {
    const answer: MetricAnswer = {
      title: "Flow velocity", windowLabel: "last 30 days", scopeLabel: "", value: 3, kind: "count", caption: "items delivered",
      higherIsBetter: true, breakdown: [], lists: [], notes: [], dashboardUrl: "https://flow.example.com/?view=throughput&team=red",
    };
    expect(JSON.stringify(answerBlocks(answer).at(-1))).toContain("<https://flow.example.com/?view=throughput&amp;team=red|See it in the Flowpulse dashboard>");
    expect(JSON.stringify(answerBlocks({ ...answer, dashboardUrl: undefined }))).not.toContain("dashboard");
  });

  it("open the forecast view asking the same question for the same scope, under a /flow forecast answer", () => {
    const when = new URL(forecastLink("https://flow.example.com/dash/", { team: "pay & go", flowType: "feature" }, { kind: "when", items: 30 }));
    expect(when.pathname).toBe("/dash/");
    expect(Object.fromEntries(when.searchParams)).toEqual({ view: "forecast", team: "pay & go", type: "feature", items: "30" });
    // The page reads the question back as the bot asked it.
    expect(forecastQuestion(parseFilterQuery(when.searchParams), "UTC", NOW)).toEqual({ kind: "when", items: 30 });
    const by = new URL(forecastLink("https://flow.example.com/", { stream: "orders" }, { kind: "howmany", by: "2026-04-30" }));
    expect(forecastQuestion(parseFilterQuery(by.searchParams), "UTC", NOW)).toEqual({ kind: "howmany", by: "2026-04-30" });
    expect(by.searchParams.get("stream")).toBe("orders");
    // A forecast that could not be made still links to the view, which says why too.
    const forecast = {
      ok: false, reason: "nothing is recorded in this scope yet", question: { kind: "when", items: 30 },
      scope: { stream: "", team: "", flow_type: "" }, working_days: false, trials: 10_000,
      history: { from: null, to: null, days_sampled: 0, items: 0 }, warnings: [],
      calibration: { forecasts: 0, note: "no history", coverage: [], every_days: 1, from: null, to: null },
    } as unknown as Forecast;
    const link = forecastLink("https://flow.example.com/", {}, { kind: "when", items: 30 });
    expect(JSON.stringify(forecastBlocks(forecast, [], link).at(-1))).toContain("<https://flow.example.com/?view=forecast&amp;items=30|See it in the Flowpulse dashboard>");
    expect(JSON.stringify(forecastBlocks(forecast, []))).not.toContain("dashboard");
  });
});

describe("auth config", () => {
  it("refuses a bind other hosts can reach without auth, and a short or missing secret", () => {
    const config = DashboardConfigSchema.parse({ host: "0.0.0.0" });
    expect(() => dashboardAuth(config, {})).toThrow("dashboard.host 0.0.0.0 can be reached from other hosts: set dashboard.auth to token");
    expect(() => dashboardAuth({ ...config, auth: "token" }, { FLOWPULSE_DASHBOARD_TOKEN: "short" })).toThrow("set $FLOWPULSE_DASHBOARD_TOKEN to a secret of at least 16 characters");
    expect(dashboardAuth({ ...config, auth: "basic" }, { FLOWPULSE_DASHBOARD_PASSWORD: TOKEN })).toEqual({ kind: "basic", user: "flowpulse", password: TOKEN });
    expect(dashboardAuth(DashboardConfigSchema.parse({}), {})).toEqual({ kind: "none" });
    expect(DashboardConfigSchema.safeParse({ public_url: "ftp://x" }).success).toBe(false);
  });
});

describe("server", () => {
  let fresh: Awaited<ReturnType<typeof freshStore>>;
  let open: DashboardServer;

  beforeAll(async () => {
    fresh = await freshStore();
    open = await startDashboard({ store: fresh.store, host: "127.0.0.1", port: 0, auth: { kind: "none" }, defaults: DEFAULTS, pollMs: 250 });
  }, 60_000);

  afterAll(async () => {
    await open?.close();
    await fresh?.dispose();
  });

  it("on a store with no data yet answers every view as empty, so the page can say what to do", async () => {
    const answer = await get(`${open.url}api/view/overview`);
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toEqual({ view: "overview", empty: true });
  });

  it("serves the page, its assets and ECharts from the package, with a strict content policy and nothing else", async () => {
    const page = await get(open.url);
    expect(page.status).toBe(200);
    expect(page.body).toContain('<script type="module" src="assets/app.js"></script>');
    // The first view's data is asked for from the head, at the address app.js asks (its filters
    // in the page's order, empty ones and the view's own key left out).
    expect(page.body).toContain('<link rel="preload" as="fetch" crossorigin="anonymous" href="api/view/overview">');
    const filtered = await get(`${open.url}?type=defect&view=bottlenecks&team=&window=30d&x="<`);
    expect(filtered.body).toContain('href="api/view/bottlenecks?type=defect&amp;window=30d&amp;x=%22%3C"');
    expect((await get(`${open.url}?view=nonsense`)).body).toContain('href="api/view/overview"');
    expect(page.headers["content-security-policy"]).toContain("script-src 'self'");
    const echarts = await get(`${open.url}assets/echarts.min.js`);
    expect(echarts.status).toBe(200);
    expect(echarts.body.length).toBeGreaterThan(500_000);
    // Gzipped for a browser that takes it (fetch unzips it): the same script, a third the bytes.
    const zipped = await fetch(`${open.url}assets/echarts.min.js`, { headers: { "accept-encoding": "gzip" } });
    expect(zipped.headers.get("content-encoding")).toBe("gzip");
    expect(zipped.headers.get("vary")).toBe("accept-encoding");
    expect(await zipped.text()).toBe(echarts.body);
    expect(echarts.headers["content-encoding"]).toBeUndefined();
    expect((await get(`${open.url}assets/../config.ts`)).status).toBe(404);
    expect((await get(`${open.url}api/view/burndown`)).status).toBe(404);
    const post = await get(`${open.url}api/view/overview`, {}, "POST");
    expect(post.status).toBe(405);
  });

  it("answers a view with the metric API's rows for the same filters, pushes a change when data lands, and names a bad filter", async () => {
    // Listen for live updates first, as the page does.
    const events: string[] = [];
    const sse = request(`${open.url}api/events`, (res) => res.on("data", (chunk: Buffer) => events.push(chunk.toString())));
    sse.end();
    await expect.poll(() => events.join(""), { timeout: 10_000 }).toContain("event: hello");

    const sink = new FlowSink(fresh.store);
    await sink.write({
      items: SOFTWARE.map((h) => WorkItemSchema.parse(h.item)),
      transitions: SOFTWARE.flatMap((h) => transitionsOf(h).map((t) => TransitionSchema.parse(t))),
    });
    await sink.commit();
    await expect.poll(() => events.join(""), { timeout: 10_000 }).toContain("event: change");
    sse.destroy();

    const answer = await get(`${open.url}api/view/throughput?stream=software&since=2024-01-01&until=2024-01-31&period=week`);
    expect(answer.status).toBe(200);
    const body = JSON.parse(answer.body);
    const expected = await velocity(fresh.store, { ...DEFAULTS, stream: "software", sinceMs: Date.parse("2024-01-01T00:00:00Z"), untilMs: Date.parse("2024-02-01T00:00:00Z"), period: "week" });
    expect(body.data.rows).toEqual(expected);
    // 8 items finished in January (see dashboard-metrics.test.ts).
    expect(expected.reduce((s, r) => s + r.items, 0)).toBe(8);

    const bad = await get(`${open.url}api/view/load?team=purple`);
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.body).error).toBe('no team "purple" in the store (teams: blue, red)');
    expect(JSON.parse((await get(`${open.url}api/view/load?window=0d`)).body).error).toContain('window "0d" must be a number of days');
  }, 60_000);

  it("draws a WIP limit on the flow load only where its scope is exactly the page's", async () => {
    const limited = await startDashboard({
      store: fresh.store, host: "127.0.0.1", port: 0, auth: { kind: "none" }, defaults: DEFAULTS,
      wipLimits: [{ name: "red-wip", limit: 4, team: "red" }, { name: "all-wip", limit: 9 }, { name: "red-defects", limit: 2, team: "red", flow_type: "defect" }],
    });
    try {
      const limits = async (query: string) => ((await (await fetch(`${limited.url}api/view/load?${query}`)).json()) as { data: { limits: { name: string }[] } }).data.limits.map((l) => l.name);
      expect(await limits("team=red")).toEqual(["red-wip"]);
      expect(await limits("")).toEqual(["all-wip"]);
      expect(await limits("team=red&type=defect")).toEqual(["red-defects"]);
      expect(await limits("team=blue")).toEqual([]);
    } finally {
      await limited.close();
    }
  });

  it("token auth: a link with the token sets a cookie and drops the token from the address; nothing without it", async () => {
    const guarded = await startDashboard({ store: fresh.store, host: "127.0.0.1", port: 0, auth: { kind: "token", token: TOKEN }, defaults: DEFAULTS });
    try {
      expect((await get(`${guarded.url}api/names`)).status).toBe(401);
      expect((await get(`${guarded.url}?token=wrong-token-of-some-length`)).status).toBe(401);
      const link = await get(`${guarded.url}?view=cfd&token=${TOKEN}`);
      expect(link.status).toBe(303);
      expect(link.headers.location).toBe("/?view=cfd");
      const cookie = String(link.headers["set-cookie"]).split(";")[0]!;
      expect(cookie).not.toContain(TOKEN);
      expect(String(link.headers["set-cookie"])).toContain("HttpOnly");
      const page = await get(guarded.url, { cookie });
      expect(page.status).toBe(200);
      expect(page.body).not.toContain(TOKEN);
      expect((await get(`${guarded.url}api/names`, { authorization: `Bearer ${TOKEN}` })).status).toBe(200);
    } finally {
      await guarded.close();
    }
  });

  it("basic auth: asks the browser to sign in and lets the right user and password through", async () => {
    const guarded = await startDashboard({ store: fresh.store, host: "127.0.0.1", port: 0, auth: { kind: "basic", user: "flow", password: TOKEN }, defaults: DEFAULTS });
    const basic = (user: string, password: string) => ({ authorization: `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}` });
    try {
      const refused = await get(guarded.url);
      expect(refused.status).toBe(401);
      expect(refused.headers["www-authenticate"]).toContain("Basic");
      expect((await get(guarded.url, basic("flow", "wrong"))).status).toBe(401);
      expect((await get(guarded.url, basic("flow", TOKEN))).status).toBe(200);
    } finally {
      await guarded.close();
    }
  });
});
