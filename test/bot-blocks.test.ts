// Block Kit builders under big data: every Slack limit holds by summarising, never by failing.
import { describe, expect, it } from "vitest";
import { answerBlocks, helpBlocks, type ItemLine, type MetricAnswer } from "../bot/blocks/answer.ts";
import { alertBlocks, digestBlocks } from "../bot/blocks/digest.ts";
import { changeText } from "../bot/blocks/format.ts";
import { fitToLimits, LIMITS, link, section, type Block } from "../bot/blocks/kit.ts";
import { renderPng, wipChartSvg } from "../bot/chart.ts";
import { typeColour } from "../present/charts.js";
import type { LoadRow } from "../metrics/api.ts";

function assertWithinLimits(blocks: Block[]): void {
  expect(blocks.length).toBeLessThanOrEqual(LIMITS.blocks);
  for (const block of blocks) {
    if (block.type === "header") expect(block.text.text.length).toBeLessThanOrEqual(LIMITS.headerText);
    if (block.type === "section") {
      if (block.text) expect(block.text.text.length).toBeLessThanOrEqual(LIMITS.sectionText);
      if (block.fields) {
        expect(block.fields.length).toBeLessThanOrEqual(LIMITS.fields);
        for (const field of block.fields) expect(field.text.length).toBeLessThanOrEqual(LIMITS.fieldText);
      }
      expect(block.text || block.fields?.length).toBeTruthy();
    }
    if (block.type === "context") {
      expect(block.elements.length).toBeLessThanOrEqual(LIMITS.contextElements);
      for (const element of block.elements) expect(element.text.length).toBeLessThanOrEqual(LIMITS.contextText);
    }
  }
}

const manyItems = (n: number): ItemLine[] =>
  Array.from({ length: n }, (_, i) => ({
    key: `PROJ-${i}`,
    url: `https://jira.example.com/browse/PROJ-${i}`,
    title: `A very long title that goes on and on ${"blah ".repeat(40)} #${i}`,
    detail: `${i} d`,
  }));

function bigAnswer(): MetricAnswer {
  return {
    title: "Flow velocity ".repeat(30),
    windowLabel: "last 30 days",
    scopeLabel: "team " + "x".repeat(5000),
    value: 123456,
    kind: "count",
    caption: "items delivered",
    previous: 100000,
    higherIsBetter: true,
    breakdown: Array.from({ length: 300 }, (_, i) => ({ label: `type-${i} ${"y".repeat(50)}`, value: String(i) })),
    series: { title: "Per day", lines: Array.from({ length: 2000 }, (_, i) => `2026-01-${i} ${"█".repeat(20)} ${i}`) },
    lists: Array.from({ length: 40 }, (_, l) => ({ title: `List ${l}`, items: manyItems(500) })),
    notes: Array.from({ length: 40 }, (_, i) => `note ${i} ${"z".repeat(3000)}`),
  };
}

describe("answer blocks", () => {
  it("hold every limit with huge breakdowns, series, lists and notes", () => {
    const blocks = answerBlocks(bigAnswer());
    assertWithinLimits(blocks);
    // Summarised, not silently cut: the reader is told what was left out.
    const text = JSON.stringify(blocks);
    expect(text).toContain("more");
    expect(blocks.at(-1)).toMatchObject({ type: "context" });
  });

  it("fold more than ten breakdown pairs into the tenth field", () => {
    const answer = { ...bigAnswer(), lists: [], series: undefined, notes: [] };
    const fieldsBlock = answerBlocks(answer).find((block) => block.type === "section" && block.fields);
    expect(fieldsBlock?.type === "section" && fieldsBlock.fields?.length).toBe(10);
    expect(JSON.stringify(fieldsBlock)).toContain("291 more");
  });

  it("a small answer is kept whole", () => {
    const blocks = answerBlocks({
      title: "Flow velocity", windowLabel: "last 30 days", scopeLabel: "", value: 3, kind: "count", caption: "items delivered",
      previous: 1, higherIsBetter: true, breakdown: [{ label: "defect", value: "3" }],
      lists: [{ title: "Slowest delivered", items: manyItems(2) }], notes: [],
    });
    expect(blocks.map((block) => block.type)).toEqual(["header", "section", "context", "section", "divider", "section"]);
    expect(JSON.stringify(blocks)).toContain("<https://jira.example.com/browse/PROJ-1|PROJ-1>");
  });

  it("escape markup in titles and refuse odd urls as links", () => {
    expect(link("javascript:alert(1)", "X-1")).toBe("`X-1`");
    expect(link("https://ok.example/browse/X-1", "X-1")).toBe("<https://ok.example/browse/X-1|X-1>");
    const blocks = answerBlocks({
      title: "t", windowLabel: "w", scopeLabel: "", value: 1, kind: "count", caption: "c", higherIsBetter: true, breakdown: [],
      lists: [{ title: "l", items: [{ key: "K-1", url: "", title: "<!channel> & <b>", detail: "1 d" }] }], notes: [],
    });
    const text = JSON.stringify(blocks);
    expect(text).toContain("&lt;!channel&gt; &amp; &lt;b&gt;");
    expect(text).not.toContain("<!channel>");
  });
});

