// Property test of the import against real chDB: random valid histories (the demo generator) are
// written as JSONL and as CSV with random bad lines, exact duplicates and corrections (a draft of a
// record that a later line replaces) mixed in, and imported in random batch sizes. Every metric must
// equal a clean import of only the valid final records, and every bad line must be in
// rejected_records with its file:line and a reason. JSONL files are split between a random number
// of parse workers, or read by the engine in small chunks. Seeded: a failure names its seed and reproduces.
// test/import-kill-property.test.ts does the same through real processes killed midway, with and
// without serve.
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { importFiles, type ImportOptions } from "../connectors/file/import.ts";
import { prng } from "../connectors/file/sample.ts";
import type { Store } from "../store/store.ts";
import { allMetrics, badLineNumbers, history, scenario, writeLines } from "./helpers/dirty-files.ts";
import { freshStore } from "./helpers/store.ts";

const SEEDS = [101, 202, 303];

let dir: string;
let store: Store;
let dispose: () => Promise<void>;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), "fp-import-prop-"));
  ({ store, dispose } = await freshStore());
});

afterAll(async () => {
  await dispose?.();
  rmSync(dir, { recursive: true, force: true });
});

const strip = (id: string) => id.replace(/^[^:]+:/, "");

/** allMetrics with item ids made comparable across the stores' tags (aging lists them). */
async function metricsOf(stream: string) {
  const metrics = await allMetrics(store, stream);
  return { ...metrics, aging: metrics.aging.map((row) => ({ ...row, item_id: strip(row.item_id) })) };
}

async function importDirty(file: string, options: ImportOptions) {
  return importFiles(store, [file], options);
}

describe("import property: bad lines refused one by one, corrections win, metrics as a clean import", () => {
  it.each(SEEDS)("seed %i", async (seed) => {
    const random = prng(seed);
    // The clean reference: only the valid records, once each, default batches.
    const cleanTag = `c${seed}`;
    const clean = history(seed, cleanTag);
    const cleanFile = path.join(dir, `${cleanTag}.jsonl`);
    writeLines(cleanFile, "jsonl", clean.map((r) => ({ bytes: Buffer.from(JSON.stringify(r)) })));
    expect(await importFiles(store, [cleanFile])).toMatchObject({ rejected: 0 });
    const expected = await metricsOf(cleanTag);
    expect(expected.velocity.length, "the sample delivers something").toBeGreaterThan(0);

    for (const format of ["jsonl", "csv"] as const) {
      const tag = `${format === "jsonl" ? "j" : "v"}${seed}`;
      const { lines } = scenario(seed, tag, format, { corrections: 0.05 });
      expect(lines.some((l) => l.draft), "the file corrects some records").toBe(true);
      const file = path.join(dir, `${tag}.${format}`);
      writeLines(file, format, lines);
      // JSONL files are also split between 1-3 parse workers: a correction in a later worker's range
      // must still win, and line numbers must continue across ranges.
      // JSONL goes through the engine (in chunks of a few hundred bytes, so records meet chunk
      // ends anywhere) or through the parse workers, at random.
      const options = {
        batchSize: 1 + Math.floor(random() * 60), commitEvery: 1 + Math.floor(random() * 200), parseWorkers: 1 + Math.floor(random() * 3),
        engineReads: random() < 0.5, chunkBytes: 200 + Math.floor(random() * 4000),
      };
      const where = `seed ${seed}, ${format}, ${JSON.stringify(options)}`;
      const summary = await importDirty(file, options);

      const badLines = badLineNumbers(format, lines);
      expect(badLines.length, where).toBeGreaterThan(0);
      expect(summary.read, where).toBe(lines.length);
      expect(summary.rejected, where).toBe(badLines.length);
      const rejected = await store.query<{ reference: string; reason: string }>(
        "SELECT reference, reason FROM rejected_records WHERE startsWith(reference, {prefix:String})",
        { prefix: `${file}:` },
      );
      const byLine = new Map(rejected.map((r) => [Number(r.reference.slice(file.length + 1)), r.reason]));
      expect([...byLine.keys()].sort((a, b) => a - b), where).toEqual(badLines.map(([line]) => line));
      for (const [line, kind] of badLines) expect(byLine.get(line), `${where}: line ${line} (${kind})`).toMatch(/\w/);

      expect(await metricsOf(tag), where).toEqual(JSON.parse(JSON.stringify(expected).replaceAll(cleanTag, tag)));
    }
  }, 120_000);
});
