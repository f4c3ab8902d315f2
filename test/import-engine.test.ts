// The engine's reading of JSONL (sql/ingest/stage_jsonl.sql) must only ever be a faster way to the
// rows the importer's own mapping gives: the same lines, tricky or random, imported through the
// engine and through the parse workers must store the same items and transitions and refuse the
// same lines for the same reasons. Both imports go into one store (chDB holds one data directory
// per process), their ids told apart by a prefix.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { importFiles, type ImportSummary } from "../connectors/file/import.ts";
import { prng } from "../connectors/file/sample.ts";
import type { Store } from "../store/store.ts";
import { freshStore } from "./helpers/store.ts";

let dir: string;
let store: Store;
let dispose: () => Promise<void>;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), "fp-import-engine-"));
  ({ store, dispose } = await freshStore());
});

afterAll(async () => {
  await dispose?.();
  rmSync(dir, { recursive: true, force: true });
});

const T = (over: Record<string, unknown> = {}) =>
  JSON.stringify({ kind: "transition", event_id: "E#1", item_id: "P:T-1", from_state: "", to_state: "Doing", to_flow_state: "active", at: "2026-03-01T10:15:31.000Z", ...over });
const I = (over: Record<string, unknown> = {}) =>
  JSON.stringify({ kind: "item", item_id: "P:I-1", source: "fx", stream: "software", key: "I-1", title: "An item", url: "https://x/I-1", flow_type: "feature", team: "a", labels: ["x"], created_at: "2026-03-01T10:15:31Z", ...over });

