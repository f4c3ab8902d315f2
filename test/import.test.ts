// The streaming file import against a real embedded chDB store: exact counts, a hand-checked
// metric, rejections with file:line, CSV matching JSONL, and re-import changing nothing.
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { importFiles, ImportError } from "../connectors/file/import.ts";
import { MAX_RECORD_BYTES } from "../connectors/file/lines.ts";
import { distribution, efficiency, flowTime, velocity } from "../metrics/query.ts";
import type { MetricFilters } from "../metrics/api.ts";
import { openStore } from "../store/open.ts";
import type { Store } from "../store/store.ts";

const FIXTURES = fileURLToPath(new URL("./fixtures/import/", import.meta.url));
const fixture = (name: string) => path.join(FIXTURES, name);
const JANUARY: MetricFilters = { sinceMs: Date.UTC(2026, 0, 1), untilMs: Date.UTC(2026, 1, 1), period: "week", timezone: "UTC" };

let dir: string;
let store: Store;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), "fp-import-"));
  store = await openStore({ kind: "embedded", path: path.join(dir, "store") });
});

afterAll(async () => {
  await store?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function count(sql: string): Promise<number> {
  const [row] = await store.query<{ n: number }>(sql);
  return Number(row?.n);
}

/** Every metric figure of a stream, as one comparable value. */
async function figures(stream: string) {
  const filters = { ...JANUARY, stream };
  return {
    velocity: await velocity(store, filters),
    time: await flowTime(store, filters),
    efficiency: await efficiency(store, filters),
    distribution: await distribution(store, filters),
  };
}

describe("import", () => {
  it("imports JSONL with exact counts and hand-checked figures", async () => {
    const summary = await importFiles(store, [fixture("basic.jsonl")], { batchSize: 3, commitEvery: 4 });
    expect(summary).toMatchObject({ files: 1, items: 4, transitions: 11, rejected: 0 });
    expect(await count("SELECT count() AS n FROM work_items FINAL WHERE stream = 'alpha'")).toBe(4);
    expect(await count("SELECT count() AS n FROM transitions FINAL WHERE item_id LIKE 'fx:A-%'")).toBe(11);

    // A-1 (feature): active 01-06 09:00 -> review 01-07 09:00 (given as 04:00-05:00) -> done 01-08
    // 09:00 (epoch ms): flow 2 days, half active. A-2 (defect): 1 day, all active. A-3 is WIP and
    // A-4 canceled: neither delivered.
    const f = await figures("alpha");
    expect(f.velocity).toEqual([
      { period_start: "2026-01-05", flow_type: "defect", items: 1 },
      { period_start: "2026-01-05", flow_type: "feature", items: 1 },
    ]);
    expect(f.time.map((r) => [r.flow_type, r.p50_days])).toEqual([["defect", 1], ["feature", 2]]);
    expect(f.efficiency.map((r) => [r.flow_type, r.efficiency])).toEqual([["defect", 1], ["feature", 0.5]]);
    const wip = f.distribution.filter((r) => r.scope === "wip");
    expect(wip.map((r) => [r.flow_type, r.items])).toEqual([["feature", 1]]);
  });

  it("imports the same data from CSV (items and transitions files) with the same figures", async () => {
    const summary = await importFiles(store, [fixture("items.csv"), fixture("transitions.csv")]);
    expect(summary).toMatchObject({ files: 2, items: 4, transitions: 11, rejected: 0 });
    const beta = await figures("beta");
    const alpha = await figures("alpha");
    expect(beta).toEqual(alpha);
    // Quoting edge cases arrive intact: doubled quotes, a comma, a line break, blanks kept.
    const titles = await store.query<{ key: string; title: string; labels: string[]; deleted: number }>(
      "SELECT key, title, labels, deleted FROM work_items FINAL WHERE stream = 'beta' ORDER BY key",
    );
    expect(titles).toEqual([
      { key: "B-1", title: "Add export", labels: ["customer"], deleted: 0 },
      { key: "B-2", title: 'Fix "crash", on save', labels: [], deleted: 0 },
      { key: "B-3", title: "Two-line\ntitle, with comma", labels: ["customer", "urgent"], deleted: 0 },
      { key: "B-4", title: " padded ", labels: [], deleted: 0 },
    ]);
  });

  it("rejects malformed lines with file:line and a reason, and imports the rest", async () => {
    const summary = await importFiles(store, [fixture("bad.jsonl")]);
    expect(summary).toMatchObject({ items: 1, transitions: 3, rejected: 5 });
    const rejected = await store.query<{ reference: string; reason: string; payload: string }>(
      "SELECT reference, reason, payload FROM rejected_records WHERE reference LIKE '%bad.jsonl:%' ORDER BY length(reference), reference",
    );
    const byLine = rejected.map((r) => [r.reference.replace(/^.*bad\.jsonl:/, ""), r.reason]);
    expect(byLine).toEqual([
      ["2", expect.stringMatching(/^not valid JSON/)],
      ["4", 'at: timestamp "2026-01-06 09:00:00" has no UTC offset (add Z or ±HH:MM)'],
      ["5", 'kind: "comment" is not "item" or "transition"'],
      ["6", expect.stringMatching(/^to_flow_state: /)],
      ["9", 'created_at: timestamp "2026-02-30T09:00:00Z" is not a real date and time'],
    ]);
    expect(rejected[2]?.payload).toBe('{"kind":"comment","item_id":"fx:C-1","text":"hello"}');
    // The valid rest of the file made a delivered feature with one day of flow time.
    const time = await flowTime(store, { ...JANUARY, stream: "gamma" });
    expect(time.map((r) => [r.flow_type, r.items, r.p50_days])).toEqual([["feature", 1, 1]]);
  });

  it("changes no figure when the same files are imported again", async () => {
    const before = { alpha: await figures("alpha"), beta: await figures("beta") };
    const rows = "SELECT count() AS n FROM transitions FINAL";
    const transitionsBefore = await count(rows);
    const again = await importFiles(store, [fixture("basic.jsonl"), fixture("items.csv"), fixture("transitions.csv")]);
    expect(again).toMatchObject({ items: 8, transitions: 22, rejected: 0 });
    expect(await count(rows)).toBe(transitionsBefore);
    expect({ alpha: await figures("alpha"), beta: await figures("beta") }).toEqual(before);
  });

  it("reports a CSV row with the wrong number of cells and a file ending inside a quote", async () => {
    const file = path.join(dir, "broken.csv");
    writeFileSync(file, 'event_id,item_id,to_state,to_flow_state,at\nX#1,fx:X,To Do,new\nX#2,fx:X,"To Do,new,2026-01-05T09:00:00Z\n');
    const summary = await importFiles(store, [file]);
    expect(summary).toMatchObject({ transitions: 0, rejected: 2 });
    expect(summary.firstRejections.map((r) => [r.reference, r.reason])).toEqual([
      [`${file}:2`, "expected 5 cells, found 4"],
      [`${file}:3`, "a quoted cell opened on this line is never closed (the file ends inside it)"],
    ]);
  });

  it("refuses a CSV line with a stray quote on its own and imports every valid record after it", async () => {
    // The file: a stray quote on line 3 used to swallow lines 3-12 into one rejection.
    const file = path.join(dir, "stray.csv");
    const rows = Array.from({ length: 10 }, (_, n) => `S#${n},fx:S-1,,Step ${n},${n % 2 ? "waiting" : "active"},2026-01-05T0${n}:00:00Z`);
    rows[1] = 'S#1,fx:S-1,,"Step 1,waiting,2026-01-05T01:00:00Z';
    writeFileSync(file, ["event_id,item_id,from_state,to_state,to_flow_state,at", ...rows].join("\n") + "\n");
    const summary = await importFiles(store, [file], { batchSize: 3, commitEvery: 4 });
    expect(summary).toMatchObject({ read: 10, transitions: 9, rejected: 1 });
    expect(summary.firstRejections).toEqual([
      { source: "import", reference: `${file}:3`, reason: "a quoted cell opened on this line is never closed (the file ends inside it)", payload: rows[1] },
    ]);
    expect(await count("SELECT count() AS n FROM transitions FINAL WHERE item_id = 'fx:S-1'")).toBe(9);
  });

  it("resynchronises after a stray quote at the record cap, not at the end of the file, keeping every later record", async () => {
    // About 2 MB of valid rows after the stray quote: the open record reaches the 1 MiB cap long
    // before the file ends (a 600 MB file used to crash here with "Invalid string length").
    const file = path.join(dir, "stray-big.csv");
    const pad = "x".repeat(60);
    const at = (n: number) => new Date(Date.UTC(2026, 0, 5, 9) + n * 60_000).toISOString();
    const rows = Array.from({ length: 20_000 }, (_, n) => `Z#${n},fx:Z-${Math.floor(n / 4)},,Step ${n} ${pad},active,${at(n)}`);
    rows[3] = `Z#3,fx:Z-0,,"Step 3 ${pad},active,${at(3)}`;
    writeFileSync(file, ["event_id,item_id,from_state,to_state,to_flow_state,at", ...rows].join("\n") + "\n");
    const summary = await importFiles(store, [file]);
    expect(summary).toMatchObject({ read: rows.length, transitions: rows.length - 1, rejected: 1 });
    expect(summary.firstRejections.map((r) => [r.reference, r.reason])).toEqual([
      [`${file}:5`, "the record starting here grows past 1 MiB: is a quote left open?"],
    ]);
    expect(await count("SELECT count() AS n FROM transitions FINAL WHERE startsWith(item_id, 'fx:Z-')")).toBe(rows.length - 1);
  });

  it("refuses lines that are not UTF-8 (JSONL and CSV) instead of merging ids, and keeps the lines around them", async () => {
    const item = (id: string) => `{"kind":"item","item_id":"${id}","source":"fx","stream":"latin","key":"${id}","flow_type":"defect","created_at":"2026-01-05T09:00:00Z"}`;
    // Saved as Latin-1: Ä and Ö are one byte each (0xC4, 0xD6), which a lenient decoder turns into
    // the same U+FFFD, making one item of two.
    const jsonl = path.join(dir, "latin1.jsonl");
    writeFileSync(jsonl, Buffer.concat([
      Buffer.from(item("x:OK-1") + "\n"),
      Buffer.from(item("x:K\u00c4-1") + "\n", "latin1"),
      Buffer.from(item("x:K\u00d6-1") + "\n", "latin1"),
      Buffer.from(item("x:K\u00d6-2") + "\n"),
    ]));
    const summary = await importFiles(store, [jsonl]);
    expect(summary).toMatchObject({ read: 4, items: 2, rejected: 2 });
    expect(summary.firstRejections.map((r) => [r.reference, r.reason])).toEqual([
      [`${jsonl}:2`, "line is not UTF-8 (byte 0xC4 at column 30): save the file as UTF-8"],
      [`${jsonl}:3`, "line is not UTF-8 (byte 0xD6 at column 30): save the file as UTF-8"],
    ]);
    const csv = path.join(dir, "latin1.csv");
    writeFileSync(csv, Buffer.concat([
      Buffer.from("item_id,source,stream,key,flow_type,created_at\n"),
      Buffer.from("x:K\u00c4-9,fx,latin,K-9,risk,2026-01-05T09:00:00Z\n", "latin1"),
      Buffer.from("x:K\u00d6-9,fx,latin,K-9,risk,2026-01-05T09:00:00Z\n"),
    ]));
    const fromCsv = await importFiles(store, [csv]);
    expect(fromCsv).toMatchObject({ read: 2, items: 1, rejected: 1 });
    expect(fromCsv.firstRejections.map((r) => [r.reference, r.reason])).toEqual([[`${csv}:2`, "line is not UTF-8 (byte 0xC4 at column 4): save the file as UTF-8"]]);
    const ids = await store.query<{ item_id: string }>("SELECT item_id FROM work_items FINAL WHERE stream = 'latin' ORDER BY item_id");
    expect(ids.map((r) => r.item_id)).toEqual(["x:K\u00d6-2", "x:K\u00d6-9", "x:OK-1"]);
  });

  it("refuses a JSONL line longer than the record cap and goes on at the next line", async () => {
    const file = path.join(dir, "overlong.jsonl");
    const ok = (n: number) => `{"kind":"transition","event_id":"O#${n}","item_id":"fx:O-1","to_state":"Doing","to_flow_state":"active","at":"2026-01-05T09:00:00Z"}`;
    const long = `{"kind":"transition","event_id":"O#long","item_id":"fx:O-1","to_state":"${"x".repeat(MAX_RECORD_BYTES)}","to_flow_state":"active","at":"2026-01-05T09:00:00Z"}`;
    writeFileSync(file, [ok(1), long, ok(2)].join("\n") + "\n");
    const summary = await importFiles(store, [file]);
    expect(summary).toMatchObject({ read: 3, transitions: 2, rejected: 1 });
    expect(summary.firstRejections[0]?.reference).toBe(`${file}:2`);
    expect(summary.firstRejections[0]?.reason).toMatch(/^line is longer than 1 MiB/);
  });

  it("counts records that repeat an earlier one of their batch, in JSONL and CSV, and stores them once", async () => {
    const item = { kind: "item", item_id: "fx:D-1", source: "fx", stream: "dups", key: "D-1", flow_type: "feature", created_at: "2026-01-05T09:00:00Z" };
    const move = (n: number) => ({ kind: "transition", event_id: `D-1#${n}`, item_id: "fx:D-1", to_state: "Doing", to_flow_state: "active", at: `2026-01-05T1${n}:00:00Z` });
    const records = [item, move(0), move(1), move(0), item, move(1), move(2)];
    const jsonl = path.join(dir, "dups.jsonl");
    writeFileSync(jsonl, records.map((r) => JSON.stringify(r)).join("\n") + "\n");
    expect(await importFiles(store, [jsonl])).toMatchObject({ read: 7, items: 2, transitions: 5, repeats: { items: 1, transitions: 2 }, rejected: 0 });
    const columns = ["kind", "item_id", "source", "stream", "key", "flow_type", "created_at", "event_id", "to_state", "to_flow_state", "at"];
    const csv = path.join(dir, "dups.csv");
    writeFileSync(csv, [columns.join(","), ...records.map((r) => columns.map((c) => String((r as Record<string, unknown>)[c] ?? "")).join(","))].join("\n") + "\n");
    expect(await importFiles(store, [csv])).toMatchObject({ read: 7, items: 2, transitions: 5, repeats: { items: 1, transitions: 2 }, rejected: 0 });
    expect(await count("SELECT count() AS n FROM transitions FINAL WHERE item_id = 'fx:D-1'")).toBe(3);
  });

  it("reads JSONL with a byte order mark, CRLF line ends and no final newline", async () => {
    const file = path.join(dir, "windows.jsonl");
    const lines = [
      '{"kind":"item","item_id":"fx:W-1","source":"fx","stream":"delta","key":"W-1","flow_type":"risk","created_at":"2026-01-05T09:00:00Z"}',
      '{"kind":"transition","event_id":"W-1#0","item_id":"fx:W-1","to_state":"Open","to_flow_state":"active","at":"2026-01-05T09:00:00Z"}',
      '{"kind":"transition","event_id":"W-1#1","item_id":"fx:W-1","from_state":"Open","to_state":"Closed","to_flow_state":"done","at":"2026-01-05T21:00:00Z"}',
    ];
    writeFileSync(file, "\uFEFF" + lines.join("\r\n"));
    expect(await importFiles(store, [file])).toMatchObject({ items: 1, transitions: 2, rejected: 0 });
    const time = await flowTime(store, { ...JANUARY, stream: "delta" });
    expect(time.map((r) => [r.flow_type, r.p50_days])).toEqual([["risk", 0.5]]);
  });

  it("stores awkward text exactly as given: quotes, row separators, line breaks, non-ASCII", async () => {
    const file = path.join(dir, "awkward.jsonl");
    const title = 'He said "ship it"],[ then\nleft \\ for Zürich ✈ 😀';
    const state = "Prüfung ],[";
    const records = [
      { kind: "item", item_id: "fx:AWK-1", source: "fx", stream: "awkward", key: "AWK-1", title, labels: ["a,b", "c\"d"], flow_type: "feature", created_at: "2026-01-05T09:00:00Z" },
      { kind: "transition", event_id: "AWK-1#0", item_id: "fx:AWK-1", to_state: state, to_flow_state: "active", at: "2026-01-05T09:00:00Z" },
    ];
    writeFileSync(file, records.map((r) => JSON.stringify(r)).join("\n") + "\n");
    expect(await importFiles(store, [file])).toMatchObject({ items: 1, transitions: 1, rejected: 0 });
    const rows = await store.query<{ title: string; labels: string[]; to_state: string }>(
      "SELECT i.title AS title, i.labels AS labels, t.to_state AS to_state FROM work_items AS i FINAL INNER JOIN transitions AS t FINAL ON t.item_id = i.item_id WHERE i.item_id = 'fx:AWK-1'",
    );
    expect(rows).toEqual([{ title, labels: ["a,b", "c\"d"], to_state: state }]);
  });

  it("keeps order, counts and line numbers across a file much larger than one read chunk", async () => {
    // About 12 MB: the JSONL parse worker sends many packets and waits for credit, and small
    // batches flush in the middle of packets. Every 997th line is broken at a known place.
    const file = path.join(dir, "large.jsonl");
    const lines: string[] = [];
    const broken: number[] = [];
    const padding = "x".repeat(400);
    for (let n = 0; lines.length < 24_000; n++) {
      const id = `fx:L-${n}`;
      lines.push(JSON.stringify({ kind: "item", item_id: id, source: "fx", stream: "large", key: `L-${n}`, title: `${padding} ${n} \u00e9"`, flow_type: "feature", created_at: "2026-01-05T09:00:00Z" }));
      lines.push(JSON.stringify({ kind: "transition", event_id: `L-${n}#0`, item_id: id, to_state: "Doing", to_flow_state: "active", at: "2026-01-05T09:00:00Z" }));
      lines.push(JSON.stringify({ kind: "transition", event_id: `L-${n}#1`, item_id: id, from_state: "Doing", to_state: "Done", to_flow_state: "done", at: Date.UTC(2026, 0, 6, 9) }));
    }
    for (let i = 996; i < lines.length; i += 997) {
      lines[i] = `{"kind":"transition","broken":${i + 1}`;
      broken.push(i + 1);
    }
    writeFileSync(file, lines.join("\n") + "\n");
    // The worker spools each packet's rows under the temp directory; none may stay behind.
    const spoolParent = path.join(dir, "tmp");
    mkdirSync(spoolParent);
    const tmpdirBefore = process.env.TMPDIR;
    process.env.TMPDIR = spoolParent;
    let summary: Awaited<ReturnType<typeof importFiles>>;
    try {
      summary = await importFiles(store, [file], { batchSize: 1_000, commitEvery: 5_000, keepReasons: 3 });
    } finally {
      if (tmpdirBefore === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = tmpdirBefore;
    }
    // (tsx, which loads the worker, may keep its cache there too.)
    expect(readdirSync(spoolParent).filter((name) => name.startsWith("flowpulse-import-"))).toEqual([]);
    const items = lines.filter((l) => l.startsWith('{"kind":"item"')).length;
    expect(summary).toMatchObject({ items, transitions: lines.length - items - broken.length, rejected: broken.length });
    expect(summary.firstRejections.map((r) => r.reference)).toEqual(broken.slice(0, 3).map((line) => `${file}:${line}`));
    const rejected = await store.query<{ reference: string; payload: string }>(
      "SELECT reference, payload FROM rejected_records WHERE reference LIKE '%large.jsonl:%' ORDER BY length(reference), reference",
    );
    expect(rejected.map((r) => r.reference)).toEqual(broken.map((line) => `${file}:${line}`));
    expect(rejected.every((r) => r.payload === `{"kind":"transition","broken":${r.reference.split(":").pop()}`)).toBe(true);
    // Titles with escapes and non-ASCII text arrive intact; every item with a stored row is derived.
    const [title] = await store.query<{ title: string }>("SELECT title FROM work_items FINAL WHERE item_id = 'fx:L-7'");
    expect(title?.title).toBe(`${padding} 7 \u00e9"`);
    const stored = new Set(lines.filter((l) => !l.includes('"broken"')).map((l) => (JSON.parse(l) as { item_id: string }).item_id));
    expect(await count("SELECT count() AS n FROM item_flow FINAL WHERE item_id LIKE 'fx:L-%'")).toBe(stored.size);
  });

  it.each([2, 3])("splits a JSONL file between %i parse workers: line numbers continue, a correction in a later range wins", async (workers) => {
    // Every item's draft move is in the first third of the file and its correction (same item and
    // event id, new state and time) in the last third, so with 2 or 3 ranges the correction is read
    // by another worker than the draft. A byte order mark, blank lines, CRLF line ends, broken
    // lines in every range and no final newline test where ranges start and end.
    const prefix = `S${workers}`;
    const n = 300;
    const item = (k: number) => JSON.stringify({ kind: "item", item_id: `fx:${prefix}-${k}`, source: "fx", stream: `split${workers}`, key: `${prefix}-${k}`, flow_type: "feature", created_at: "2026-01-05T09:00:00Z" });
    const move = (k: number, state: string, hour: number) =>
      JSON.stringify({ kind: "transition", event_id: `${prefix}-${k}#1`, item_id: `fx:${prefix}-${k}`, to_state: state, to_flow_state: state === "Done" ? "done" : "active", at: new Date(Date.UTC(2026, 0, 6, hour)).toISOString() });
    const lines: string[] = [];
    for (let k = 0; k < n; k++) lines.push(item(k), move(k, "Draft", 9));
    for (let k = 0; k < n; k++) lines.push(JSON.stringify({ kind: "transition", event_id: `${prefix}-${k}#0`, item_id: `fx:${prefix}-${k}`, to_state: "Doing", to_flow_state: "active", at: "2026-01-05T10:00:00Z" }));
    for (let k = 0; k < n; k++) lines.push(move(k, "Done", 12));
    const broken: number[] = [];
    for (let i = 50; i < lines.length; i += 173) {
      lines[i] = `{"kind":"transition","broken":${i + 1}`;
      broken.push(i + 1);
    }
    for (let i = 7; i < lines.length; i += 211) lines[i] = "";
    const file = path.join(dir, `split-${workers}.jsonl`);
    writeFileSync(file, "\ufeff" + lines.join("\r\n"));
    const summary = await importFiles(store, [file], { parseWorkers: workers, batchSize: 64, commitEvery: 200 });
    const blank = lines.filter((l) => l === "").length;
    expect(summary.read).toBe(lines.length - blank);
    expect(summary.rejected).toBe(broken.length);
    const rejected = await store.query<{ reference: string }>("SELECT reference FROM rejected_records WHERE startsWith(reference, {f:String})", { f: `${file}:` });
    expect(rejected.map((r) => Number(r.reference.slice(file.length + 1))).sort((a, b) => a - b)).toEqual(broken);
    // Each surviving correction replaced its draft: the stored state is the one of the later line.
    const corrected = new Set(lines.filter((l) => l.includes('"Done"')).map((l) => (JSON.parse(l) as { item_id: string }).item_id));
    const drafts = new Set(lines.filter((l) => l.includes('"Draft"')).map((l) => (JSON.parse(l) as { item_id: string }).item_id));
    const states = await store.query<{ item_id: string; to_state: string }>(
      "SELECT item_id, to_state FROM transitions FINAL WHERE startsWith(item_id, {p:String}) AND event_id LIKE '%#1'",
      { p: `fx:${prefix}-` },
    );
    const expected = [...new Set([...corrected, ...drafts])].map((id) => ({ item_id: id, to_state: corrected.has(id) ? "Done" : "Draft" }));
    const byId = (a: { item_id: string }, b: { item_id: string }) => a.item_id.localeCompare(b.item_id);
    expect(states.sort(byId)).toEqual(expected.sort(byId));
    expect(corrected.size).toBeGreaterThan(n - 5);
  });

  // Seven rows per item against batches of five: without the item boundary, most units of work
  // would end inside an item and derive it twice.
  const groupedRecords = (prefix: string) =>
    Array.from({ length: 40 }, (_, n) => {
      const id = `fx:${prefix}-${n}`;
      const item = { kind: "item", item_id: id, source: "fx", stream: "grouped", key: `${prefix}-${n}`, flow_type: "feature", created_at: "2026-01-05T09:00:00Z" };
      const moves = Array.from({ length: 6 }, (_, step) => ({
        kind: "transition", event_id: `${prefix}-${n}#${step}`, item_id: id,
        to_state: step % 2 ? "Wait" : "Doing", to_flow_state: step % 2 ? "waiting" : "active", at: new Date(Date.UTC(2026, 0, 5, 9 + step)).toISOString(),
      }));
      return [item, ...moves];
    }).flat();

  const expectEachItemInOneUnit = async (prefix: string) => {
    const units = await store.query<{ item_id: string; units: string }>(
      "SELECT item_id, uniqExact(batch_id) AS units FROM refresh_queue WHERE startsWith(item_id, {p:String}) GROUP BY item_id HAVING units > 1",
      { p: `fx:${prefix}-` },
    );
    expect(units).toEqual([]);
    expect(await count(`SELECT count() AS n FROM state_intervals WHERE startsWith(item_id, 'fx:${prefix}-')`)).toBe(240);
    expect(await count(`SELECT uniqExact(item_id) AS n FROM refresh_queue WHERE startsWith(item_id, 'fx:${prefix}-')`)).toBe(40);
  };

  it("keeps each item of a JSONL file grouped by item in one unit of work, so every item is derived once", async () => {
    const file = path.join(dir, "grouped.jsonl");
    writeFileSync(file, groupedRecords("G").map((r) => JSON.stringify(r)).join("\n") + "\n");
    expect(await importFiles(store, [file], { batchSize: 5, commitEvery: 5 })).toMatchObject({ items: 40, transitions: 240, rejected: 0 });
    await expectEachItemInOneUnit("G");
  });

  it("keeps each item of a CSV file grouped by item in one unit of work too", async () => {
    const file = path.join(dir, "grouped.csv");
    const columns = ["kind", "item_id", "source", "stream", "key", "flow_type", "created_at", "event_id", "to_state", "to_flow_state", "at"];
    const rows = groupedRecords("H").map((r) => columns.map((c) => String((r as Record<string, unknown>)[c] ?? "")).join(","));
    writeFileSync(file, [columns.join(","), ...rows].join("\n") + "\n");
    expect(await importFiles(store, [file], { batchSize: 5, commitEvery: 5 })).toMatchObject({ items: 40, transitions: 240, rejected: 0 });
    await expectEachItemInOneUnit("H");
  });

  it("refuses a whole file it cannot use, before importing anything", async () => {
    await expect(importFiles(store, [fixture("basic.jsonl"), path.join(dir, "missing.jsonl")])).rejects.toThrow(ImportError);
    const header = path.join(dir, "header.csv");
    writeFileSync(header, "id,colour\n1,red\n");
    await expect(importFiles(store, [header])).rejects.toThrow(/header\.csv:1: unknown column\(s\) id, colour/);
    // A bad CSV header after a good file stops the import before the good file is read.
    const first = path.join(dir, "first.jsonl");
    writeFileSync(first, '{"kind":"transition","event_id":"F#1","item_id":"fx:F-1","to_state":"Doing","to_flow_state":"active","at":"2026-01-05T09:00:00Z"}\n');
    const stray = path.join(dir, "stray-header.csv");
    writeFileSync(stray, 'event_id,item_id,to_state,"to_flow_state,at\nF#2,fx:F-1,Doing,active,2026-01-05T09:00:00Z\n');
    await expect(importFiles(store, [first, stray])).rejects.toThrow(/stray-header\.csv:1: header: a quoted cell opened on this line/);
    const empty = path.join(dir, "empty.csv");
    writeFileSync(empty, "");
    await expect(importFiles(store, [first, empty])).rejects.toThrow(/empty\.csv: no header row/);
    expect(await count("SELECT count() AS n FROM transitions WHERE item_id = 'fx:F-1'")).toBe(0);
    await expect(importFiles(store, [path.join(dir, "data.txt")], {})).rejects.toThrow(ImportError);
  });
});
