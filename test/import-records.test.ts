// Pure mapping of import rows: the fast path must agree with the zod schemas, and CSV parsing must
// handle RFC 4180 quoting.
import { describe, expect, it } from "vitest";
import { TransitionSchema, WorkItemSchema } from "../core/model.ts";
import { Readable } from "node:stream";
import { byteLineBatches, firstInvalidUtf8, MAX_RECORD_BYTES, type Line } from "../connectors/file/lines.ts";
import { CsvRecordReader, csvCell, csvLayout, mapCsvRow, mapJsonLine, mapObject, RepeatCounter, type CsvOutcome } from "../connectors/file/records.ts";
import { prng } from "../connectors/file/sample.ts";

const item = {
  kind: "item", item_id: "x:1", source: "x", stream: "s", key: "K-1", title: "T", url: "u", flow_type: "defect",
  team: "core", labels: ["a"], created_at: "2026-01-05T09:00:00.000Z", source_type: "Bug", deleted: false,
};
const transition = {
  kind: "transition", event_id: "e1", item_id: "x:1", from_state: "To Do", to_state: "In Progress",
  to_flow_state: "active", at: "2026-01-05T09:00:00.000Z",
};

function readAll(lines: string[]): string[][] {
  const outcomes = readOutcomes(lines);
  expect(outcomes.filter((o) => !o.ok)).toEqual([]);
  return outcomes.map((o) => (o.ok ? o.cells : []));
}

/** Every outcome of reading `lines` (numbered from 1) to the end, in the order the reader gave them. */
function readOutcomes(lines: Line[], expectedCells = 0, maxBytes?: number): CsvOutcome[] {
  const reader = new CsvRecordReader(maxBytes);
  reader.expectedCells = expectedCells;
  const out: CsvOutcome[] = [];
  lines.forEach((line, i) => reader.feed(line, i + 1, out));
  reader.end(out);
  expect(reader.pending).toBe(false);
  return out;
}

const brief = (outcomes: CsvOutcome[]) => outcomes.map((o) => (o.ok ? `${o.line}: ${o.cells.join("|")}` : `${o.line}! ${o.reason}`));

describe("mapObject", () => {
  it("gives the same records as the zod schemas, fast path or not", () => {
    const variants: Record<string, unknown>[] = [
      item,
      { ...item, labels: undefined, deleted: undefined, title: undefined },
      { ...item, created_at: "2026-01-05T04:00:00-05:00" },
      { ...item, created_at: 1767603600000 },
      { ...item, item_id: "  x:1  " }, // zod trims: the fast path must hand this to zod
      // ...and trims Unicode blanks too (no-break space, line separator, byte order mark).
      { ...item, key: "\u00a0K-1", team: "core" },
      { ...transition, event_id: "e-1\u2028", to_state: "\ufeffDoing" },
      transition,
      { ...transition, from_state: undefined },
      { ...transition, at: "2024-02-29T23:59:59.999Z" },
    ];
    for (const v of variants) {
      const result = mapObject(v);
      expect(result.ok, JSON.stringify(v)).toBe(true);
      if (!result.ok) continue;
      const expected = v.kind === "item" ? WorkItemSchema.parse(v) : TransitionSchema.parse(v);
      const got = result.record.kind === "item" ? result.record.item : result.record.transition;
      expect(got).toEqual(expected);
    }
  });

  it("refuses impossible ISO dates that Date.parse would roll over", () => {
    for (const at of ["2025-02-29T10:00:00.000Z", "2026-04-31T10:00:00.000Z", "2026-01-01T24:00:00.000Z"]) {
      const result = mapObject({ ...transition, at });
      expect(result.ok, at).toBe(false);
      if (!result.ok) expect(result.reason).toMatch(/^at: .*not a real date/);
    }
  });

  it("says what is wrong, field by field", () => {
    const cases: [unknown, RegExp][] = [
      [{ ...transition, to_flow_state: "started" }, /^to_flow_state: /],
      [{ ...transition, at: "2026-01-06 09:00:00" }, /at: .*no UTC offset/],
      [{ ...item, flow_type: "" }, /^flow_type: /],
      [{ ...item, kind: "comment" }, /kind: "comment" is not/],
      [{ ...item, kind: undefined }, /kind: missing/],
      [[1, 2], /expected a JSON object/],
    ];
    for (const [input, reason] of cases) {
      const result = mapObject(input);
      expect(result.ok).toBe(false);
      if (!result.ok) expect(result.reason).toMatch(reason);
    }
    const bad = mapJsonLine('{"kind":"item",');
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.reason).toMatch(/^not valid JSON/);
  });
});

