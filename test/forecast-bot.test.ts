// `/flow forecast` end to end: the grammar (pure), then signed slash commands through Bolt's real
// HTTP receiver, answered from a chDB store seeded with hand-checked throughput, the answer's
// Block Kit read back from the recorder standing in for response_url.
import { LogLevel } from "@slack/bolt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createBot, type Bot } from "../bot/app.ts";
import { SlackConfigSchema } from "../bot/config.ts";
import { parseCommand } from "../bot/parse.ts";
import { MetricsConfigSchema } from "../core/config.ts";
import { addDays } from "../metrics/forecast.ts";
import { localDay } from "../metrics/forecast-query.ts";
import type { Store } from "../store/store.ts";
import { seedThroughput } from "./helpers/forecast-seed.ts";
import { sendSlashCommand, startSlackRecorder, type RecordedCall, type SlackRecorder } from "./helpers/slack-recorder.ts";
import { freshStore } from "./helpers/store.ts";

const SECRET = "test-signing-secret-forecast";
const NOW = Date.now();
const TODAY = localDay(NOW, "UTC");
// Wednesday 2026-05-13 15:30 UTC, for the grammar.
const PARSE_NOW = { nowMs: Date.UTC(2026, 4, 13, 15, 30), timezone: "UTC" };

describe("/flow forecast grammar", () => {
  it("reads when-N and how-many-by with type and scope words", () => {
    expect(parseCommand("forecast 30 features", PARSE_NOW)).toMatchObject({ ok: true, metric: "forecast", forecast: { kind: "when", items: 30 }, filters: { flowType: "feature" } });
    expect(parseCommand("forecast by 2027-03-31", PARSE_NOW)).toMatchObject({ ok: true, metric: "forecast", forecast: { kind: "howmany", by: "2027-03-31" } });
    expect(parseCommand("Forecast 12 items team:Payments stream:software", PARSE_NOW)).toMatchObject({
      ok: true, forecast: { kind: "when", items: 12 }, filters: { team: "Payments", stream: "software" },
    });
    expect(parseCommand("when 5 defects", PARSE_NOW)).toMatchObject({ ok: true, metric: "forecast", forecast: { kind: "when", items: 5 }, filters: { flowType: "defect" } });
    // Today still counts.
    expect(parseCommand("forecast by 2026-05-13", PARSE_NOW)).toMatchObject({ ok: true, forecast: { kind: "howmany", by: "2026-05-13" } });
  });

  it("refuses what it cannot answer, in a sentence", () => {
    const problem = (text: string) => {
      const result = parseCommand(text, PARSE_NOW);
      return result.ok ? "(parsed)" : result.problem;
    };
    expect(problem("forecast")).toBe('forecast what? "forecast 30 features" (when will 30 be done) or "forecast by 2027-03-31" (how many by then).');
    expect(problem("forecast 30 by 2027-03-31")).toMatch(/^a forecast answers one question/);
    expect(problem("forecast by 2026-05-12")).toBe("2026-05-12 is in the past.");
    expect(problem("forecast by March")).toBe('"by" needs a date like 2027-03-31 (the last day counted).');
    expect(problem("forecast 0")).toBe('"0" items: give a number from 1 to 100,000.');
    expect(problem("forecast 30 last 30d")).toBe('I didn\'t understand "last" in a forecast (try "forecast 30 features" or "forecast by 2027-03-31").');
    expect(problem("forecast 30 features defects")).toBe("one item type at a time; leave the type out to forecast every type.");
  });

  it("leaves the other commands as they were", () => {
    // "by" still groups a metric by period; it is a date only after "forecast".
    expect(parseCommand("velocity defects by week", PARSE_NOW)).toMatchObject({ ok: true, metric: "velocity", filters: { period: "week", flowType: "defect" } });
    expect(parseCommand("velocity by 2027-03-31", PARSE_NOW)).toEqual({ ok: false, problem: '"by" needs day, week or month after it.' });
  });
});

