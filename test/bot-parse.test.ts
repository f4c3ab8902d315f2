// The /flow grammar: every phrase people type, and friendly refusals for the rest.
import { describe, expect, it } from "vitest";
import { parseCommand, previousWindowOf, startOf, type ParsedCommand } from "../bot/parse.ts";
import { localMidnight } from "../core/time.ts";
import { bottleneckLead, partialLabel } from "../bot/answer.ts";

const DAY = 86_400_000;
// Wednesday 2026-05-13 15:30 UTC.
const NOW = Date.UTC(2026, 4, 13, 15, 30);
const utc = { nowMs: NOW, timezone: "UTC" };

function ok(text: string, context = utc): ParsedCommand {
  const result = parseCommand(text, context);
  if (!result.ok) throw new Error(`expected "${text}" to parse: ${result.problem}`);
  return result;
}

function problem(text: string): string {
  const result = parseCommand(text, utc);
  if (result.ok) throw new Error(`expected "${text}" to be refused`);
  return result.problem;
}

describe("metrics", () => {
  it.each([
    ["velocity", "velocity"], ["throughput", "velocity"], ["time", "time"], ["flow time", "time"], ["cycle time", "time"],
    ["efficiency", "efficiency"], ["load", "load"], ["WIP", "load"], ["distribution", "distribution"],
    ["bottlenecks", "bottlenecks"], ["aging", "aging"], ["Ageing", "aging"], ["help", "help"],
  ])("%s -> %s", (text, metric) => {
    expect(ok(text).metric).toBe(metric);
  });

  it("empty text is help", () => {
    expect(ok("   ").metric).toBe("help");
  });

  it("refuses an unknown metric by name", () => {
    expect(problem("speed defects")).toBe('I don\'t know the metric "speed".');
  });
});

describe("filters", () => {
  it.each([
    ["defects", "defect"], ["defect", "defect"], ["bugs", "defect"], ["features", "feature"], ["feature", "feature"],
    ["risk", "risk"], ["risks", "risk"], ["debt", "debt"], ["type:incident", "incident"], ["type:bugs", "defect"],
  ])("item type %s -> %s", (word, type) => {
    expect(ok(`velocity ${word}`).filters.flowType).toBe(type);
  });

  it("reads team and stream", () => {
    const parsed = ok("time features team:checkout stream:orders");
    expect(parsed.filters).toMatchObject({ flowType: "feature", team: "checkout", stream: "orders" });
  });

  it("reads keywords in any case but keeps team values as typed", () => {
    const parsed = ok("VELOCITY Defects TEAM:Checkout Last 2 Weeks");
    expect(parsed).toMatchObject({ metric: "velocity", filters: { flowType: "defect", team: "Checkout" }, windowLabel: "last 2 weeks" });
  });

  it.each([["by day", "day"], ["by week", "week"], ["by month", "month"], ["per week", "week"], ["weekly", "week"], ["monthly", "month"]])(
    "%s groups by %s",
    (words, period) => {
      expect(ok(`velocity ${words}`).filters.period).toBe(period);
    },
  );

  it("refuses `by` without a period", () => {
    expect(problem("velocity by fortnight")).toContain('"by" needs day, week or month');
  });

  it("refuses unknown words, naming the first", () => {
    expect(problem("velocity defects purple elephants")).toBe('I didn\'t understand "purple".');
  });
});

