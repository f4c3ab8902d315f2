// `npm run bench [-- --only core,other] [--items N] [--repeats N] [--keep]`: runs every section in
// bench/sections/ but the opt-in ones (or the chosen ones; `--scale [--scale-sizes N,N]` runs the
// scale section; `--scale-history` grows the history instead of the rate), writes bench/results/<section>-<timestamp>.json and
// bench/results/latest-<section>.json, and prints a table of figures and targets.
// Each section runs in its own child process: chDB binds one data directory per process, and a
// section's memory figures must not include another's.
import { spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import type { BenchResult, BenchSection } from "./types.ts";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const SECTIONS_DIR = path.join(HERE, "sections");
const RESULTS_DIR = path.join(HERE, "results");
// Sections a plain run leaves out: scale generates and imports up to 100M transitions (an hour on
// two cores and ~15 GB of disk), so it runs only when named.
const OPT_IN = ["scale"];

function sectionNames(): string[] {
  return readdirSync(SECTIONS_DIR)
    .filter((f) => f.endsWith(".ts"))
    .map((f) => f.slice(0, -3))
    .sort((a, b) => (a === "core" ? -1 : b === "core" ? 1 : a.localeCompare(b)));
}

async function loadSection(name: string): Promise<BenchSection> {
  const module = (await import(pathToFileURL(path.join(SECTIONS_DIR, `${name}.ts`)).href)) as Partial<BenchSection>;
  if (typeof module.run !== "function") throw new Error(`bench/sections/${name}.ts does not export run()`);
  return { name, description: module.description, run: module.run };
}

function table(result: BenchResult): string {
  const rows: [string, string][] = Object.entries(result.figures).map(([k, v]) => [k, v === null ? "-" : String(v)]);
  const width = Math.max(...rows.map(([k]) => k.length), 10);
  const lines = [`== ${result.section} (${Object.entries(result.params).map(([k, v]) => `${k}=${v}`).join(", ")}) ==`];
  for (const [k, v] of rows) lines.push(`  ${k.padEnd(width)}  ${v.padStart(12)}`);
  for (const t of result.targets) lines.push(`  ${t.pass ? "PASS" : "FAIL"}  ${t.name}: ${t.value} (target ${t.target})`);
  return lines.join("\n");
}

async function runChild(name: string, optionsJson: string): Promise<void> {
  // Child mode: run one section and print its result as the last stdout line.
  const section = await loadSection(name);
  const options = JSON.parse(optionsJson) as Record<string, unknown>;
  const result = await section.run({ ...options, log: (line) => process.stderr.write(`[${name}] ${line}\n`) });
  process.stdout.write(`\n${JSON.stringify(result)}\n`);
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      only: { type: "string" },
      items: { type: "string" },
      repeats: { type: "string" },
      keep: { type: "boolean" },
      scale: { type: "boolean" },
      "scale-sizes": { type: "string" },
      "scale-history": { type: "boolean" },
      "work-dir": { type: "string" },
      child: { type: "string" },
      "child-options": { type: "string" },
    },
  });
  if (values.child) {
    await runChild(values.child, values["child-options"] ?? "{}");
    return 0;
  }
  const available = sectionNames();
  const chosen = values.only
    ? values.only.split(",").map((s) => s.trim()).filter(Boolean)
    : values.scale ? ["scale"] : available.filter((s) => !OPT_IN.includes(s));
  const scaleSizes = values["scale-sizes"]?.split(",").map((s) => Number(s.trim()));
  if (scaleSizes?.some((n) => !Number.isInteger(n) || n < 10)) {
    process.stderr.write(`bench: --scale-sizes takes whole numbers of transitions, at least 10 each, e.g. 1000000,10000000\n`);
    return 2;
  }
  const unknown = chosen.filter((s) => !available.includes(s));
  if (unknown.length) {
    process.stderr.write(`bench: unknown section(s) ${unknown.join(", ")}; available: ${available.join(", ")}\n`);
    return 2;
  }
  const options = {
    items: values.items ? Number(values.items) : undefined,
    repeats: values.repeats ? Number(values.repeats) : undefined,
    keep: values.keep ?? false,
    scaleSizes,
    scaleHistory: values["scale-history"] ?? false,
    workDir: values["work-dir"],
  };
  mkdirSync(RESULTS_DIR, { recursive: true });
  let failed = 0;
  for (const name of chosen) {
    process.stderr.write(`bench: running ${name}...\n`);
    const child = spawnSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), "--child", name, "--child-options", JSON.stringify(options)], {
      stdio: ["ignore", "pipe", "inherit"],
      encoding: "utf8",
      maxBuffer: 64 * 1024 * 1024,
    });
    const last = child.stdout.trim().split("\n").pop() ?? "";
    let result: BenchResult;
    try {
      result = JSON.parse(last) as BenchResult;
    } catch {
      process.stderr.write(`bench: section ${name} failed (exit ${child.status})\n${child.stdout}\n`);
      failed++;
      continue;
    }
    const record = {
      ...result,
      at: new Date().toISOString(),
      machine: { cpus: os.cpus().length, cpu: os.cpus()[0]?.model ?? "", memory_gb: Math.round(os.totalmem() / 2 ** 30), node: process.version, platform: process.platform, loadavg_1m_after: Math.round(os.loadavg()[0]! * 100) / 100 },
    };
    const stamp = record.at.replace(/[:.]/g, "-");
    // The scale section's two modes answer different questions (a busier shop; a longer history):
    // each keeps its own latest result.
    const saved = name === "scale" && result.params.history !== "one year" ? "scale-history" : name;
    writeFileSync(path.join(RESULTS_DIR, `${saved}-${stamp}.json`), JSON.stringify(record, null, 2) + "\n");
    writeFileSync(path.join(RESULTS_DIR, `latest-${saved}.json`), JSON.stringify(record, null, 2) + "\n");
    process.stdout.write(table(result) + "\n\n");
  }
  return failed ? 1 : 0;
}

process.exitCode = await main();
