// A store holding the benchmark data set (bench/generate.ts) imported through the real import path,
// for the sections that time reads at 1M items / 10M transitions (dashboard, forecasts, analysts'
// SQL). Building it takes minutes, so it is built once and reused by every section of a run (and
// by later runs the same day): the directory's name carries the size, the day the data ends and
// the schema, and a marker written last says the import finished. Sections open it in turn, each
// in its own child process (chDB binds one data directory per process).
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { importFiles } from "../connectors/file/import.ts";
import { openStore } from "../store/open.ts";
import { writeBenchJsonl } from "./generate.ts";

const DAY = 86_400_000;
const SCHEMA_DIR = fileURLToPath(new URL("../sql/schema/", import.meta.url));
const COMPLETE = "seeded.json";

export interface SeededStore {
  /** The store's data directory: open it with `openStore({ kind: "embedded", path })`. */
  path: string;
  items: number;
  transitions: number;
  /** Where the generated data's newest activity ends (about the start of today, UTC). */
  endMs: number;
  /** Whether this call built it (false: reused from an earlier section or run). */
  built: boolean;
}

/**
 * The seeded store for `items` items (10 transitions each), built under `workDir` if no finished
 * one is there. Its data ends at the start of today (UTC), so "the last 90 days" means the same
 * rows all day.
 */
export async function seededStore(options: { items: number; workDir?: string; log?: (line: string) => void }): Promise<SeededStore> {
  const log = options.log ?? (() => undefined);
  const endMs = Math.floor(Date.now() / DAY) * DAY;
  const schema = readdirSync(SCHEMA_DIR).filter((f) => f.endsWith(".sql")).sort().at(-1)?.replace(/\.sql$/, "") ?? "none";
  const dir = path.join(options.workDir ?? os.tmpdir(), `fp-bench-seeded-${options.items}-${new Date(endMs).toISOString().slice(0, 10)}-${schema}`);
  const marker = path.join(dir, COMPLETE);
  if (existsSync(marker)) {
    const done = JSON.parse(readFileSync(marker, "utf8")) as { transitions: number };
    log(`reusing the seeded store ${dir}`);
    return { path: path.join(dir, "store"), items: options.items, transitions: done.transitions, endMs, built: false };
  }
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, "bench.jsonl");
  const started = performance.now();
  const data = await writeBenchJsonl(file, { items: options.items, endMs });
  log(`seeded store: generated ${data.items} items / ${data.transitions} transitions`);
  const store = await openStore({ kind: "embedded", path: path.join(dir, "store") });
  try {
    const summary = await importFiles(store, [file]);
    log(`seeded store: imported ${summary.transitions} transitions in ${((performance.now() - started) / 1000).toFixed(0)} s (generation included)`);
  } finally {
    await store.close();
    rmSync(file, { force: true });
  }
  writeFileSync(marker, JSON.stringify({ items: data.items, transitions: data.transitions, endMs }));
  return { path: path.join(dir, "store"), items: data.items, transitions: data.transitions, endMs, built: true };
}