describe("fitToLimits", () => {
  it("caps 80 blocks at 50 and counts the rest", () => {
    const blocks = fitToLimits(Array.from({ length: 80 }, (_, i) => section(`block ${i}`)));
    expect(blocks).toHaveLength(50);
    expect(JSON.stringify(blocks.at(-1))).toContain("31 more sections");
  });

  it("clips a 10 000-line section at a line boundary", () => {
    const [block] = fitToLimits([{ type: "section", text: { type: "mrkdwn", text: Array.from({ length: 10_000 }, (_, i) => `line ${i}`).join("\n") } }]);
    expect(block?.type === "section" && block.text!.text.length).toBeLessThanOrEqual(3000);
    expect(block?.type === "section" && block.text!.text).toMatch(/_… and \d+ more_$/);
  });
});

describe("digest and alert blocks", () => {
  it("hold the limits with thousands of bottlenecks and aging items", () => {
    const blocks = digestBlocks({
      name: "n".repeat(500),
      windowLabel: "last 7 days",
      scopeLabel: "",
      figures: Array.from({ length: 25 }, (_, i) => ({ label: `Figure ${i}`, value: "1".repeat(3000), change: "▲" })),
      bottlenecks: Array.from({ length: 5000 }, (_, i) => `state ${i}: waited a long time`),
      aging: manyItems(5000),
    });
    assertWithinLimits(blocks);
    const alert = alertBlocks({ rule: "r".repeat(4000), tripped: true, summary: "s".repeat(9000), items: manyItems(10_000) });
    assertWithinLimits(alert);
    expect(JSON.stringify(alert)).toContain("9985 more");
  });

  it("help fits and shows examples", () => {
    const blocks = helpBlocks("I didn't understand \"x\".".repeat(500));
    assertWithinLimits(blocks);
    expect(JSON.stringify(blocks)).toContain("/flow time features team:checkout this quarter");
  });
});

describe("change wording", () => {
  it("says up/down, by how much, and whether that is better", () => {
    expect(changeText(3, 1, "count", true)).toBe("▲ 200% vs 1 before (better)");
    expect(changeText(8, 10, "days", false)).toBe("▼ 20% vs 10 d before (better)");
    expect(changeText(0.2, 0.25, "share", true)).toBe("▼ 5 pts vs 25% before (worse)");
    expect(changeText(4, 0, "count", false)).toBe("▲ from 0 before (worse)");
    expect(changeText(2, 2, "count", true)).toBe("no change (2 before)");
    expect(changeText(2, undefined, "count", true)).toBe("no previous figure");
  });
});

describe("chart", () => {
  const rows: LoadRow[] = [];
  for (let d = 1; d <= 90; d++) {
    for (const [t, type] of ["feature", "defect", "risk", "debt", "order", "incident", "other"].entries()) {
      rows.push({ day: `2026-0${1 + Math.floor((d - 1) / 30)}-${String(((d - 1) % 30) + 1).padStart(2, "0")}`, flow_type: type, wip: (d * (t + 1)) % 13 });
    }
  }

  it("draws one stacked bar per day and type in the type's colour, a legend entry per type, and escapes the title", () => {
    const svg = wipChartSvg(rows, "WIP <per> day");
    expect(svg.startsWith("<svg")).toBe(true);
    expect(svg).not.toContain("<per>");
    expect(svg).toContain("WIP &lt;per&gt; day");
    for (const type of ["feature", "defect", "incident"]) expect(svg).toContain(`>${type}</text>`);
    // The dashboard's flow load chart (ECharts, server-side SVG): each type's bars and its legend
    // icon are drawn in its colour, one bar per day (zero-high where it has no WIP).
    const days = new Set(rows.map((row) => row.day)).size;
    const types = [...new Set(rows.map((row) => row.flow_type))].sort();
    for (const type of types) expect(svg.split(`fill="${typeColour(type, types)}"`).length - 1, type).toBe(days + 1);
  });

  it("renders to a PNG in-process, also when there is no data", () => {
    for (const data of [rows, []]) {
      const png = renderPng(wipChartSvg(data, "WIP"));
      expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
      // IHDR: 800 x 360.
      expect(png.readUInt32BE(16)).toBe(800);
      expect(png.readUInt32BE(20)).toBe(360);
    }
  });
});
