// The Slack bot end to end: the real Bolt App and HTTP receiver on 127.0.0.1, slash commands signed
// as Slack signs them, the Web API and response_url pointed at a local recorder, figures from a
// chDB store seeded through FlowSink.
import { LogLevel } from "@slack/bolt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createBot, type Bot } from "../bot/app.ts";
import { SlackConfigSchema, type SlackConfig } from "../bot/config.ts";
import { MetricsConfigSchema } from "../core/config.ts";
import type { Store } from "../store/store.ts";
import { freshStore } from "./helpers/store.ts";
import { PNG_SIGNATURE, sendSlashCommand, slackSignature, startSlackRecorder, type RecordedCall, type SlackRecorder } from "./helpers/slack-recorder.ts";
import { finishItem, itemUrl, seedFlowHistory } from "./helpers/slack-seed.ts";

const SECRET = "test-signing-secret-8f1c2a";
const NOW = Date.now();

let store: Store;
let dispose: () => Promise<void>;
let recorder: SlackRecorder;
let bot: Bot;
let botUrl: string;
/** Counts queries so a refused request can be shown to have run none. */
let queries = 0;

const config: SlackConfig = SlackConfigSchema.parse({
  mode: "http",
  host: "127.0.0.1",
  port: 0,
  allowed_teams: ["T0TEST"],
  channel_teams: { C0CHECKOUT: "checkout" },
  digests: [{ name: "weekly", channel: "C0DIGEST", cron: "0 9 * * 1", window_days: 30 }],
  alerts: {
    rules: [
      { name: "wip-limit", kind: "wip", limit: 1, channel: "C0ALERTS" },
      { name: "aging-features", kind: "aging", flow_type: "feature", channel: "C0ALERTS" },
    ],
  },
});

function countingStore(inner: Store): Store {
  return {
    kind: inner.kind,
    query: (sql, params) => { queries += 1; return inner.query(sql, params); },
    command: (sql, params) => { queries += 1; return inner.command(sql, params); },
    insertRows: (table, rows) => inner.insertRows(table, rows),
    insertCompact: (table, columns, rows) => inner.insertCompact(table, columns, rows),
    insertLines: (table, columns, lines) => inner.insertLines(table, columns, lines),
    insertFile: (table, columns, file) => inner.insertFile(table, columns, file),
    close: () => inner.close(),
  };
}

function makeBot(slack: SlackConfig = config): Bot {
  return createBot({
    config: slack,
    metricsConfig: MetricsConfigSchema.parse({}),
    store: countingStore(store),
    secrets: { botToken: "xoxb-test-token", signingSecret: SECRET },
    clientOptions: { slackApiUrl: recorder.apiUrl },
    logLevel: LogLevel.ERROR,
    schedules: false,
  });
}

let responseCounter = 0;
async function ask(text: string, extra: { channel_id?: string; team_id?: string } = {}): Promise<{ status: number; answer: RecordedCall }> {
  const id = `r${++responseCounter}`;
  const response = await sendSlashCommand(botUrl, SECRET, { text, response_url: recorder.responseUrl(id), ...extra });
  const answer = await recorder.waitFor((call) => call.path === `/respond/${id}`);
  return { status: response.status, answer };
}

const blockTexts = (call: RecordedCall): string =>
  JSON.stringify(call.body.blocks ?? []);

beforeAll(async () => {
  ({ store, dispose } = await freshStore());
  await seedFlowHistory(store, NOW);
  recorder = await startSlackRecorder();
  bot = makeBot();
  const { port } = await bot.start();
  botUrl = `http://127.0.0.1:${port}`;
});

afterAll(async () => {
  await bot?.stop();
  await recorder?.close();
  await dispose?.();
});

