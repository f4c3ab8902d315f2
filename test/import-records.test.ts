// Pure mapping of import rows: the fast path must agree with the zod schemas, and CSV parsing must
// handle RFC 4180 quoting.
import { describe, expect, it } from "vitest";
import { TransitionSchema, WorkItemSchema } from "../core/model.ts";
import { CsvRecordReader, csvCell, csvLayout, mapCsvRow, mapJsonLine, mapObject } from "../connectors/file/records.ts";

const item = {
  kind: "item", item_id: "x:1", source: "x", stream: "s", key: "K-1", title: "T", url: "u", flow_type: "defect",
  team: "core", labels: ["a"], created_at: "2026-01-05T09:00:00.000Z", source_type: "Bug", deleted: false,
};
const transition = {
  kind: "transition", event_id: "e1", item_id: "x:1", from_state: "To Do", to_state: "In Progress",
  to_flow_state: "active", at: "2026-01-05T09:00:00.000Z",
};

function readAll(lines: string[]): string[][] {
  const reader = new CsvRecordReader();
  const out: string[][] = [];
  for (const line of lines) {
    const cells = reader.feed(line);
    if (cells) out.push(cells);
  }
  expect(reader.pending).toBe(false);
  return out;
}

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
      ' "spaced quote" ,plain "inner" quote',
      "",
    ]);
    expect(rows).toEqual([
      ["a", "b, with comma", 'say "hi"', "", "", "e"],
      ["multi\nline, cell", "x"],
      ["spaced quote ", 'plain "inner" quote'],
      [""],
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
