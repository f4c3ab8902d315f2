// Scale section (issue 18): a year of a busy shop at 1M, 10M and 100M transitions. At each size, in
// a fresh child process (chDB binds one data directory per process): generate the JSONL file
// streaming, import it through the real import path (peak RSS sampled), then let the engine alone
// parse the same file into a plain MergeTree (the import's ceiling); compact as serve does; time
// every metric query and two `/flow` answers for the 90 days ending where the data ends, and each
// metric as one hand-written query on the derived table (the queries' ceiling). The parent prints
// each path against its ceiling and each query's growth from the second-largest size to the largest.
// Opt-in: `npm run bench -- --scale [--scale-sizes 1000000,10000000]` (or `--only scale`). Every
// size spans one year by default, so 10x the transitions is 10x the items in the window too;
// `--scale-history` spans ten years at 10x the smallest size instead (the same rate, so the same
// items in the window), which isolates what the history alone costs.
import { spawnSync } from "node:child_process";
import { closeSync, fsyncSync, mkdtempSync, openSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { computeAnswer } from "../../bot/answer.ts";
import { metricsFor } from "../../bot/metrics.ts";
import { importFiles } from "../../connectors/file/import.ts";
import type { MetricFilters, MetricName } from "../../metrics/api.ts";
import * as metrics from "../../metrics/query.ts";
import { compactDerived } from "../../pipeline/compact.ts";
import { deriveBatch } from "../../store/derive.ts";
import { openStore } from "../../store/open.ts";
import { nextVersion } from "../../store/versions.ts";
import { sqlFile } from "../../store/sql.ts";
import type { Store } from "../../store/store.ts";
import { toClickHouseTime } from "../../core/time.ts";
import { writeBenchJsonl } from "../generate.ts";
import type { BenchOptions, BenchResult, BenchTarget } from "../types.ts";
import { percentile } from "../stats.ts";

export const name = "scale";
export const description = "1M/10M/100M transitions: import vs the engine's own parse, 90-day metric queries vs direct queries, growth with history";

const MB = 1_048_576;
const DAY = 86_400_000;
const DEFAULT_SIZES = [1_000_000, 10_000_000, 100_000_000];
const WINDOW_DAYS = 90;
const FLOW_COMMANDS: MetricName[] = ["velocity", "bottlenecks"];
/** Transitions per commit of an import (connectors/file/import.ts), and so per unit of the derive alone. */
const IMPORT_COMMIT_TRANSITIONS = 500_000;

type Timing = { p50: number; p95: number };

/** What one size's child process measures. */
export interface SizeResult {
  transitions: number;
  /** Days the items arrive over. */
  days: number;
  items: number;
  fileMb: number;
  generateSeconds: number;
  importSeconds: number;
  importPerSecond: number;
  rejected: number;
  rssPeakMb: number;
  ceilingImportSeconds: number;
  ceilingImportPerSecond: number;
  /** CPU seconds of this process (every thread, the engine's included) for the import and the engine's own parse. */
  importCpuSeconds: number;
  ceilingImportCpuSeconds: number;
  /**
   * The engine alone deriving every imported item once, in units the size of an import's commit:
   * work the import must do that the engine's plain parse does not.
   */
  deriveAloneSeconds: number;
  deriveAloneCpuSeconds: number;
  /** Cores of this machine: with the engine's wall time they bound the CPU an import may use. */
  cores: number;
  compactSeconds: number;
  /** Per metric: our path and its direct query; p95 in ms. */
  queries: Record<string, { ours: Timing; ceiling: Timing }>;
  /** Per `/flow <metric>` answer (all of its queries, as computeAnswer runs them). */
  answers: Record<string, Timing>;
}

/** CPU seconds of this process (all threads) while `run` runs, and its wall seconds. */
async function measured(run: () => Promise<unknown>): Promise<{ seconds: number; cpuSeconds: number }> {
  const cpu = process.cpuUsage();
  const started = performance.now();
  await run();
  const used = process.cpuUsage(cpu);
  return { seconds: (performance.now() - started) / 1000, cpuSeconds: (used.user + used.system) / 1e6 };
}

/**
 * Derives every item of the store once, a unit at a time, as the import's commits do: the derive
 * work an import of the file cannot avoid, measured without reading or checking the file.
 */
async function deriveAlone(store: Store, data: { items: number; transitions: number }): Promise<void> {
  const prefix = "bench-derive-alone-";
  const itemsPerUnit = Math.max(1, Math.round((IMPORT_COMMIT_TRANSITIONS * data.items) / Math.max(1, data.transitions)));
  await store.command(sqlFile("bench/ceiling_derive_queue.sql"), { prefix, items_per_unit: itemsPerUnit });
  const units = await store.query<{ batch_id: string }>(sqlFile("bench/ceiling_derive_units.sql"), { prefix });
  for (const { batch_id } of units) await deriveBatch(store, batch_id, nextVersion());
}

async function time(run: () => Promise<unknown>, repeats: number): Promise<Timing> {
  await run(); // warm-up: the first run loads marks and compiles expressions
  const times: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const started = performance.now();
    await run();
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  return { p50: round(percentile(times, 0.5)), p95: round(percentile(times, 0.95)) };
}

/** One size, measured in this process (the child). */
export async function measureSize(
  transitions: number,
  options: { days: number; workDir?: string; repeats: number; keep?: boolean; log: (line: string) => void },
): Promise<SizeResult> {
  const { log, repeats } = options;
  const items = Math.max(1, Math.round(transitions / 10));
  const dir = mkdtempSync(path.join(options.workDir ?? os.tmpdir(), `fp-bench-scale-${transitions}-`));
  const file = path.join(dir, "bench.jsonl");
  // The data ends at the start of today, UTC, so the window's end is the data's end and `now`-based
  // figures (aging, WIP ages) stay close to it.
  const endMs = Math.floor(Date.now() / DAY) * DAY;
  let store: Store | undefined;
  try {
    const genStart = performance.now();
    const data = await writeBenchJsonl(file, { items, endMs, days: options.days });
    const generateSeconds = (performance.now() - genStart) / 1000;
    const fd = openSync(file, "r");
    fsyncSync(fd); // a user's file is on disk before the import; do not write it back during the timing
    closeSync(fd);
    log(`${transitions} over ${options.days} days: generated ${data.transitions} transitions (${(data.bytes / MB).toFixed(0)} MB) in ${generateSeconds.toFixed(0)} s`);

    store = await openStore({ kind: "embedded", path: path.join(dir, "store") });
    const open = store;
    let peak = process.memoryUsage().rss;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 100);
    let lastLog = 0;
    const importCpu = process.cpuUsage();
    const importStart = performance.now();
    const summary = await importFiles(store, [file], {
      onProgress: (p) => {
        if (p.elapsedMs - lastLog < 30_000) return;
        lastLog = p.elapsedMs;
        log(`  import ${((p.bytesRead / p.totalBytes) * 100).toFixed(0)}%: ${p.transitions} transitions, rss ${(process.memoryUsage().rss / MB).toFixed(0)} MB`);
      },
    });
    const importSeconds = (performance.now() - importStart) / 1000;
    const importCpuUsed = process.cpuUsage(importCpu);
    const importCpuSeconds = (importCpuUsed.user + importCpuUsed.system) / 1e6;
    clearInterval(sampler);
    peak = Math.max(peak, process.memoryUsage().rss);
    log(`  imported in ${importSeconds.toFixed(1)} s (${Math.round(summary.transitions / importSeconds)}/s), peak rss ${(peak / MB).toFixed(0)} MB`);

    // After our import, so its RSS figure holds none of the engine's memory from this step.
    await store.command(sqlFile("bench/ceiling_import_drop.sql"));
    await store.command(sqlFile("bench/ceiling_import_table.sql"));
    const ceiling = await measured(() => open.command(sqlFile("bench/ceiling_import.sql"), { file }));
    const ceilingImportSeconds = ceiling.seconds;
    const [parsed] = await store.query<{ transitions: string }>(sqlFile("bench/ceiling_import_count.sql"));
    if (Number(parsed?.transitions) !== data.transitions) throw new Error(`the ceiling table holds ${parsed?.transitions} transitions, not ${data.transitions}`);
    await store.command(sqlFile("bench/ceiling_import_drop.sql"));
    log(`  engine alone: ${ceilingImportSeconds.toFixed(1)} s (${Math.round(data.transitions / ceilingImportSeconds)}/s)`);
    rmSync(file, { force: true });
    const derived = await measured(() => deriveAlone(open, data));
    log(
      `  derive alone: ${derived.seconds.toFixed(1)} s; CPU s: import ${importCpuSeconds.toFixed(1)}, engine's parse ${ceiling.cpuSeconds.toFixed(1)}, derive alone ${derived.cpuSeconds.toFixed(1)}`,
    );

    const compactStart = performance.now();
    await compactDerived(store);
    const compactSeconds = (performance.now() - compactStart) / 1000;

    const window: MetricFilters & { sinceMs: number; untilMs: number } = { sinceMs: endMs - WINDOW_DAYS * DAY, untilMs: endMs, period: "week", timezone: "UTC" };
    const bound = { since: toClickHouseTime(window.sinceMs), until: toClickHouseTime(window.untilMs) };
    const direct = (file: string) => () => open.query(sqlFile(`bench/ceiling_${file}.sql`), bound);
    const pairs: [string, () => Promise<unknown>, () => Promise<unknown>][] = [
      ["velocity", () => metrics.velocity(open, window), direct("velocity")],
      ["flow time", () => metrics.flowTime(open, window), direct("flow_time")],
      ["efficiency", () => metrics.efficiency(open, window), direct("efficiency")],
      ["load", () => metrics.load(open, window), direct("load")],
      ["distribution", () => metrics.distribution(open, window), direct("distribution")],
      ["time in state", () => metrics.timeInState(open, window), direct("time_in_state")],
      ["queue growth", () => metrics.growingQueues(open, window), direct("queue_growth")],
      ["aging", () => metrics.aging(open, window), direct("aging")],
    ];
    const queries: SizeResult["queries"] = {};
    for (const [label, ours, ceiling] of pairs) {
      queries[label] = { ours: await time(ours, repeats), ceiling: await time(ceiling, repeats) };
      log(`  ${label}: p95 ${queries[label].ours.p95} ms (direct query ${queries[label].ceiling.p95} ms)`);
    }
    const bot = metricsFor(open, { timezone: "UTC" });
    const answers: SizeResult["answers"] = {};
    for (const metric of FLOW_COMMANDS) {
      answers[metric] = await time(() => computeAnswer(bot, metric, window, `last ${WINDOW_DAYS} days`), repeats);
      log(`  /flow ${metric}: p95 ${answers[metric].p95} ms`);
    }
    return {
      transitions: data.transitions,
      days: options.days,
      items: data.items,
      fileMb: Math.round(data.bytes / MB),
      generateSeconds: round(generateSeconds),
      importSeconds: round(importSeconds),
      importPerSecond: Math.round(summary.transitions / importSeconds),
      rejected: summary.rejected,
      rssPeakMb: Math.round(peak / MB),
      ceilingImportSeconds: round(ceilingImportSeconds),
      ceilingImportPerSecond: Math.round(data.transitions / ceilingImportSeconds),
      importCpuSeconds: round(importCpuSeconds),
      ceilingImportCpuSeconds: round(ceiling.cpuSeconds),
      deriveAloneSeconds: round(derived.seconds),
      deriveAloneCpuSeconds: round(derived.cpuSeconds),
      cores: os.availableParallelism(),
      compactSeconds: round(compactSeconds),
      queries,
      answers,
    };
  } finally {
    await store?.close();
    if (!options.keep) rmSync(dir, { recursive: true, force: true });
  }
}