describe("CSV", () => {
  it("reads quoted commas, doubled quotes, empty cells and line breaks inside quotes", () => {
    const rows = readAll([
      'a,"b, with comma","say ""hi""",,"",e',
      '"multi',
      'line, cell",x',
      ' "spaced quote" ,plain',
      "",
      "   ",
    ]);
    expect(rows).toEqual([
      ["a", "b, with comma", 'say "hi"', "", "", "e"],
      ["multi\nline, cell", "x"],
      ["spaced quote", "plain"],
    ]);
  });

  it("refuses a quote inside an unquoted cell, and text after a closing quote, each on its own", () => {
    expect(brief(readOutcomes(['a,b"c,d', 'e,"f"g,h', 'i,"j" ,k'], 3))).toEqual([
      "1! cell 2: a quote inside an unquoted cell (quote the whole cell and write the quote as \"\")",
      '2! cell 2: text after the closing quote (a quote inside a quoted cell is written "")',
      "3: i|j|k",
    ]);
  });

  it("refuses only the first line of a record whose quote never closes, and reads every line after it again", () => {
    // One stray quote on line 2 used to swallow the rest of the file into one rejected record.
    const lines = ["a,b,c", 'd,"e,f', "g,h,i", "j,k,l"];
    const outcomes = readOutcomes(lines, 3);
    expect(brief(outcomes)).toEqual([
      "1: a|b|c",
      "2! a quoted cell opened on this line is never closed (the file ends inside it)",
      "3: g|h|i",
      "4: j|k|l",
    ]);
    expect(outcomes[1]).toMatchObject({ text: 'd,"e,f' });
  });

  it("resynchronises when the stray quote closes later in a malformed or wrong-sized record", () => {
    // Line 4's quote closes line 2's: the record is malformed (text after the quote), so line 2
    // is refused and 3 and 4 are read again (4 opens a quote of its own that never closes).
    expect(brief(readOutcomes(['d,"e,f', "g,h,i", 'j,"k,l', "m,n,o"], 3))).toEqual([
      "1! a quoted cell opened on this line ends in a malformed record on line 3 (cell 2: text after the closing quote (a quote inside a quoted cell is written \"\"))",
      "2: g|h|i",
      "3! a quoted cell opened on this line is never closed (the file ends inside it)",
      "4: m|n|o",
    ]);
    // Closes cleanly but with five cells where three belong: refused at its first line.
    expect(brief(readOutcomes(['d,"e', 'f",g,h,i', "x,y,z"], 3))).toEqual([
      "1! a quoted cell opened on this line closes on line 2 with 5 cells, expected 3: is a quote left open?",
      "2! cell 1: a quote inside an unquoted cell (quote the whole cell and write the quote as \"\")",
      "3: x|y|z",
    ]);
  });

  it("keeps a well-formed record that spans lines, numbered by its first line", () => {
    const outcomes = readOutcomes(["a,b,c", 'd,"two', 'lines, "" and quote",f', "g,h,i"], 3);
    expect(brief(outcomes)).toEqual(["1: a|b|c", '2: d|two\nlines, " and quote|f', "4: g|h|i"]);
    expect(outcomes[1]).toMatchObject({ text: 'd,"two\nlines, "" and quote",f' });
  });

  it("never holds more than the record cap: a record growing past it is refused at its first line", () => {
    const long = "x".repeat(40);
    const lines = ["a,b,c", 'd,"e', long, long, long, "g,h,i"];
    // Line 5 would take the record past 100 bytes: line 2 is refused, 3-5 read again on their own
    // (single cells here; the layout's cell count refuses them later).
    expect(brief(readOutcomes(lines, 3, 100))).toEqual([
      "1: a|b|c",
      `2! the record starting here grows past ${100 / 1_048_576} MiB: is a quote left open?`,
      `3: ${long}`,
      `4: ${long}`,
      `5: ${long}`,
      "6: g|h|i",
    ]);
  });

  it("refuses an unreadable line on its own, and the open record it interrupts at its first line", () => {
    const fault: Line = { reason: "line is not UTF-8 (byte 0xC4 at column 3): save the file as UTF-8", payload: "x:\u00c4" };
    expect(brief(readOutcomes(["a,b,c", fault, 'd,"e', fault, "g,h,i"], 3))).toEqual([
      "1: a|b|c",
      "2! line is not UTF-8 (byte 0xC4 at column 3): save the file as UTF-8",
      "3! a quoted cell opened on this line runs into line 4, which cannot be read",
      "4! line is not UTF-8 (byte 0xC4 at column 3): save the file as UTF-8",
      "5: g|h|i",
    ]);
  });

  it("round-trips what csvCell writes", () => {
    const values = ["plain", "a,b", 'q"uote', "line\nbreak", " lead", "trail ", ""];
    const line = values.map(csvCell).join(",");
    expect(readAll(line.split("\n"))).toEqual([values]);
  });

  it("tells row kinds apart by the header", () => {
    expect(csvLayout(["\uFEFFevent_id", "item_id", "to_state", "to_flow_state", "at"])).toMatchObject({ ok: true, layout: { kind: "transition" } });
    expect(csvLayout(["item_id", "source", "stream", "key", "flow_type", "created_at"])).toMatchObject({ ok: true, layout: { kind: "item" } });
    expect(csvLayout(["kind", "item_id", "event_id", "created_at"])).toMatchObject({ ok: true, layout: { kind: "column" } });
    expect(csvLayout(["item_id", "colour"])).toMatchObject({ ok: false, reason: "unknown column(s) colour" });
    expect(csvLayout(["item_id", "item_id", "at"])).toMatchObject({ ok: false });
  });

  it("maps cells: empty means default, labels split on |, deleted as a boolean", () => {
    const decided = csvLayout(["item_id", "source", "stream", "key", "flow_type", "created_at", "labels", "deleted", "team"]);
    if (!decided.ok) throw new Error(decided.reason);
    const result = mapCsvRow(decided.layout, ["x:1", "x", "s", "K-1", "risk", "1767603600000", "a| b", "1", ""]);
    expect(result).toMatchObject({ ok: true, record: { kind: "item", item: { labels: ["a", "b"], deleted: true, team: "", created_at: 1767603600000 } } });
    expect(mapCsvRow(decided.layout, ["x:1", "x"])).toEqual({ ok: false, reason: "expected 9 cells, found 2" });
    const badDeleted = mapCsvRow(decided.layout, ["x:1", "x", "s", "K-1", "risk", "1767603600000", "", "maybe", ""]);
    expect(badDeleted).toMatchObject({ ok: false, reason: expect.stringMatching(/^deleted: "maybe"/) });
  });
});

