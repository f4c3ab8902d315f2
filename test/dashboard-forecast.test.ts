// The dashboard's forecast view on a real chDB store: over HTTP its JSON is exactly what
// forecastWhen / forecastHowMany return for the same scope, question and config settings, and a bad
// question is refused with a clear message; in real Chromium the percentiles shown are the ones
// `flowpulse forecast when N --format json` prints for the same filters.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { request } from "node:http";
import os from "node:os";
import path from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { serveDashboard } from "../cli/commands/dashboard.ts";
import { parseConfig } from "../cli/config.ts";
import { importFiles } from "../connectors/file/import.ts";
import { writeSampleJsonl } from "../connectors/file/sample.ts";
import { FilterError, forecastQuestion, parseFilterQuery } from "../dashboard/filters.ts";
import type { DashboardServer } from "../dashboard/server.ts";
import { addDays } from "../metrics/forecast.ts";
import { calibrationVerdict, forecastHowMany, forecastSettingsOf, forecastWhen, localDay, type WhenForecast } from "../metrics/forecast-query.ts";
import { shareStore } from "../store/remote.ts";
import { CHROMIUM, HAVE_CHROMIUM, launchBrowser, loadCount, screenshot, waitForLoad } from "./helpers/browser.ts";
import { CLI, ROOT } from "./helpers/serve-process.ts";
import { freshStore } from "./helpers/store.ts";

const NOW = Date.now();