/** Figures and targets from the sizes measured, smallest first. */
export function report(sizes: readonly SizeResult[]): Pick<BenchResult, "figures" | "targets"> {
  const figures: BenchResult["figures"] = {};
  const targets: BenchTarget[] = [];
  const count = (n: number) => (n >= 1e6 && n % 1e6 === 0 ? `${n / 1e6}M` : `${n}`);
  const label = (size: SizeResult) => (size.days === 365 ? count(size.transitions) : `${count(size.transitions)}/${size.days}d`);
  for (const size of sizes) {
    const at = label(size);
    const share = size.importPerSecond / size.ceilingImportPerSecond;
    // An import also derives what it stored, which the engine's plain parse does not: its share of
    // the engine doing that same work (parse, then derive every item once) shows what our own path
    // costs on top; and at half the parse's speed, an import may use at most 2 x the parse's wall
    // time on every core, against the CPU the engine alone needs to parse and derive.
    const sameWorkShare = (size.ceilingImportSeconds + size.deriveAloneSeconds) / size.importSeconds;
    Object.assign(figures, {
      [`${at} file MB`]: size.fileMb,
      [`${at} generate s`]: size.generateSeconds,
      [`${at} import s`]: size.importSeconds,
      [`${at} import transitions/s`]: size.importPerSecond,
      [`${at} engine-alone import transitions/s`]: size.ceilingImportPerSecond,
      [`${at} import % of engine alone`]: round(share * 100),
      [`${at} derive-alone s`]: size.deriveAloneSeconds,
      [`${at} import % of engine parse + derive alone`]: round(sameWorkShare * 100),
      [`${at} import cpu s`]: size.importCpuSeconds,
      [`${at} engine parse + derive alone cpu s`]: round(size.ceilingImportCpuSeconds + size.deriveAloneCpuSeconds),
      [`${at} cpu s available at 50% of engine alone`]: round(2 * size.ceilingImportSeconds * size.cores),
      [`${at} import peak rss MB`]: size.rssPeakMb,
      [`${at} rejected`]: size.rejected,
      [`${at} compact s`]: size.compactSeconds,
    });
    for (const [query, t] of Object.entries(size.queries)) {
      figures[`${at} ${query} p50 ms`] = t.ours.p50;
      figures[`${at} ${query} p95 ms`] = t.ours.p95;
      figures[`${at} ${query} direct p95 ms`] = t.ceiling.p95;
      figures[`${at} ${query} x direct`] = round(t.ours.p95 / t.ceiling.p95);
    }
    for (const [metric, t] of Object.entries(size.answers)) figures[`${at} /flow ${metric} p95 ms`] = t.p95;
    targets.push({ name: `${at}: import as % of the engine alone`, value: round(share * 100), target: ">= 50", pass: share >= 0.5 });
  }
  const largest = sizes.at(-1);
  const before = sizes.at(-2);
  if (largest) {
    const at = label(largest);
    targets.push({ name: `${at}: import peak RSS MB`, value: largest.rssPeakMb, target: "< 4096", pass: largest.rssPeakMb < 4096 });
    for (const [query, t] of Object.entries(largest.queries)) {
      targets.push({ name: `${at}: ${query} p95 ms, 90-day window`, value: t.ours.p95, target: "< 500", pass: t.ours.p95 < 500 });
      const earlier = before?.queries[query];
      if (before && earlier) {
        const growth = round(t.ours.p95 / earlier.ours.p95);
        figures[`${query} p95 growth ${label(before)} -> ${at}`] = growth;
        targets.push({ name: `${query} p95 growth ${label(before)} -> ${at}`, value: growth, target: "< 2", pass: growth < 2 });
      }
    }
    for (const [metric, t] of Object.entries(largest.answers)) {
      targets.push({ name: `${at}: /flow ${metric} answer p95 ms`, value: t.p95, target: "< 1000 (the bot's answer budget)", pass: t.p95 < 1000 });
    }
  }
  return { figures, targets };
}