describe("/flow over signed HTTP", () => {
  it("acks at once and answers velocity with the hand-checked figure, change and item links", async () => {
    const { status, answer } = await ask("velocity defects last 30d");
    expect(status).toBe(200);
    expect(answer.body.response_type).toBe("in_channel");
    const blocks = answer.body.blocks as { type: string; text?: { text: string } }[];
    expect(blocks[0]).toMatchObject({ type: "header", text: { text: "Flow velocity" } });
    // 3 defects finished in the last 30 days, 1 in the 30 days before: up 200%.
    expect(blocks[1]!.text!.text).toContain("*3* items delivered");
    expect(blocks[1]!.text!.text).toContain("▲ 200% vs 1 before");
    const all = blockTexts(answer);
    expect(all).toContain("defect items");
    // Slowest delivered first: D-2 (8 d), then D-3 (7 d).
    expect(all).toContain(`<${itemUrl("D-2")}|D-2>`);
    expect(all.indexOf("D-2>")).toBeLessThan(all.indexOf("D-3>"));
    // Oldest work in progress among defects: D-4.
    expect(all).toContain(`<${itemUrl("D-4")}|D-4>`);
  });

  it("limits a channel mapped to a team to that team's data", async () => {
    const { answer } = await ask("velocity defects team:payments last 30d", { channel_id: "C0CHECKOUT" });
    const text = blockTexts(answer);
    // Only D-1 and D-2 belong to checkout; the asked-for team is overridden and the answer says so.
    expect(text).toContain("*2* items delivered");
    expect(text).toContain("team checkout");
    expect(text).toContain("team:payments was ignored");
  });

  it("answers flow time with the p85 over all items, its change, and per-type percentiles", async () => {
    const { answer } = await ask("flow time defects last 30 days");
    const blocks = answer.body.blocks as { type: string; text?: { text: string } }[];
    // Defects finished in the last 30 days: D-1 5, D-3 7, D-2 8 d (n = 3, positions 2p):
    // p50 at 1 -> 7; p85 at 1.7 -> 7 + 0.7 * 1 = 7.7. The window before: D-0 alone, 5 d.
    // 7.7 vs 5 is up 54% (longer is worse).
    expect(blocks[1]!.text!.text).toContain("*7.7 d* p85 flow time (p50 7 d) over 3 finished items");
    expect(blocks[1]!.text!.text).toContain("▲ 54% vs 5 d before (worse)");
    expect(blockTexts(answer)).toContain("*defect (3)*\\np50 7 d · p85 7.7 d");

    // All types: the same three defects (F-2 and D-4 are still open), so the same figures; the
    // window before has D-0 5 and F-1 10: p85 at 0.85 -> 5 + 0.85 * 5 = 9.25, shown as 9.3 d, and
    // 7.7 vs 9.25 is down 17%. Per type only defect has items now.
    const all = await ask("flow time last 30 days");
    const text = blockTexts(all.answer);
    expect(text).toContain("*7.7 d* p85 flow time (p50 7 d) over 3 finished items");
    expect(text).toContain("▼ 17% vs 9.3 d before (better)");
    expect(text).not.toContain("feature (");
    // By week: each type's p85 per week (no figure merged across types).
    expect(blockTexts((await ask("flow time last 30 days by week")).answer)).toMatch(/Per week: p85 by type.*\d{4}-\d{2}-\d{2} {2}defect \d/);
  });

  it("says so when no item finished, without a change figure", async () => {
    // Features: F-1 finished 40 days ago, F-2 is still open.
    const text = blockTexts((await ask("flow time features last 30 days")).answer);
    expect(text).toContain("*–* no items finished in this window");
    expect(text).not.toContain("before");
  });

  it("answers efficiency, load, distribution, bottlenecks and aging without error", async () => {
    const efficiency = blockTexts((await ask("efficiency defects last 30d")).answer);
    // Active 5 + 8 + 3 = 16 of 20 flow days.
    expect(efficiency).toContain("*80%* of flow time was active work");
    const load = blockTexts((await ask("load")).answer);
    expect(load).toContain("*2* items in progress now");
    const distribution = blockTexts((await ask("distribution last 30d")).answer);
    expect(distribution).toContain("of delivered items were defect");
    const bottlenecks = blockTexts((await ask("bottlenecks last 30d")).answer);
    expect(bottlenecks).toContain("Bottlenecks");
    const aging = (await ask("aging")).answer;
    expect(blockTexts(aging)).toContain(`<${itemUrl("F-2")}|F-2>`);
    expect(blockTexts(aging)).toContain("*1* item older");
  });

  it("answers unknown words with short ephemeral help, never an error", async () => {
    const { status, answer } = await ask("velocity purple elephants");
    expect(status).toBe(200);
    expect(answer.body.response_type).toBe("ephemeral");
    const text = blockTexts(answer);
    expect(text).toContain("I didn't understand \\\"purple\\\"");
    expect(text).toContain("/flow velocity defects last 30d");
    expect(text).not.toMatch(/at .*\.ts:\d+/);
  });

  it("refuses a workspace that is not on the allow-list without running a query", async () => {
    const before = queries;
    const { answer } = await ask("velocity", { team_id: "T0OTHER" });
    expect(answer.body.response_type).toBe("ephemeral");
    expect(blockTexts(answer)).toContain("not allowed");
    expect(queries).toBe(before);
  });
});