/** Lines that probe every difference between the engine's JSON reading and JSON.parse + zod. */
const TRICKY: (string | Buffer)[] = [
  T(), I(), T({ event_id: "E#2", at: "2026-03-01T10:15:31Z" }),
  T({ item_id: 5 }), T({ to_state: true }), I({ title: null }), I({ title: 7 }), I({ labels: ["a", 1] }), I({ labels: "a" }), I({ labels: ["a", null] }),
  I({ labels: [] }), I({ deleted: true }), I({ deleted: 1 }), I({ deleted: "true" }), I({ team: { name: "a" } }), I({ url: ["u"] }),
  '{"kind":"transition","event_id":"E#3","item_id":"P:T-2","item_id":"P:T-3","to_state":"Doing","to_flow_state":"active","at":"2026-03-01T10:15:31.000Z"}',
  '{"kind":"transition","event_id":"E#4","x":{"item_id":"P:T-4"},"to_state":"Doing","to_flow_state":"active","at":"2026-03-01T10:15:31.000Z"}',
  `${T({ event_id: "E#5" })} ${T({ event_id: "E#6" })}`,
  `${T({ event_id: "E#7" }).slice(0, -1)}`,
  '{"kind":"transition","event_id":"E#8","item_id":"P:T-5","to_state":"Do}',
  '{"kind":"transition","event_id":"E#9","item\\u005fid":"P:T-6","to_state":"Doing","to_flow_state":"active","at":"2026-03-01T10:15:31.000Z"}',
  T({ event_id: "E#10", title: 5, extra: [1, { a: null }] }),
  T({ event_id: "E#11", at: "2026-03-01T10:15:31.000+02:00" }), T({ event_id: "E#12", at: "2015-11-02T10:15:31.000-0500" }),
  T({ event_id: "E#13", at: 1767603600000 }), T({ event_id: "E#14", at: 1767603600 }), T({ event_id: "E#15", at: "2026-02-30T10:15:31.000Z" }),
  T({ event_id: "E#16", at: "0026-05-01T00:00:00.000Z" }), T({ event_id: "E#17", at: "1899-12-31T23:00:00.000Z" }), T({ event_id: "E#18", at: "2300-01-01T00:00:00.000Z" }),
  T({ event_id: "E#19", at: "2026-03-01t10:15:31.000z" }), T({ event_id: "E#20", at: "2026-03-01T10:15:31.000Z " }), T({ event_id: "E#21", at: "2026-03-01T10:15:31.000" }),
  T({ event_id: "E#22", at: "2026-03-01T24:00:00.000Z" }), T({ event_id: "E#23", at: "2026-03-01 10:15:31.000Z" }), T({ event_id: "E#24", at: "2026-03-01T10:15:31.5Z" }),
  T({ event_id: "E#25", at: 1e21 }), T({ event_id: "E#26", at: "2024-02-29T00:00:00.000Z" }), T({ event_id: "E#27", at: "1900-01-01T00:00:00Z" }), T({ event_id: "E#28", at: "2299-12-31T23:59:59.999Z" }),
  T({ event_id: " E#29" }), T({ event_id: "E#30\u00a0" }), T({ event_id: "" }), T({ to_flow_state: "doing", event_id: "E#31" }), T({ event_id: "E#32", from_state: 3 }),
  T({ event_id: "E#33", kind: "Transition" }), JSON.stringify({ event_id: "E#34" }), "{}", "[1]", "", "   ", "\t",
  T({ event_id: "E#35" }) + "\r", I({ item_id: "P:KÄ-1", key: "KÄ-1" }), I({ item_id: "P:KÖ-1", key: "KÖ-1" }),
  Buffer.concat([Buffer.from(I({ item_id: "P:L-1", key: "L-" }).slice(0, -2)), Buffer.from([0x4b, 0xc4, 0x2d, 0x31]), Buffer.from('"}')]),
  I({ title: 'quote " and \\ backslash\nnewline\ttab' }), I({ item_id: "P:I-2", title: "lone \ud800 surrogate" }), I({ item_id: "P:I-3", title: "emoji 😀" }),
  T({ event_id: "E#1", at: "2026-03-02T10:15:31.000Z" }), I({ title: "corrected title" }), T({ event_id: "E#36", at: "2026-03-01T10:15:31.000Z" }),
  `{ "kind" : "transition" , "event_id" : "E#37" , "item_id" : "P:T-7" , "to_state" : "Doing" , "to_flow_state" : "active" , "at" : "2026-03-01T10:15:31.000Z" }`,
  T({ event_id: "E#38", unknown: "x", nested: { deep: [1, 2, { x: "y" }] } }), T({ event_id: "E#39", from_state: "null" }),
  T({ event_id: "E#40", _line: 3 }), T({ event_id: "E#41", _end: 99 }),
  // JSON that JSON.parse refuses but a lenient reader might take, in known and in skipped members.
  T({ event_id: "E#42" }).replace('"to_state":"Doing"', "'to_state':'Doing'"), T({ event_id: "E#43" }).replace('"to_state"', "to_state"),
  T({ event_id: "E#44" }).slice(0, -1) + ",}", T({ event_id: "E#45" }).slice(0, -1) + ',"extra":01}', T({ event_id: "E#46" }).slice(0, -1) + ',"extra":NaN}',
  T({ event_id: "E#47" }).slice(0, -1) + ',"extra":Infinity}', T({ event_id: "E#48" }).slice(0, -1) + ',"extra":[1,]}', T({ event_id: "E#49" }).slice(0, -1) + ',"extra":{"a":1,}}',
  T({ event_id: "E#50" }).slice(0, -1) + ',"extra":tru}', T({ event_id: "E#51" }).slice(0, -1) + ',"extra":"unterminated}', T({ event_id: "E#52" }).slice(0, -1) + ',"extra":1e}',
  T({ event_id: "E#53" }).slice(0, -1) + ',"extra":"\x41"}', T({ event_id: "E#54" }).slice(0, -1) + ',"extra":"tab\there"}', T({ event_id: "E#55" }).slice(0, -1) + ',"extra":+1}',
  T({ event_id: "E#56" }).slice(0, -1) + ',"extra":.5}', T({ event_id: "E#57" }).slice(0, -1) + ',"extra":0x10}', T({ event_id: "E#58" }).slice(0, -1) + ',"extra":"a"/*c*/}',
  T({ event_id: "E#59" }).slice(0, -1) + ',"extra":"raw	tab"}', T({ event_id: "E#60" }).replace('"Doing"', '"Do\\ing"'), T({ event_id: "E#61" }).replace('"Doing"', '"Do\\/ing"'),
  T({ event_id: "E#62", at: "2026-03-01T10:15:31.000Z" }).replace("2026-03-01T10:15:31.000Z", "2026-03-01T10:15:31\u002e000Z"),
];
// A line holding two objects, each given the mark the importer puts at the other end: marked, it
// would read as two rows that both name this line. JSON.parse refuses it; so must the engine.
{
  const line = TRICKY.length + 1;
  const tail = T({ event_id: "E#64", item_id: "P:T-9" }).slice(1);
  TRICKY.push(`${T({ event_id: "E#63", item_id: "P:T-8" }).slice(0, -1)},"_end":${line}},{"_line":${line},${tail}`);
}