export async function run(options: BenchOptions): Promise<BenchResult> {
  const sizes = options.scaleSizes ?? DEFAULT_SIZES;
  const repeats = options.repeats ?? 5;
  const log = options.log ?? (() => undefined);
  const smallest = Math.min(...sizes);
  const measured: SizeResult[] = [];
  let failed: number | undefined;
  for (const transitions of sizes) {
    const days = options.scaleHistory ? Math.round((365 * transitions) / smallest) : 365;
    log(`size ${transitions} transitions over ${days} days (load average ${os.loadavg()[0]?.toFixed(2)})`);
    const child = spawnSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), JSON.stringify({ transitions, days, workDir: options.workDir, repeats, keep: options.keep })], {
      stdio: ["ignore", "pipe", "inherit"],
      encoding: "utf8",
      maxBuffer: 64 * 1024 * 1024,
    });
    const last = child.stdout.trim().split("\n").pop() ?? "";
    if (child.status !== 0 || !last.startsWith("{")) {
      // The sizes already measured took long: report them, and say which size did not finish.
      log(`the ${transitions}-transition run failed (exit ${child.status ?? child.signal}); reporting the sizes before it`);
      failed = transitions;
      break;
    }
    measured.push(JSON.parse(last) as SizeResult);
  }
  if (measured.length === 0) throw new Error(`the ${failed}-transition run failed`);
  const params = { sizes: sizes.join(","), ...(failed ? { failed_at: failed } : {}), history: options.scaleHistory ? "grows with size" : "one year", repeats, window_days: WINDOW_DAYS };
  const { figures, targets } = report(measured);
  if (failed) targets.push({ name: `the ${failed}-transition size finished`, value: 0, target: "finished", pass: false });
  return { section: name, params, figures, targets };
}

const round = (n: number) => Math.round(n * 10) / 10;

// Child mode: `tsx bench/sections/scale.ts '{"transitions":N,...}'` measures one size and prints
// its result as the last stdout line.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const args = JSON.parse(process.argv[2] ?? "{}") as { transitions: number; days: number; workDir?: string; repeats: number; keep?: boolean };
  const result = await measureSize(args.transitions, { ...args, log: (line) => process.stderr.write(`[scale] ${line}\n`) });
  process.stdout.write(`\n${JSON.stringify(result)}\n`);
}