describe("request verification", () => {
  const body = (id: string) => ({ text: "velocity", response_url: recorder.responseUrl(id) });

  it("rejects a wrong signature with 401 and runs nothing", async () => {
    const before = queries;
    const callsBefore = recorder.calls.length;
    const response = await sendSlashCommand(botUrl, SECRET, body("forged"), { signature: slackSignature("not-the-secret", Math.floor(Date.now() / 1000), "text=velocity") });
    expect(response.status).toBe(401);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(queries).toBe(before);
    expect(recorder.calls.slice(callsBefore).filter((call) => call.kind === "respond")).toHaveLength(0);
  });

  it("rejects a correctly signed request with a timestamp older than five minutes", async () => {
    const before = queries;
    const stale = Math.floor(Date.now() / 1000) - 6 * 60;
    const response = await sendSlashCommand(botUrl, SECRET, body("stale"), { timestamp: stale });
    expect(response.status).toBe(401);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(queries).toBe(before);
    expect(recorder.calls.some((call) => call.path === "/respond/stale")).toBe(false);
  });

  it("accepts the same request signed now (the check is not refusing everything)", async () => {
    const response = await sendSlashCommand(botUrl, SECRET, body("fresh"));
    expect(response.status).toBe(200);
    await recorder.waitFor((call) => call.path === "/respond/fresh");
  });
});

function expectPngUpload(after: number): void {
  const calls = recorder.calls.slice(after);
  const kinds = calls.map((call) => call.kind);
  expect(kinds).toContain("files.getUploadURLExternal");
  const upload = calls.find((call) => call.kind === "upload");
  expect(upload, "the PNG bytes reach the upload URL").toBeDefined();
  const png = upload!.raw.subarray(upload!.raw.indexOf(PNG_SIGNATURE));
  expect(upload!.raw.indexOf(PNG_SIGNATURE)).toBeGreaterThanOrEqual(0);
  expect(png.length).toBeGreaterThan(1000);
  // The chart is not shared on its own: it goes inside the digest message as an image block.
  const complete = calls.find((call) => call.kind === "files.completeUploadExternal");
  expect(complete?.body.channel_id).toBeUndefined();
  const fileId = (complete!.body.files as { id: string }[])[0]!.id;
  const digest = calls.find((call) => call.kind === "chat.postMessage" && call.body.channel === "C0DIGEST");
  expect(digest?.body.blocks).toContainEqual(expect.objectContaining({ type: "image", slack_file: { id: fileId } }));
}