let store: Store;
let dispose: () => Promise<void>;
let recorder: SlackRecorder;
let bot: Bot;
let botUrl: string;

beforeAll(async () => {
  ({ store, dispose } = await freshStore());
  await seedThroughput(store, NOW, [
    { team: "payments", perDay: () => 2, days: 120 },
    { team: "checkout", flowType: "defect", perDay: () => 1, days: 120 },
  ]);
  recorder = await startSlackRecorder();
  bot = createBot({
    config: SlackConfigSchema.parse({ mode: "http", host: "127.0.0.1", port: 0, allowed_teams: ["T0TEST"], channel_teams: { C0CHECKOUT: "checkout" } }),
    metricsConfig: MetricsConfigSchema.parse({}),
    store,
    secrets: { botToken: "xoxb-test-token", signingSecret: SECRET },
    clientOptions: { slackApiUrl: recorder.apiUrl },
    logLevel: LogLevel.ERROR,
    schedules: false,
    now: () => NOW,
  });
  const { port } = await bot.start();
  botUrl = `http://127.0.0.1:${port}`;
}, 120_000);

afterAll(async () => {
  await bot?.stop();
  await recorder?.close();
  await dispose?.();
});

let counter = 0;
async function ask(text: string, channel_id?: string): Promise<RecordedCall> {
  const id = `f${++counter}`;
  const response = await sendSlashCommand(botUrl, SECRET, { text, response_url: recorder.responseUrl(id), ...(channel_id ? { channel_id } : {}) });
  expect(response.status).toBe(200);
  return recorder.waitFor((call) => call.path === `/respond/${id}`);
}

const texts = (call: RecordedCall) => JSON.stringify(call.body.blocks ?? []);

describe("/flow forecast over signed HTTP", () => {
  it("answers when N with dates per percentile and the track record beside them", async () => {
    // Team payments finishes 2 features a day: 30 take 15 days (today is day 1) at every
    // percentile. Past forecasts from ago(90) to ago(15) (76 of them) all came true.
    const answer = await ask("forecast 30 features team:payments");
    const blocks = answer.body.blocks as { type: string; text?: { text: string } }[];
    expect(blocks[0]).toMatchObject({ type: "header", text: { text: "Forecast: when will 30 feature items be done?" } });
    const by = addDays(TODAY, 14);
    expect(blocks[1]!.text!.text).toContain(`*85% likely done by `);
    expect(blocks[1]!.text!.text).toContain(`${by}* (within 15 days, counting today)`);
    const all = texts(answer);
    expect(all).toContain("from 90 days of history");
    expect(all).toContain("180 items finished");
    expect(all).toContain(`the same forecast made on 76 past days (${addDays(TODAY, -90)} to ${addDays(TODAY, -15)})`);
    expect(all).toContain("85% forecast came true 76 of 76 times (100%)");
    expect(all).toContain("_the 85% forecast came true about as often as it claimed: its ranges have held here_");
    expect(answer.body.text).toBe(`Forecast: when will 30 feature items be done? 85% likely by ${by}`);
  }, 60_000);

  it("answers how many by a date, and a mapped channel only forecasts its own team", async () => {
    // In the checkout channel, team:payments is overridden: checkout's 1 defect a day over the
    // 7 days from today through today + 6 gives 7 at every percentile.
    const answer = await ask(`forecast by ${addDays(TODAY, 6)} team:payments`, "C0CHECKOUT");
    const all = texts(answer);
    expect(all).toContain("*85% likely: at least 7 items* from today through");
    expect(all).toContain("team checkout");
    expect(all).toContain("team:payments was ignored");
  }, 60_000);

  it("says when it cannot forecast, and refuses a team the store does not hold", async () => {
    const unknown = await ask("forecast 10 team:nobody");
    expect(texts(unknown)).toContain("no team called nobody; teams here: checkout, payments.");
    // Both names exist, but team payments has no defects.
    const none = await ask("forecast 10 defects team:payments");
    expect(texts(none)).toContain("I can't forecast this: nothing is recorded in this scope yet.");
  }, 60_000);
});