function get(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, (res) => {
      let body = "";
      res.on("data", (chunk: Buffer) => (body += chunk.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: ROOT, env: { ...process.env, FLOWPULSE_CONFIG: "" }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.on("error", reject);
    child.on("exit", (code) => resolve({ code, stdout, stderr }));
  });
}

describe("the forecast question in the address", () => {
  const question = (text: string, now = NOW) => forecastQuestion(parseFilterQuery(new URLSearchParams(text)), "UTC", now);
  const today = localDay(NOW, "UTC");

  it("is when 30 by default, when N with items, how many with by (today counts)", () => {
    expect(question("")).toEqual({ kind: "when", items: 30 });
    expect(question("items=12&team=payments")).toEqual({ kind: "when", items: 12 });
    expect(question(`by=${today}`)).toEqual({ kind: "howmany", by: today });
  });

  it("refuses a bad N, a past or unreal date, and both at once, with the same kind of message as a bad filter", () => {
    expect(() => question("items=0")).toThrow('items "0" must be a whole number of items from 1 to 999999, such as 30');
    expect(() => question("items=2.5")).toThrow(FilterError);
    expect(() => question("items=thirty")).toThrow('items "thirty" must be a whole number');
    expect(() => question("by=31-03-2027")).toThrow('by "31-03-2027" must be a date YYYY-MM-DD');
    expect(() => question("by=2027-02-30", Date.parse("2026-06-01T12:00:00Z"))).toThrow('by "2027-02-30" is not a real date');
    expect(() => question(`by=${addDays(today, -1)}`)).toThrow(`by "${addDays(today, -1)}" is in the past (today is ${today} in UTC)`);
    expect(() => question(`items=5&by=${today}`)).toThrow("ask either items (when will N be done) or by (how many by a date), not both");
  });
});

describe("forecast view", () => {
  let fresh: Awaited<ReturnType<typeof freshStore>>;
  let share: { close(): Promise<void> };
  let tuned: DashboardServer;
  const config = parseConfig({ dashboard: { port: 0, poll_ms: 500 }, metrics: { forecast: { trials: 2_000, seed: 7, history_days: 60 } } }, "test", {});
  const log: string[] = [];
  const work = mkdtempSync(path.join(os.tmpdir(), "fp-dash-forecast-"));

  beforeAll(async () => {
    fresh = await freshStore();
    const file = path.join(work, "sample.jsonl");
    await writeSampleJsonl(file, { seed: 7, items: 600, endMs: NOW });
    await importFiles(fresh.store, [file]);
    share = await shareStore(fresh.store, fresh.dir);
    tuned = await serveDashboard(config, fresh.store, (line) => log.push(line));
  }, 120_000);

  afterAll(async () => {
    await tuned?.close();
    await share?.close();
    await fresh?.dispose();
    rmSync(work, { recursive: true, force: true });
  });

  it("answers with forecastWhen / forecastHowMany for the same scope, question and metrics.forecast settings", async () => {
    const settings = forecastSettingsOf(config.metrics.forecast);
    const when = await get(`${tuned.url}api/view/forecast?team=payments&type=feature&items=20&window=30d`);
    expect(when.status, when.body).toBe(200);
    const expected = await forecastWhen(fresh.store, { team: "payments", flowType: "feature", timezone: "UTC" }, 20, settings);
    const body = JSON.parse(when.body) as { view: string; data: { forecast: WhenForecast; verdict: string } };
    expect(body.data.forecast).toEqual(expected);
    // The settings reached it: 2,000 trials, seed 7, 60 days of history (not the defaults).
    expect(body.data.forecast).toMatchObject({ trials: 2_000, seed: 7, history: { days_requested: 60 } });
    expect(body.data.forecast.ok).toBe(true);
    expect(body.data.verdict).toBe(calibrationVerdict(expected.calibration));

    const by = addDays(localDay(Date.now(), "UTC"), 28);
    const howMany = await get(`${tuned.url}api/view/forecast?stream=software&by=${by}`);
    expect(howMany.status, howMany.body).toBe(200);
    expect(JSON.parse(howMany.body).data.forecast).toEqual(await forecastHowMany(fresh.store, { stream: "software", timezone: "UTC" }, by, settings));
  }, 60_000);

  it("refuses a bad question with a clear message (400), as it refuses a bad filter", async () => {
    const bad = await get(`${tuned.url}api/view/forecast?items=-3`);
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.body).error).toBe('items "-3" must be a whole number of items from 1 to 999999, such as 30');
    const past = await get(`${tuned.url}api/view/forecast?by=2020-01-01`);
    expect(past.status).toBe(400);
    expect(JSON.parse(past.body).error).toMatch(/^by "2020-01-01" is in the past \(today is \d{4}-\d{2}-\d{2} in UTC\)/);
    const far = await get(`${tuned.url}api/view/forecast?by=2299-01-01`);
    expect(far.status).toBe(400);
    expect(JSON.parse(far.body).error).toContain("a forecast reaches at most ten years");
    expect(log).toEqual([]);
  }, 60_000);

  describe.skipIf(!HAVE_CHROMIUM)(
    HAVE_CHROMIUM ? "in Chromium" : `SKIPPED: forecast view in a browser — no Chromium at ${CHROMIUM} (apt-get install chromium, or set FLOWPULSE_CHROMIUM)`,
    () => {
      let dashboard: DashboardServer;
      let browser: Browser;
      let page: Page;
      const errors: string[] = [];

      beforeAll(async () => {
        // The command line's default config, as `flowpulse forecast` below runs with it.
        dashboard = await serveDashboard(parseConfig({ dashboard: { port: 0 } }, "test", {}), fresh.store, (line) => errors.push(line));
        browser = await launchBrowser();
        page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
        page.on("pageerror", (error) => errors.push(`page: ${error.message}`));
      }, 120_000);

      afterAll(async () => {
        await browser?.close();
        await dashboard?.close();
      });

      it("shows the percentiles `flowpulse forecast when N --format json` prints, with history, chart and track record", async () => {
        const run = await cli(["--data", fresh.dir, "forecast", "when", "25", "--team", "payments", "--format", "json"]);
        expect(run.code, run.stderr).toBe(0);
        const printed = JSON.parse(run.stdout) as WhenForecast;
        expect(printed.ok).toBe(true);

        await page.goto(`${dashboard.url}?view=forecast&team=payments&items=25`);
        await page.waitForFunction(() => document.body.dataset.view === "forecast" && document.body.dataset.state === "ready");
        const shown = await page.$$eval('table[data-table="forecast percentiles"] tbody tr', (rows) => rows.map((row) => [...row.querySelectorAll("td")].map((td) => td.textContent)));
        expect(shown).toEqual(printed.percentiles.map((row) => [`${row.percentile}%`, String(row.days), row.date]));
        expect(await page.textContent("[data-history]")).toContain(`resampling ${printed.history.days_sampled} days of throughput from ${printed.history.from} to ${printed.history.to}: ${printed.history.items} items finished`);
        const calibration = await page.$$eval('table[data-table="calibration"] tbody tr', (rows) => rows.map((row) => row.querySelector("td")?.textContent));
        expect(calibration).toEqual(printed.calibration.coverage.map((row) => `${row.percentile}%`));
        expect(await page.textContent("[data-verdict]")).toBe(`Reading: ${calibrationVerdict(printed.calibration)} (docs/forecasting.md).`);
        // The chart: one bar per outcome and a dashed line per percentile.
        const shapes = await page.$$eval('[data-chart="forecast distribution"] svg path', (paths) => paths.length);
        expect(shapes).toBeGreaterThan(printed.distribution.length);
        const labels = await page.$$eval('[data-chart="forecast distribution"] svg text', (texts) => texts.map((t) => t.textContent));
        for (const row of printed.percentiles) expect(labels).toContain(`p${row.percentile}: ${row.days} d`);
        expect(await page.$$eval("[data-warning]", (items) => items.length)).toBe(printed.warnings.length);
        await screenshot(page, "dashboard-forecast");
        expect(errors).toEqual([]);
      }, 120_000);

      it("keeps the question in the address beside the filters, and is reached with the arrow keys like the other views", async () => {
        await page.goto(`${dashboard.url}?view=bottlenecks&team=payments`);
        await waitForLoad(page, 0);
        const before = await loadCount(page);
        await page.focus('[role="tab"][data-view="bottlenecks"]');
        await page.keyboard.press("ArrowRight");
        await waitForLoad(page, before);
        expect(new URL(page.url()).searchParams.get("view")).toBe("forecast");
        expect(await page.inputValue('form.question input[name="items"]')).toBe("30");

        const by = addDays(localDay(Date.now(), "UTC"), 21);
        const asked = await loadCount(page);
        await page.fill('form.question input[name="by"]', by);
        await page.dispatchEvent('form.question input[name="by"]', "change");
        await waitForLoad(page, asked);
        const url = new URL(page.url());
        expect([url.searchParams.get("by"), url.searchParams.get("items"), url.searchParams.get("team")]).toEqual([by, null, "payments"]);
        expect(await page.getAttribute("form.question", "data-question")).toBe("howmany");
        const items = await page.$$eval('table[data-table="forecast percentiles"] tbody tr td[data-key="items"]', (tds) => tds.map((td) => Number(td.textContent)));
        // Higher confidence never promises more items.
        expect(items).toHaveLength(4);
        expect([...items].sort((a, b) => b - a)).toEqual(items);

        // A filter change keeps the question.
        const changed = await loadCount(page);
        await page.selectOption('select[name="type"]', "defect");
        await waitForLoad(page, changed);
        expect(new URL(page.url()).searchParams.get("by")).toBe(by);

        await page.goto(`${dashboard.url}?view=forecast&items=0`);
        await page.waitForFunction(() => document.body.dataset.state === "error");
        expect(await page.textContent("#message")).toBe('Cannot show this view: items "0" must be a whole number of items from 1 to 999999, such as 30');
        expect(errors).toEqual([]);
      }, 120_000);
    },
  );
});
