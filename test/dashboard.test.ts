// The dashboard in real Chromium (Debian's package, driven by playwright-core) on a real chDB store
// shared as `flowpulse dashboard` shares it: the empty state, every view drawn, figures equal to
// `flowpulse metrics … --format json` run beside it, filters in the address, keyboard navigation,
// live updates on imports (in this process and through the share) and a clear message for a bad
// filter. Screenshots of every view go to test-results/.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { serveDashboard } from "../cli/commands/dashboard.ts";
import { parseConfig } from "../cli/config.ts";
import { importFiles } from "../connectors/file/import.ts";
import { writeSampleJsonl } from "../connectors/file/sample.ts";
import type { DashboardServer } from "../dashboard/server.ts";
import { shareStore } from "../store/remote.ts";
import { HAVE_CHROMIUM, CHROMIUM, launchBrowser, loadCount, screenshot, waitForLoad } from "./helpers/browser.ts";
import { CLI, ROOT } from "./helpers/serve-process.ts";
import { freshStore } from "./helpers/store.ts";

const DAY = 86_400_000;
const NOW = Date.now();
const VIEWS = ["overview", "flow-time", "cfd", "throughput", "load", "aging", "distribution", "bottlenecks"];
const isoDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);

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

/** The text of each cell of each row of a data table under the view. */
function tableRows(page: Page, caption: string): Promise<string[][]> {
  return page.$$eval(`table[data-table="${caption}"] tbody tr`, (rows) => rows.map((row) => [...row.querySelectorAll("td")].map((cell) => cell.textContent ?? "")));
}