describe("windows", () => {
  it("defaults to the last 30 days", () => {
    const parsed = ok("velocity");
    expect(parsed.filters.untilMs).toBe(NOW);
    expect(parsed.filters.sinceMs).toBe(NOW - 30 * DAY);
    expect(parsed.windowLabel).toBe("last 30 days");
  });

  it.each([
    ["last 30d", 30, "last 30 days"], ["last 30 days", 30, "last 30 days"], ["last 2 weeks", 14, "last 2 weeks"],
    ["last 2w", 14, "last 2 weeks"], ["last week", 7, "last week"], ["past 3 months", 90, "last 3 months"],
    ["last quarter", 91, "last quarter"], ["last 1 day", 1, "last day"],
  ])("%s spans %i days", (words, days, label) => {
    const parsed = ok(`velocity ${words}`);
    expect(parsed.filters.untilMs - parsed.filters.sinceMs).toBe(days * DAY);
    expect(parsed.filters.untilMs).toBe(NOW);
    expect(parsed.windowLabel).toBe(label);
  });

  it("this month / quarter / week / year start at local calendar boundaries", () => {
    expect(ok("velocity this month").filters.sinceMs).toBe(Date.UTC(2026, 4, 1));
    expect(ok("velocity this quarter").filters.sinceMs).toBe(Date.UTC(2026, 3, 1));
    // 2026-05-13 is a Wednesday; the ISO week began Monday 2026-05-11.
    expect(ok("velocity this week").filters.sinceMs).toBe(Date.UTC(2026, 4, 11));
    expect(ok("velocity this year").filters.sinceMs).toBe(Date.UTC(2026, 0, 1));
  });

  it("this month follows the configured zone", () => {
    // 2026-06-01 02:00 in Berlin is still May 31 in UTC.
    const now = Date.UTC(2026, 5, 1, 0, 0);
    const berlin = ok("velocity this month", { nowMs: now, timezone: "Europe/Berlin" });
    expect(berlin.filters.sinceMs).toBe(Date.UTC(2026, 4, 31, 22, 0));
    const inUtc = ok("velocity this month", { nowMs: now, timezone: "UTC" });
    expect(inUtc.filters.sinceMs).toBe(Date.UTC(2026, 5, 1));
  });

  it("since a date means local midnight of that date", () => {
    const parsed = ok("velocity since 2026-01-01", { nowMs: NOW, timezone: "America/New_York" });
    expect(parsed.filters.sinceMs).toBe(Date.UTC(2026, 0, 1, 5, 0));
    expect(parsed.windowLabel).toBe("since 2026-01-01");
  });

  it("local midnight is right across a DST change", () => {
    // New York switches to EDT on 2026-03-08; midnight that day is still EST (UTC-5), the next is EDT (UTC-4).
    expect(localMidnight(2026, 3, 8, "America/New_York")).toBe(Date.UTC(2026, 2, 8, 5));
    expect(localMidnight(2026, 3, 9, "America/New_York")).toBe(Date.UTC(2026, 2, 9, 4));
    expect(startOf(Date.UTC(2026, 2, 20), "America/New_York", "month")).toBe(Date.UTC(2026, 2, 1, 5));
  });

  it.each([
    ["velocity since 2026-02-30", '"since" needs a date'],
    ["velocity since yesterday", '"since" needs a date'],
    ["velocity since 2027-01-01", "in the future"],
    ["velocity last fortnight", "not a window I know"],
    ["velocity last 0 days", "not a window I know"],
    ["velocity this decade", '"this" needs week, month, quarter or year'],
    ["velocity last 30d this month", "two time windows"],
  ])("refuses %s", (text, expected) => {
    expect(problem(text)).toContain(expected);
  });

  it("the previous window has the same length and ends where this one starts", () => {
    const parsed = ok("velocity last 2 weeks");
    const previous = previousWindowOf(parsed.filters);
    expect(previous.untilMs).toBe(parsed.filters.sinceMs);
    expect(previous.untilMs - previous.sinceMs).toBe(14 * DAY);
  });

  it("passes the zone on to the metric filters", () => {
    expect(ok("velocity", { nowMs: NOW, timezone: "Asia/Tokyo" }).filters.timezone).toBe("Asia/Tokyo");
  });
});

it("parses a full sentence", () => {
  const parsed = ok("efficiency defects team:checkout stream:orders last 2 weeks by week");
  expect(parsed).toMatchObject({
    metric: "efficiency",
    filters: { flowType: "defect", team: "checkout", stream: "orders", period: "week", sinceMs: NOW - 14 * DAY, untilMs: NOW },
    windowLabel: "last 2 weeks",
  });
});