function linesFor(prefix: string, lines: readonly (string | Buffer)[]): Buffer {
  // The prefix goes into every id, so both imports' rows can share one store.
  return Buffer.concat(lines.map((line) => Buffer.concat([Buffer.from(Buffer.isBuffer(line) ? line : Buffer.from(line)).toString("latin1").includes('"P:') ? Buffer.from(Buffer.from(line).toString("latin1").replaceAll('"P:', `"${prefix}:`), "latin1") : Buffer.from(line), Buffer.from("\n")])));
}

async function stored(prefix: string, file: string) {
  const strip = (id: string) => id.replace(new RegExp(`^${prefix}:`), "P:");
  const items = await store.query<Record<string, unknown>>(
    "SELECT item_id, source, stream, key, title, url, flow_type, team, labels, created_at, source_type, deleted FROM work_items FINAL WHERE startsWith(item_id, {p:String}) ORDER BY item_id",
    { p: `${prefix}:` },
  );
  const transitions = await store.query<Record<string, unknown>>(
    "SELECT event_id, item_id, from_state, to_state, to_flow_state, at FROM transitions FINAL WHERE startsWith(item_id, {p:String}) ORDER BY item_id, event_id",
    { p: `${prefix}:` },
  );
  const rejected = await store.query<{ line: string; reason: string }>(
    "SELECT splitByChar(':', reference)[-1] AS line, reason FROM rejected_records WHERE startsWith(reference, {f:String}) ORDER BY toUInt64(line)",
    { f: `${file}:` },
  );
  return {
    items: items.map((row) => ({ ...row, item_id: strip(String(row.item_id)) })),
    transitions: transitions.map((row) => ({ ...row, item_id: strip(String(row.item_id)) })),
    // A reason may quote the line, prefix included.
    rejected: rejected.map((row) => ({ ...row, reason: row.reason.replaceAll(`${prefix}:`, "P:") })),
  };
}

async function importBoth(name: string, lines: readonly (string | Buffer)[], chunkBytes: number) {
  const results: { summary: ImportSummary; rows: Awaited<ReturnType<typeof stored>> }[] = [];
  for (const [prefix, engineReads] of [[`zz${name}e`, true], [`zz${name}w`, false]] as const) {
    const file = path.join(dir, `${prefix}.jsonl`);
    writeFileSync(file, linesFor(prefix, lines));
    const summary = await importFiles(store, [file], { engineReads, chunkBytes });
    results.push({ summary, rows: await stored(prefix, file) });
  }
  const [engine, workers] = results as [(typeof results)[0], (typeof results)[0]];
  return { engine, workers };
}

const counts = (s: ImportSummary) => ({ read: s.read, items: s.items, transitions: s.transitions, rejected: s.rejected });