describe.skipIf(!HAVE_CHROMIUM)(
  HAVE_CHROMIUM ? "dashboard in Chromium" : `SKIPPED: dashboard in a browser — no Chromium at ${CHROMIUM} (apt-get install chromium, or set FLOWPULSE_CHROMIUM)`,
  () => {
    let fresh: Awaited<ReturnType<typeof freshStore>>;
    let share: { close(): Promise<void> };
    let dashboard: DashboardServer;
    let browser: Browser;
    let page: Page;
    const errors: string[] = [];
    const work = mkdtempSync(path.join(os.tmpdir(), "fp-dash-test-"));

    beforeAll(async () => {
      fresh = await freshStore();
      share = await shareStore(fresh.store, fresh.dir);
      const config = parseConfig({ dashboard: { port: 0, poll_ms: 500 } }, "test", {});
      dashboard = await serveDashboard(config, fresh.store, (line) => errors.push(line));
      browser = await launchBrowser();
      page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      page.on("pageerror", (error) => errors.push(`page: ${error.message}`));
    }, 120_000);

    afterAll(async () => {
      await browser?.close();
      await dashboard?.close();
      await share?.close();
      await fresh?.dispose();
      rmSync(work, { recursive: true, force: true });
    });

    it("on a store without data says what to do, and fills in by itself when the first import lands", async () => {
      await page.goto(dashboard.url);
      await page.waitForFunction(() => document.body.dataset.state === "empty" && document.body.dataset.live === "on");
      expect(await page.textContent("[data-empty]")).toContain("flowpulse import");
      await screenshot(page, "dashboard-empty");
      const before = await loadCount(page);
      const file = path.join(work, "sample.jsonl");
      await writeSampleJsonl(file, { seed: 7, items: 600, endMs: NOW });
      await importFiles(fresh.store, [file]);
      await waitForLoad(page, before, 30_000);
      await page.waitForFunction(() => document.body.dataset.state === "ready");
      expect(await page.$$eval('td[data-metric="velocity"][data-window="current"]', (cells) => cells.length)).toBeGreaterThan(1);
    }, 120_000);

    it("draws every view's charts, each with its figures as a table", async () => {
      for (const view of VIEWS) {
        await page.goto(`${dashboard.url}?view=${view}`);
        await page.waitForFunction((v) => document.body.dataset.view === v && document.body.dataset.state === "ready", view);
        const charts = await page.$$eval("[data-chart] svg", (svgs) => svgs.map((svg) => svg.querySelectorAll("path, rect, circle").length));
        if (view === "overview") expect(await page.$$eval(".spark svg", (svgs) => svgs.length), view).toBeGreaterThan(10);
        else expect(charts.length, view).toBeGreaterThan(0);
        for (const shapes of charts) expect(shapes, view).toBeGreaterThan(10);
        expect(await page.$$eval("table", (tables) => tables.length), view).toBeGreaterThan(0);
        expect(await page.getAttribute(`[role="tab"][data-view="${view}"]`, "aria-selected")).toBe("true");
        await screenshot(page, `dashboard-${view}`);
      }
      expect(errors).toEqual([]);
    }, 120_000);

    it("shows the same figures as `flowpulse metrics … --format json` for the same filters", async () => {
      const since = isoDay(NOW - 60 * DAY);
      const until = isoDay(NOW - DAY);
      const filters = ["--team", "payments", "--since", since, "--until", until, "--period", "week", "--format", "json"];
      const [velocity, load, distribution] = await Promise.all(
        ["velocity", "load", "distribution"].map(async (metric) => {
          const run = await cli(["--data", fresh.dir, "metrics", metric, ...filters]);
          expect(run.code, run.stderr).toBe(0);
          return JSON.parse(run.stdout) as Record<string, string | number>[];
        }),
      );
      const query = `team=payments&since=${since}&until=${until}`;
      const cells = (rows: Record<string, string | number>[], keys: string[]) => rows.map((row) => keys.map((key) => String(row[key])));

      await page.goto(`${dashboard.url}?view=throughput&${query}`);
      await waitForLoad(page, 0);
      expect(await tableRows(page, "items finished per period")).toEqual(cells(velocity!, ["period_start", "flow_type", "items"]));
      await page.goto(`${dashboard.url}?view=load&${query}`);
      await waitForLoad(page, 0);
      expect(await tableRows(page, "items in progress at the end of each day")).toEqual(cells(load!, ["day", "flow_type", "wip"]));
      await page.goto(`${dashboard.url}?view=distribution&${query}`);
      await waitForLoad(page, 0);
      expect(await tableRows(page, "distribution over the window")).toEqual(cells(distribution!, ["scope", "flow_type", "items", "share"]));

      // The overview's "this window" figures: items finished per type (the velocity rows added
      // up) and the WIP at the window's end (the last day of the load rows).
      await page.goto(`${dashboard.url}?${query}`);
      await waitForLoad(page, 0);
      const shown = (metric: string) =>
        page.$$eval(`td[data-metric="${metric}"][data-window="current"]`, (tds) => Object.fromEntries(tds.map((td) => [td.closest("tr")!.dataset.type!, Number(td.dataset.value)])));
      const types = [...new Set(velocity!.map((row) => String(row.flow_type)))];
      const done = Object.fromEntries(types.map((type) => [type, velocity!.filter((row) => row.flow_type === type).reduce((s, row) => s + Number(row.items), 0)]));
      expect(await shown("velocity")).toMatchObject({ ...done, "all types": Object.values(done).reduce((a, b) => a + b, 0) });
      const lastDay = load!.at(-1)!.day;
      const wip: Record<string, number> = Object.fromEntries(load!.filter((row) => row.day === lastDay).map((row) => [row.flow_type, Number(row.wip)]));
      expect(await shown("load")).toMatchObject({ ...wip, "all types": Object.values(wip).reduce((a, b) => a + b, 0) });
      // And each type's share of the items finished: distribution's completed scope.
      const shares = Object.fromEntries(distribution!.filter((row) => row.scope === "completed").map((row) => [row.flow_type, Number(row.share)]));
      expect(await shown("distribution")).toMatchObject(shares);
    }, 120_000);

    it("keeps a filter change in the address and redraws; arrow keys move between views", async () => {
      await page.goto(`${dashboard.url}?view=throughput`);
      await waitForLoad(page, 0);
      const before = await loadCount(page);
      await page.selectOption('select[name="type"]', "defect");
      await waitForLoad(page, before);
      expect(new URL(page.url()).searchParams.get("type")).toBe("defect");
      const types = (await tableRows(page, "items finished per period")).map((row) => row[1]);
      expect(types.length).toBeGreaterThan(0);
      expect(new Set(types)).toEqual(new Set(["defect"]));
      // The address alone gives the same view: a shared link.
      await page.goto(page.url());
      await waitForLoad(page, 0);
      expect(await page.inputValue('select[name="type"]')).toBe("defect");

      const next = await loadCount(page);
      await page.focus('[role="tab"][data-view="throughput"]');
      await page.keyboard.press("ArrowRight");
      await waitForLoad(page, next);
      expect(new URL(page.url()).searchParams.get("view")).toBe("load");
      expect(await page.evaluate(() => document.activeElement?.getAttribute("data-view"))).toBe("load");
      await page.goBack();
      await page.waitForFunction(() => document.body.dataset.view === "throughput");
    }, 60_000);

    it("updates the open page within seconds when an import lands through the share", async () => {
      await page.goto(dashboard.url);
      await waitForLoad(page, 0);
      await page.waitForFunction(() => document.body.dataset.live === "on");
      const velocity = () => page.$eval('tr[data-type="all types"] td[data-metric="velocity"][data-window="current"]', (td) => Number((td as HTMLElement).dataset.value));
      const before = await velocity();
      // Three items started yesterday and finished an hour ago.
      const lines = ["N1", "N2", "N3"].flatMap((key) => [
        { kind: "item", item_id: `live:${key}`, source: "live", stream: "software", key, title: `Live ${key}`, url: `https://tracker.example/${key}`, flow_type: "feature", team: "payments", created_at: new Date(NOW - 2 * DAY).toISOString() },
        { kind: "transition", event_id: `${key}#0`, item_id: `live:${key}`, from_state: "", to_state: "To Do", to_flow_state: "new", at: new Date(NOW - 2 * DAY).toISOString() },
        { kind: "transition", event_id: `${key}#1`, item_id: `live:${key}`, from_state: "To Do", to_state: "In Progress", to_flow_state: "active", at: new Date(NOW - DAY).toISOString() },
        { kind: "transition", event_id: `${key}#2`, item_id: `live:${key}`, from_state: "In Progress", to_state: "Done", to_flow_state: "done", at: new Date(NOW - 3_600_000).toISOString() },
      ]);
      const file = path.join(work, "live.jsonl");
      writeFileSync(file, lines.map((line) => JSON.stringify(line)).join("\n") + "\n");
      const loads = await loadCount(page);
      const run = await cli(["--data", fresh.dir, "import", file]);
      expect(run.code, run.stderr).toBe(0);
      const landed = Date.now();
      await waitForLoad(page, loads, 20_000);
      await expect.poll(velocity, { timeout: 20_000 }).toBe(before + 3);
      // The poll runs every 500 ms here (2 s by default); the rest is the page's own reload.
      expect(Date.now() - landed).toBeLessThan(20_000);
      expect(await page.textContent("#live")).toContain("updated");
    }, 120_000);

    it("says clearly what is wrong with a bad filter", async () => {
      await page.goto(`${dashboard.url}?view=cfd&team=nobody`);
      await page.waitForFunction(() => document.body.dataset.state === "error");
      expect(await page.textContent("#message")).toBe('Cannot show this view: no team "nobody" in the store (teams: growth, mobile, payments, platform)');
      await screenshot(page, "dashboard-bad-filter");
      await page.goto(`${dashboard.url}?view=load&window=ninety&colour=red`);
      await page.waitForFunction(() => document.body.dataset.state === "error");
      expect(await page.textContent("#message")).toContain('window "ninety" must be a number of days such as 30d or 90d; unknown filter "colour"');
      expect(await page.isVisible("#message")).toBe(true);
    }, 60_000);
  },
);