describe("refusals with a reason (issue 13)", () => {
  it("takes one item type, the same type twice is fine", () => {
    expect(problem("velocity features defects")).toBe(`one item type at a time ("features" and "defects"); leave the type out to see every type.`);
    expect(problem("velocity bugs type:feature")).toContain("one item type at a time");
    expect(ok("velocity defects bugs").filters.flowType).toBe("defect");
    expect(ok("velocity type:Defect").filters.flowType).toBe("defect");
  });

  it("refuses a window whose comparison window would start before 1970, and names the longest that fits", () => {
    // 2026-05-13 less 2 x 28 years is 1970-05; 2 x 29 years is 1968.
    expect(ok("velocity last 28y").windowLabel).toBe("last 28 years");
    expect(problem("velocity last 29y")).toBe(`"last 29 years" with the same length before it to compare with reaches back before 1970-01-01, the earliest date the store can bucket; the longest window today is "last 28y".`);
    expect(problem("velocity since 1990-01-01")).toContain("before 1970-01-01");
    expect(ok("velocity since 2000-01-01").filters.sinceMs).toBe(Date.UTC(2000, 0, 1));
  });
});

describe("bottleneck lead", () => {
  const state = (name: string, flow: "active" | "waiting", total: number, p85 = 1) =>
    ({ state: name, flow_state: flow, items: 3, median_days: 1, p85_days: p85, total_days: total });
  const queue = (name: string, weeks: number, now: number) => ({ state: name, weeks_growing: weeks, queue_now: now, queue_before: 1 });

  it("prefers a growing waiting queue, then the waiting state holding most days, then a growing active state", () => {
    const states = [state("In Progress", "active", 1920.4), state("Review", "waiting", 40), state("Blocked", "waiting", 12, 9)];
    expect(bottleneckLead({ timeInState: states, aging: [], growingQueues: [queue("Blocked", 3, 7), queue("In Progress", 5, 90)] }))
      .toMatchObject({ state: "Blocked", kind: "count", value: 7, why: expect.stringContaining("grew 3 weeks in a row") });
    expect(bottleneckLead({ timeInState: states, aging: [], growingQueues: [queue("In Progress", 5, 90)] }))
      .toMatchObject({ state: "Review", kind: "days", value: 40, caption: expect.stringContaining(`waiting in "Review"`) });
    const activeOnly = [state("In Progress", "active", 1920.4), state("Coding", "active", 30)];
    expect(bottleneckLead({ timeInState: activeOnly, aging: [], growingQueues: [queue("Coding", 2, 5)] }))
      .toMatchObject({ state: "Coding", why: expect.stringContaining("more is started than finished") });
    const none = bottleneckLead({ timeInState: activeOnly, aging: [], growingQueues: [] });
    expect(none.state).toBeUndefined();
    expect(none.caption).not.toContain("In Progress");
  });
});

describe("partial periods", () => {
  it("marks the first period the window starts inside and the last one not over yet", () => {
    // Wednesday 2026-04-15 15:30 to Wednesday 2026-05-13 15:30, by week (Mondays).
    const label = partialLabel({ sinceMs: NOW - 28 * DAY, untilMs: NOW, period: "week", timezone: "UTC" });
    expect(label("2026-04-13")).toBe("2026-04-13 (partial)");
    expect(label("2026-04-20")).toBe("2026-04-20");
    expect(label("2026-05-04")).toBe("2026-05-04");
    expect(label("2026-05-11")).toBe("2026-05-11 (partial)");
    const months = partialLabel({ sinceMs: Date.UTC(2026, 0, 1), untilMs: Date.UTC(2026, 3, 1), period: "month", timezone: "UTC" });
    expect(["2026-01", "2026-02-01", "2026-03"].map(months)).toEqual(["2026-01", "2026-02-01", "2026-03"]);
  });
});