describe("byte lines", () => {
  /** The lines of `data` read in chunks cut at the given sizes (cycled). */
  async function linesOf(data: Buffer, sizes: number[]): Promise<Line[]> {
    const chunks: Buffer[] = [];
    for (let at = 0, k = 0; at < data.length; k++) {
      const size = sizes[k % sizes.length] as number;
      chunks.push(data.subarray(at, at + size));
      at += size;
    }
    const out: Line[] = [];
    for await (const batch of byteLineBatches(Readable.from(chunks))) out.push(...batch);
    return out;
  }

  it("gives the same lines however the bytes are cut into chunks, multi-byte characters included", async () => {
    const random = prng(12);
    const alphabet = ["a", "b", ",", '"', "é", "€", "😀", "\u2028", " "];
    const lines = Array.from({ length: 300 }, () =>
      Array.from({ length: Math.floor(random() * 40) }, () => alphabet[Math.floor(random() * alphabet.length)]).join(""),
    );
    const data = Buffer.from(lines.join("\n"));
    for (let run = 0; run < 20; run++) {
      const sizes = Array.from({ length: 5 }, () => 1 + Math.floor(random() * 200));
      expect(await linesOf(data, sizes), sizes.join(",")).toEqual(lines);
    }
  });

  it("refuses a line that is not UTF-8 with its byte and column, and keeps the lines around it", async () => {
    // "x:KÄ-1" saved as Latin-1: Ä is the single byte 0xC4.
    const latin1 = Buffer.from('{"id":"x:K\u00c4-1"}', "latin1");
    const data = Buffer.concat([Buffer.from("first\n"), latin1, Buffer.from("\nx:K\u00d6-1\n")]);
    for (const sizes of [[1 << 16], [3], [7, 1]]) {
      const lines = await linesOf(data, sizes);
      expect(lines).toEqual([
        "first",
        { reason: "line is not UTF-8 (byte 0xC4 at column 11): save the file as UTF-8", payload: '{"id":"x:K\u00c4-1"}' },
        "x:K\u00d6-1",
      ]);
    }
  });

  it("finds the first byte of a malformed sequence: truncated, overlong, surrogate, past U+10FFFF", () => {
    const cases: [number[], number][] = [
      [[0x61, 0xe2, 0x82], 1], // € cut short
      [[0x61, 0xc0, 0xaf], 1], // overlong "/"
      [[0xed, 0xa0, 0x80], 0], // a UTF-16 surrogate
      [[0xf4, 0x90, 0x80, 0x80], 0], // U+110000
      [[0x61, 0xe2, 0x82, 0xac, 0x80], 4], // a stray continuation byte after a whole €
      [[0x61, 0xe2, 0x82, 0xac], -1],
    ];
    for (const [bytes, at] of cases) expect(firstInvalidUtf8(Uint8Array.from(bytes)), bytes.join(" ")).toBe(at);
  });

  it("refuses a line longer than the cap without holding it, and goes on at the next line", async () => {
    const huge = Buffer.alloc(MAX_RECORD_BYTES + 10, "x");
    const data = Buffer.concat([Buffer.from("before\n"), huge, Buffer.from("\nafter\n"), huge]);
    for (const sizes of [[1 << 16], [MAX_RECORD_BYTES * 2], [1000, 333_333]]) {
      const lines = await linesOf(data, sizes);
      expect(lines.map((l) => (typeof l === "string" ? l : l.reason))).toEqual([
        "before",
        "line is longer than 1 MiB, the longest record an import reads: is a line break missing?",
        "after",
        "line is longer than 1 MiB, the longest record an import reads: is a line break missing?",
      ]);
      expect((lines[1] as { payload: string }).payload).toBe("x".repeat(16_384));
    }
  });
});

describe("RepeatCounter", () => {
  it("counts records repeating an earlier one of the batch: same item_id, or same item_id and event_id", () => {
    const counter = new RepeatCounter();
    const see = (o: Record<string, unknown>) => {
      const r = mapObject(o);
      if (!r.ok) throw new Error(r.reason);
      counter.see(r.record);
    };
    see(item);
    see({ ...item, title: "changed" }); // the same item again
    see(transition);
    see({ ...transition, item_id: "x:2" }); // same event id, other item: not a repeat
    see({ ...transition, at: "2026-01-06T09:00:00Z" }); // same item and event
    see({ ...item, item_id: "x:3" });
    see({ ...transition, item_id: "x:2", at: "2026-01-07T09:00:00Z" }); // the other item's copy, again
    expect([counter.items, counter.transitions]).toEqual([1, 2]);
    expect(counter.itemIds().sort()).toEqual([transition.item_id, "x:2", "x:3"].sort());
    counter.clear();
    see(item);
    expect([counter.items, counter.transitions]).toEqual([0, 0]);
  });
});