describe("JSONL read by the engine", () => {
  it("stores and refuses exactly what the parse workers do, line for line, on every tricky shape", async () => {
    const { engine, workers } = await importBoth("t", TRICKY, 1 << 20);
    expect(engine.rows.transitions.length, "the good lines are stored").toBeGreaterThan(10);
    expect(engine.summary.byEngine, "the engine read the plain ones itself").toBeGreaterThanOrEqual(15);
    expect(workers.summary.byEngine).toBe(0);
    expect(engine.rows.rejected.length, "the bad lines are refused").toBeGreaterThan(20);
    expect(engine.rows).toEqual(workers.rows);
    expect(counts(engine.summary)).toEqual(counts(workers.summary));
  }, 120_000);

  it("gives the same rows however the file is cut into chunks", async () => {
    for (const chunkBytes of [64, 300, 1000]) {
      const { engine, workers } = await importBoth(`c${chunkBytes}`, TRICKY, chunkBytes);
      expect(engine.rows, `chunks of ${chunkBytes} bytes`).toEqual(workers.rows);
      // Many chunks' stages wait in the sink and are copied together: none is left behind.
      const [left] = await store.query<{ stages: string | number }>("SELECT count() AS stages FROM system.tables WHERE database = currentDatabase() AND startsWith(name, 'import_stage_')");
      expect(Number(left?.stages), `stages left after chunks of ${chunkBytes} bytes`).toBe(0);
    }
  }, 240_000);

  it("agrees on random mutations of valid lines (seeded)", async () => {
    const random = prng(42);
    const pick = <X>(xs: readonly X[]) => xs[Math.floor(random() * xs.length)] as X;
    const values = [null, true, 1, -0.5, "", " ", "x", "2026-03-01T10:15:31Z", "2026-13-01T00:00:00.000Z", [], ["a"], { a: 1 }, "done", "new"];
    const lines: string[] = [];
    for (let n = 0; n < 400; n++) {
      const base = JSON.parse(random() < 0.7 ? T({ event_id: `R#${n % 50}`, item_id: `P:R-${n % 30}` }) : I({ item_id: `P:R-${n % 30}` })) as Record<string, unknown>;
      const keys = Object.keys(base);
      for (let m = Math.floor(random() * 3); m > 0; m--) {
        const roll = random();
        if (roll < 0.5) base[pick(keys)] = pick(values);
        else if (roll < 0.7) delete base[pick(keys)];
        else base[`extra${m}`] = pick(values);
      }
      let text = JSON.stringify(base);
      if (random() < 0.05) text = text.slice(0, Math.floor(random() * text.length));
      lines.push(text);
    }
    // And bytes that matter to a JSON reader put in, taken out or swapped anywhere in a line.
    const SYNTAX = ['"', "'", ",", ":", "{", "}", "[", "]", " ", "\t", "\\", "0", "1", "-", "+", ".", "e", "n", "u", "l", "t", "/", "*", "\u00e9"];
    for (let n = 0; n < 600; n++) {
      let text = random() < 0.7 ? T({ event_id: `F#${n % 40}`, item_id: `P:F-${n % 25}` }) : I({ item_id: `P:F-${n % 25}` });
      for (let m = 1 + Math.floor(random() * 2); m > 0; m--) {
        const at = Math.floor(random() * text.length);
        const roll = random();
        if (roll < 0.4) text = text.slice(0, at) + pick(SYNTAX) + text.slice(at);
        else if (roll < 0.7) text = text.slice(0, at) + text.slice(at + 1);
        else text = text.slice(0, at) + pick(SYNTAX) + text.slice(at + 1);
      }
      lines.push(text);
    }
    const { engine, workers } = await importBoth("r", lines, 2000);
    expect(engine.rows.transitions.length).toBeGreaterThan(10);
    expect(engine.summary.byEngine, "the engine read a good share itself").toBeGreaterThan(100);
    expect(engine.rows.rejected.length).toBeGreaterThan(10);
    expect(engine.rows).toEqual(workers.rows);
    expect(counts(engine.summary)).toEqual(counts(workers.summary));
  }, 120_000);
});