describe("digest", () => {
  it("posts five metrics, bottlenecks, aging items and a PNG chart when run", async () => {
    const after = recorder.calls.length;
    await bot.runDigest("weekly");
    const message = recorder.calls.slice(after).find((call) => call.kind === "chat.postMessage");
    expect(message?.body.channel).toBe("C0DIGEST");
    const text = JSON.stringify(message?.body.blocks);
    for (const label of ["Velocity", "Flow time (p85)", "Efficiency", "Load (WIP now)", "Distribution (delivered)"]) expect(text).toContain(label);
    // All types, last 30 days: D-1, D-2, D-3 delivered; 2 in the 30 days before (D-0, F-1).
    expect(text).toContain("*3 delivered*");
    // Flow time of D-1 5, D-3 7, D-2 8 d: p85 7.7, p50 7; before D-0 5, F-1 10: p85 9.25 (9.3 d).
    expect(text).toContain("*7.7 d · p50 7 d*");
    expect(text).toContain("▼ 17% vs 9.3 d before (better)");
    expect(text).toContain(`<${itemUrl("F-2")}|F-2>`);
    expectPngUpload(after);
  });

  it("runs from a node-cron schedule", async () => {
    const every = SlackConfigSchema.parse({ ...config, port: 0, alerts: { rules: [] }, digests: [{ ...config.digests[0]!, cron: "* * * * * *" }] });
    const scheduled = createBot({
      config: every, metricsConfig: MetricsConfigSchema.parse({}), store, secrets: { botToken: "xoxb-test-token", signingSecret: SECRET },
      clientOptions: { slackApiUrl: recorder.apiUrl }, logLevel: LogLevel.ERROR,
    });
    const after = recorder.calls.length;
    await scheduled.start();
    try {
      await recorder.waitFor((call) => call.kind === "chat.postMessage" && call.body.channel === "C0DIGEST" && recorder.calls.indexOf(call) >= after, 15_000);
    } finally {
      await scheduled.stop();
    }
    expectPngUpload(after);
  });
});

describe("alerts", () => {
  const posted = (after: number) => recorder.calls.slice(after).filter((call) => call.kind === "chat.postMessage" && call.body.channel === "C0ALERTS");

  it("trips once, stays quiet across a restart, and recovers once", async () => {
    let after = recorder.calls.length;
    const first = await bot.runAlerts();
    expect(first.map((r) => [r.rule, r.posted])).toEqual([["wip-limit", "tripped"], ["aging-features", "tripped"]]);
    const messages = posted(after);
    expect(messages).toHaveLength(2);
    const wipText = JSON.stringify(messages[0]!.body.blocks);
    expect(wipText).toContain("2 items in progress");
    expect(wipText).toContain(`<${itemUrl("F-2")}|F-2>`);
    expect(wipText).toContain(`<${itemUrl("D-4")}|D-4>`);

    after = recorder.calls.length;
    expect((await bot.runAlerts()).every((r) => r.posted === null)).toBe(true);
    expect(posted(after)).toHaveLength(0);

    // A new App instance over the same store remembers both alerts are already out.
    const restarted = makeBot();
    after = recorder.calls.length;
    expect((await restarted.runAlerts()).every((r) => r.posted === null)).toBe(true);
    expect(posted(after)).toHaveLength(0);

    // D-4 finishes: WIP 1, within the limit, so the WIP alert recovers (once); aging stays tripped.
    await finishItem(store, "D-4", "In Progress", Date.now());
    after = recorder.calls.length;
    const recovered = await restarted.runAlerts();
    expect(recovered.map((r) => [r.rule, r.posted])).toEqual([["wip-limit", "recovered"], ["aging-features", null]]);
    expect(JSON.stringify(posted(after)[0]!.body.blocks)).toContain("recovered");
    after = recorder.calls.length;
    await restarted.runAlerts();
    expect(posted(after)).toHaveLength(0);
  });

  it("evaluates efficiency-floor and queue-growth rules", async () => {
    const rules = SlackConfigSchema.parse({
      ...config,
      port: 0,
      alerts: {
        rules: [
          { name: "efficiency-floor", kind: "efficiency", floor: 0.9, window_days: 30, flow_type: "defect", channel: "C0ALERTS" },
          { name: "review-queue", kind: "queue_growth", periods: 2, channel: "C0ALERTS" },
        ],
      },
    });
    const after = recorder.calls.length;
    const results = await makeBot(rules).runAlerts();
    // Defects finished in the last 30 days were active 16 (or 17 with D-4) of 20 (21) flow days: about 80%, under 90%.
    expect(results[0]).toMatchObject({ rule: "efficiency-floor", posted: "tripped" });
    expect(results[0]!.evaluation!.summary).toMatch(/Flow efficiency 8\d% over the last 30 days \(defect items\), floor 90%/);
    // Nothing in the seed grows week after week.
    expect(results[1]).toMatchObject({ rule: "review-queue", posted: null, evaluation: { tripped: false } });
    const message = JSON.stringify(posted(after)[0]!.body.blocks);
    expect(message).toContain(`<${itemUrl("D-2")}|D-2>`);
  });
});
