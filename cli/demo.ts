// `flowpulse demo`: a fresh embedded store, a generated realistic sample written as JSONL and
// imported through the real import path, then every metric section. Needs no config or servers.
import { mkdtempSync, readdirSync, existsSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { importFiles } from "../connectors/file/import.ts";
import { localMidnight } from "../core/time.ts";
import { writeSampleJsonl } from "../connectors/file/sample.ts";
import type { MetricFilters, MetricName } from "../metrics/api.ts";
import { openStore } from "../store/open.ts";
import type { CommandContext } from "./context.ts";
import { UsageError } from "./errors.ts";
import { renderMetric } from "./metrics.ts";
import { forecastWhen } from "../metrics/forecast-query.ts";
import { forecastSettings, renderForecast } from "./commands/forecast.ts";
import { serveDashboard } from "./commands/dashboard.ts";

export interface DemoOptions {
  data?: string;
  items?: number;
  seed?: number;
  /** Keep the demo store open and serve the dashboard on it until stopped (`--serve`). */
  serve?: boolean;
  /** With serve: resolves when to stop; signals by default (tests pass their own). */
  until?: Promise<unknown>;
  onReady?(url: string): void;
}

const DAY = 86_400_000;

export async function runDemo(context: CommandContext, options: DemoOptions): Promise<void> {
  const keep = Boolean(options.data);
  if (options.data && existsSync(options.data) && readdirSync(options.data).length > 0) {
    throw new UsageError(`--data ${options.data} is not empty; the demo needs a fresh directory`);
  }
  const dir = options.data ?? mkdtempSync(path.join(os.tmpdir(), "flowpulse-demo-"));
  // The sample file sits beside the store's own folders; chDB ignores it.
  const file = path.join(dir, "demo-sample.jsonl");
  const started = Date.now();
  // History ends at the current minute, so reruns within a minute print the same figures.
  const endMs = Math.floor(started / 60_000) * 60_000;
  try {
    const store = await openStore({ kind: "embedded", path: dir });
    try {
      const written = await writeSampleJsonl(file, { seed: options.seed ?? 42, items: options.items ?? 2400, endMs });
      const summary = await importFiles(store, [file]);
      context.out(
        `Flowpulse demo: ${written.items} items and ${written.transitions} transitions over 6 months ` +
          `(4 teams, Jira-like workflow), imported in ${((Date.now() - started) / 1000).toFixed(1)} s ` +
          `(${summary.items} items, ${summary.transitions} transitions, ${summary.rejected} rejected)\n\n`,
      );
      const config = context.config.metrics;
      const base: MetricFilters = {
        timezone: config.timezone,
        flowTimeStart: config.flow_time_start,
        agingPercentile: config.aging_percentile,
        agingBaselineDays: config.aging_baseline_days,
        untilMs: endMs,
      };
      // Whole calendar months (the current one partial), so no month in the table is cut short.
      const now = new Date(endMs);
      const [year, month] = [now.getUTCFullYear(), now.getUTCMonth() + 1];
      const quarter: MetricFilters = { ...base, sinceMs: localMidnight(year, month - 3, 1, config.timezone), period: "month" };
      const sections: [MetricName, MetricFilters][] = [
        ["velocity", quarter],
        ["time", quarter],
        ["efficiency", quarter],
        ["load", { ...base, sinceMs: endMs - 14 * DAY }],
        ["distribution", { ...base, sinceMs: endMs - 91 * DAY }],
        ["bottlenecks", { ...base, sinceMs: endMs - 91 * DAY }],
      ];
      for (const [name, filters] of sections) {
        context.out(`== ${name.toUpperCase()} ==\n`);
        context.out((await renderMetric(store, name, filters, "table", { top: 5 })) + "\n");
      }
      // The question a team asks after "how fast?": when will the next 50 features be done.
      context.out("== FORECAST ==\n");
      const forecast = await forecastWhen(store, { flowType: "feature", timezone: config.timezone, nowMs: endMs }, 50, forecastSettings(config.forecast));
      context.out(renderForecast(forecast) + "\n");
      if (options.serve) {
        const dashboard = await serveDashboard(context.config, store, (line) => context.err(line + "\n"));
        try {
          context.out(`The dashboard of the demo data: ${dashboard.url} (Ctrl-C to stop)\n`);
          options.onReady?.(dashboard.url);
          await (options.until ??
            new Promise<void>((resolve) => {
              process.once("SIGINT", resolve);
              process.once("SIGTERM", resolve);
            }));
        } finally {
          await dashboard.close();
        }
      }
    } finally {
      await store.close();
    }
    context.out(
      keep
        ? `The demo store is kept in ${dir}; try: flowpulse metrics velocity --data ${dir} --period month\n`
        : "Run with --data DIR to keep the demo store, then query it: flowpulse metrics velocity --data DIR\n",
    );
  } finally {
    if (!keep) rmSync(dir, { recursive: true, force: true });
  }
}
