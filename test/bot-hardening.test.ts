// The bot's edges as a deployment meets them (issue 13): hostile requests on Bolt's real HTTP
// receiver, channel scoping of every output, per-rule alert isolation, names checked against the
// store, the bottleneck headline, message limits, the Web API base URL and the shared store.
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { promisify } from "node:util";
import { LogLevel } from "@slack/bolt";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createBot, type Bot } from "../bot/app.ts";
import { SlackConfigSchema, slackSecrets, type SlackConfig } from "../bot/config.ts";
import { LIMITS } from "../bot/blocks/kit.ts";
import { buildDigest } from "../bot/schedules/digest.ts";
import { MetricsConfigSchema } from "../core/config.ts";
import { TransitionSchema, WorkItemSchema } from "../core/model.ts";
import { FlowSink } from "../pipeline/sink.ts";
import type { Store } from "../store/store.ts";
import { freshStore } from "./helpers/store.ts";
import { sendSlashCommand, slackSignature, startSlackRecorder, type RecordedCall, type SlackRecorder } from "./helpers/slack-recorder.ts";
import { SEED, itemUrl, seedFlowHistory } from "./helpers/slack-seed.ts";

const SECRET = "hardening-signing-secret-41d7";
const NOW = Date.now();
const DAY = 86_400_000;
const PAYMENTS_CHANNEL = "C0PAYMENTS";
/** Items of any team but payments: none may reach the payments channel. */
const NOT_PAYMENTS = [...SEED.filter((seed) => seed.team !== "payments").map((seed) => seed.key), ...Array.from({ length: 16 }, (_, i) => `W-${i + 1}`)];
const PAYMENTS = SEED.filter((seed) => seed.team === "payments").map((seed) => seed.key);

let store: Store;
let dispose: () => Promise<void>;
let recorder: SlackRecorder;
let bot: Bot;
let botUrl: string;
let queries = 0;

const config: SlackConfig = SlackConfigSchema.parse({
  mode: "http",
  host: "127.0.0.1",
  port: 0,
  channel_teams: { [PAYMENTS_CHANNEL]: "payments" },
  digests: [
    { name: "payments weekly", channel: PAYMENTS_CHANNEL, cron: "0 9 * * 1", window_days: 7 },
    { name: "payments monthly", channel: PAYMENTS_CHANNEL, cron: "0 9 1 * *", window_days: 30, team: "checkout" },
  ],
});

/** 16 features in progress for team wip16 (more than an alert lists). */
async function seedWip16(): Promise<void> {
  const sink = new FlowSink(store);
  for (let i = 1; i <= 16; i++) {
    const key = `W-${i}`;
    await sink.write({
      items: [WorkItemSchema.parse({ item_id: `test:${key}`, source: "test", stream: "software", key, title: `Item ${key}`, url: itemUrl(key), flow_type: "feature", team: "wip16", created_at: NOW - (i + 2) * DAY })],
      transitions: [
        TransitionSchema.parse({ event_id: `${key}-0`, item_id: `test:${key}`, from_state: "", to_state: "To Do", to_flow_state: "new", at: NOW - (i + 2) * DAY }),
        TransitionSchema.parse({ event_id: `${key}-1`, item_id: `test:${key}`, from_state: "To Do", to_state: "In Progress", to_flow_state: "active", at: NOW - (i + 1) * DAY }),
      ],
    });
  }
  await sink.commit();
}

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

function makeBot(slack: SlackConfig = config, apiUrl: string | null = recorder.apiUrl): Bot {
  return createBot({
    config: slack,
    metricsConfig: MetricsConfigSchema.parse({}),
    store: countingStore(store),
    secrets: { botToken: "xoxb-test-token", signingSecret: SECRET },
    ...(apiUrl ? { clientOptions: { slackApiUrl: apiUrl } } : {}),
    logLevel: LogLevel.ERROR,
    schedules: false,
  });
}

let responseCounter = 0;
async function ask(text: string, channel_id = "C0GENERAL"): Promise<RecordedCall> {
  const id = `h${++responseCounter}`;
  const response = await sendSlashCommand(botUrl, SECRET, { text, response_url: recorder.responseUrl(id), channel_id });
  expect(response.status).toBe(200);
  return recorder.waitFor((call) => call.path === `/respond/${id}`);
}
const texts = (call: RecordedCall) => JSON.stringify(call.body.blocks ?? []);

beforeAll(async () => {
  ({ store, dispose } = await freshStore());
  await seedFlowHistory(store, NOW);
  await seedWip16();
  recorder = await startSlackRecorder();
  bot = makeBot();
  botUrl = `http://127.0.0.1:${(await bot.start()).port}`;
});

afterAll(async () => {
  await bot?.stop();
  await recorder?.close();
  await dispose?.();
});

/** POSTs `size` bytes produced lazily (the client holds 64 KB at a time), and returns the status. */
function postLarge(size: number, headers: Record<string, string>): Promise<number> {
  const chunk = Buffer.alloc(64 * 1024, "a".charCodeAt(0));
  let sent = 0;
  const body = new Readable({
    read() {
      if (sent >= size) return void this.push(null);
      sent += chunk.length;
      this.push(chunk);
    },
  });
  return new Promise((resolve, reject) => {
    const request = http.request(`${botUrl}/slack/events`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded", ...headers } }, (response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
    });
    // The server drops the connection after refusing; the client's unsent rest fails to write.
    request.on("error", (error) => setTimeout(() => reject(error), 2000));
    body.pipe(request);
  });
}

describe("1-2. requests are judged before their body is read", () => {
  it("refuses a 50 MB unsigned body with 413, declared or chunked, without buffering it", async () => {
    const before = queries;
    globalThis.gc?.();
    const rssBefore = process.memoryUsage().rss;
    const started = performance.now();
    expect(await postLarge(50 * 1024 * 1024, { "content-length": String(50 * 1024 * 1024) })).toBe(413);
    expect(await postLarge(50 * 1024 * 1024, { "x-slack-request-timestamp": String(Math.floor(Date.now() / 1000)), "x-slack-signature": `v0=${"0".repeat(64)}` })).toBe(413);
    const grown = (process.memoryUsage().rss - rssBefore) / 1024 / 1024;
    expect(grown, `RSS grew ${grown.toFixed(1)} MB`).toBeLessThan(20);
    expect(performance.now() - started).toBeLessThan(3000);
    expect(queries).toBe(before);
  });

  it("refuses correctly signed requests an hour or ten years in the future, and accepts one now", async () => {
    for (const ahead of [3600, 10 * 365 * 86_400]) {
      const timestamp = Math.floor(Date.now() / 1000) + ahead;
      const response = await sendSlashCommand(botUrl, SECRET, { text: "velocity", response_url: recorder.responseUrl(`future${ahead}`) }, { timestamp });
      expect(response.status).toBe(401);
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(recorder.calls.some((call) => call.path.startsWith("/respond/future"))).toBe(false);
    const body = "text=velocity";
    const ts = Math.floor(Date.now() / 1000) + 60;
    // Within the five minutes either way: a small clock difference is not refused by the guard.
    const ok = await fetch(`${botUrl}/slack/events`, { method: "POST", headers: { "x-slack-request-timestamp": String(ts), "x-slack-signature": slackSignature(SECRET, ts, body), "content-type": "application/x-www-form-urlencoded" }, body });
    expect(ok.status).not.toBe(401);
  });

  it("refuses a signing secret of only spaces at start: one line, exit 2", async () => {
    expect(() => slackSecrets("http", { SLACK_BOT_TOKEN: "xoxb-1", SLACK_SIGNING_SECRET: "   " })).toThrow(/SLACK_SIGNING_SECRET is only whitespace/);
    const dir = mkdtempSync(path.join(os.tmpdir(), "flowpulse-bot-secret-"));
    try {
      const failed = await promisify(execFile)(process.execPath, [CLI, "--data", dir, "bot"], { cwd: ROOT, env: { ...process.env, FLOWPULSE_CONFIG: "", SLACK_BOT_TOKEN: "xoxb-1", SLACK_SIGNING_SECRET: "   " } })
        .then(() => ({ code: 0, stderr: "" }), (error: { code: number; stderr: string }) => error);
      expect(failed.code).toBe(2);
      expect(failed.stderr.trim().split("\n")).toEqual([expect.stringContaining("SLACK_SIGNING_SECRET is only whitespace")]);
      // serve starts the same bot and refuses the same way (it stops what it started first).
      const configFile = path.join(dir, "flowpulse.yaml");
      writeFileSync(configFile, "slack:\n  host: 127.0.0.1\n  port: 0\n");
      const served = await promisify(execFile)(process.execPath, [CLI, "--data", path.join(dir, "data"), "serve", "--no-stream", "--no-jira"], { cwd: ROOT, env: { ...process.env, FLOWPULSE_CONFIG: configFile, SLACK_BOT_TOKEN: "xoxb-1", SLACK_SIGNING_SECRET: " \t " } })
        .then(() => ({ code: 0, stderr: "" }), (error: { code: number; stderr: string }) => error);
      expect(served.code).toBe(2);
      expect(served.stderr).toContain("flowpulse: SLACK_SIGNING_SECRET is only whitespace");
      expect(served.stderr).not.toMatch(/\n\s+at /);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});

describe("3. a channel mapped to a team never receives another team's item", () => {
  it("in any answer, digest or alert", async () => {
    const after = recorder.calls.length;
    const answers: RecordedCall[] = [];
    for (const text of ["velocity last 30d", "time last 90d", "efficiency last 30d", "load", "distribution", "bottlenecks last 90d", "aging", "velocity team:checkout last 90d"]) {
      answers.push(await ask(text, PAYMENTS_CHANNEL));
    }
    for (const digest of config.digests) await bot.runDigest(digest.name);
    const rules = SlackConfigSchema.parse({
      ...config,
      alerts: {
        rules: [
          { name: "org-wip", kind: "wip", limit: 0, channel: PAYMENTS_CHANNEL },
          { name: "org-aging", kind: "aging", channel: PAYMENTS_CHANNEL },
          { name: "checkout-aging", kind: "aging", team: "checkout", channel: PAYMENTS_CHANNEL },
          { name: "org-efficiency", kind: "efficiency", floor: 0.99, window_days: 60, channel: PAYMENTS_CHANNEL },
          { name: "org-queues", kind: "queue_growth", periods: 2, channel: PAYMENTS_CHANNEL },
        ],
      },
    });
    const results = await makeBot(rules).runAlerts();
    const posts = recorder.calls.slice(after).filter((call) => call.kind === "chat.postMessage" && call.body.channel === PAYMENTS_CHANNEL);
    const everything = [...answers, ...posts].map((call) => call.raw.toString("utf8") + JSON.stringify(call.body)).join("\n");
    for (const key of NOT_PAYMENTS) expect(everything, `${key} reached the payments channel`).not.toContain(`browse/${key}|`);
    // Not vacuous: payments' own items are there, the WIP alert tripped on payments' D-4 alone.
    expect(everything).toContain(`browse/D-4|`);
    expect(PAYMENTS.some((key) => everything.includes(`browse/${key}|`))).toBe(true);
    expect(results.find((r) => r.rule === "org-wip")).toMatchObject({ posted: "tripped", evaluation: { summary: expect.stringContaining("1 item in progress (team payments)") } });
    expect(posts.length).toBeGreaterThanOrEqual(3);
  });

  it("does not list other teams' names in a mapped channel: team: is overridden there, not checked", async () => {
    const answer = await ask("velocity team:nosuch last 30d", PAYMENTS_CHANNEL);
    expect(answer.body.response_type).toBe("in_channel");
    const text = texts(answer);
    expect(text).toContain("team:nosuch was ignored");
    expect(text).toContain("*1* item delivered");
    expect(text).not.toMatch(/checkout|wip16/);
  });
});

describe("4. alert rules run on their own", () => {
  it("a rule whose channel answers not_in_channel is logged and the rules after it still post", async () => {
    recorder.channelErrors.set("C0NOTIN", "not_in_channel");
    const errors = vi.spyOn(console, "error");
    try {
      const rules = SlackConfigSchema.parse({
        ...config,
        alerts: {
          rules: [
            { name: "first-broken", kind: "wip", limit: 0, channel: "C0NOTIN" },
            { name: "second-fine", kind: "wip", limit: 0, channel: "C0ISOLATE" },
            { name: "third-fine", kind: "aging", channel: "C0ISOLATE" },
          ],
        },
      });
      const after = recorder.calls.length;
      const results = await makeBot(rules).runAlerts();
      expect(results.map((r) => [r.rule, r.posted])).toEqual([["first-broken", null], ["second-fine", "tripped"], ["third-fine", "tripped"]]);
      expect(results[0]!.error).toContain("not_in_channel");
      expect(errors.mock.calls.flat().join("\n")).toMatch(/alert "first-broken" could not be posted to C0NOTIN: not_in_channel/);
      expect(recorder.calls.slice(after).filter((call) => call.kind === "chat.postMessage" && call.body.channel === "C0ISOLATE")).toHaveLength(2);
      // The broken rule's state was not saved, so it is tried again next run.
      const again = await makeBot(rules).runAlerts();
      expect(again[0]).toMatchObject({ rule: "first-broken", posted: null, error: expect.stringContaining("not_in_channel") });
    } finally {
      errors.mockRestore();
      recorder.channelErrors.clear();
    }
  });
});

describe("5. names are checked against what the store holds", () => {
  it("resolves a differently-cased team to the stored name", async () => {
    const answer = await ask("velocity team:PAYMENTS last 30d");
    expect(answer.body.response_type).toBe("in_channel");
    // Only D-3 of payments finished in the last 30 days.
    expect(texts(answer)).toContain("*1* item delivered");
    expect(texts(answer)).toContain("team payments");
  });

  it("refuses unknown teams, streams and types with the names there are, before any metric runs", async () => {
    const cases: [string, string][] = [
      ["velocity team:payment", "no team called payment; teams here: checkout, payments, wip16."],
      ["velocity stream:orders", "no stream called orders; streams here: software."],
      ["velocity risks", "no type called risk; types here: defect, feature."],
      ["velocity type:Incident", "no type called Incident; types here: defect, feature."],
    ];
    for (const [text, expected] of cases) {
      const answer = await ask(text);
      expect(answer.body.response_type, text).toBe("ephemeral");
      expect(answer.body.text, text).toBe(expected);
    }
  });

  it("refuses windows the store cannot hold, and several types, with a reason", async () => {
    const before = queries;
    const far = await ask("velocity last 3650y");
    expect(far.body.response_type).toBe("ephemeral");
    expect(far.body.text).toMatch(/reaches back before 1970-01-01.*the longest window today is "last \d+y"/);
    const two = await ask("velocity features defects");
    expect(two.body.text).toBe(`one item type at a time ("features" and "defects"); leave the type out to see every type.`);
    expect(queries).toBe(before);
  });
});

describe("5b. names the store gained since they were last read", () => {
  it("are found: a name not among the remembered ones is looked up again before it is refused", async () => {
    expect((await ask("velocity team:payments")).body.response_type).toBe("in_channel");
    const sink = new FlowSink(store);
    await sink.write({
      items: [WorkItemSchema.parse({ item_id: "test:N-1", source: "test", stream: "software", key: "N-1", title: "Item N-1", url: itemUrl("N-1"), flow_type: "defect", team: "newteam", created_at: NOW - 3 * DAY })],
      transitions: [TransitionSchema.parse({ event_id: "N-1-0", item_id: "test:N-1", from_state: "", to_state: "In Progress", to_flow_state: "active", at: NOW - 2 * DAY })],
    });
    await sink.commit();
    const answer = await ask("load team:NewTeam");
    expect(answer.body.response_type).toBe("in_channel");
    expect(texts(answer)).toContain("*1* item in progress now");
  });
});

describe("6. bottlenecks lead with where work waits", () => {
  it("names the waiting state, not the active state with the most days, and says why", async () => {
    const answer = await ask("bottlenecks last 30d");
    const blocks = answer.body.blocks as { type: string; text?: { text: string } }[];
    // In Progress (active) holds far more summed days than Review, D-3's 4-day wait.
    expect(texts(answer)).toMatch(/In Progress \(active\)/);
    expect(blocks[1]!.text!.text).toContain(`spent waiting in "Review" by 1 item`);
    expect(texts(answer)).toContain("Chosen because it is the waiting state holding work longest");
    // wip16's 16 items make In Progress grow week after week; a waiting state still leads.
    expect(texts(answer)).toContain("In Progress");
  });
});

describe("7. what users see", () => {
  it("a WIP alert over 16 items lists 15 and says 1 more", async () => {
    const rules = SlackConfigSchema.parse({ ...config, alerts: { rules: [{ name: "wip16", kind: "wip", limit: 3, team: "wip16", channel: "C0WIP16" }] } });
    const after = recorder.calls.length;
    await makeBot(rules).runAlerts();
    const post = recorder.calls.slice(after).find((call) => call.kind === "chat.postMessage" && call.body.channel === "C0WIP16")!;
    expect(texts(post)).toContain("16 items in progress");
    expect((texts(post).match(/browse\/W-/g) ?? []).length).toBe(15);
    expect(texts(post)).toContain("… and 1 more");
  });

  it("clips the reply to a huge command to Slack's limits", async () => {
    const answer = await ask(`velocity ${"x".repeat(900_000)}`);
    expect(String(answer.body.text).length).toBeLessThanOrEqual(LIMITS.fallbackText);
    expect(answer.raw.length).toBeLessThan(20_000);
  });

  it("marks partial first and last periods of `by week`", async () => {
    const answer = await ask("load last 5 weeks by week");
    const series = (answer.body.blocks as { text?: { text: string } }[]).map((b) => b.text?.text ?? "").find((t) => t.startsWith("*WIP at the end of each week*"))!;
    const lines = series.replace(/```/g, "").split("\n").slice(1).filter(Boolean);
    expect(lines.length).toBeGreaterThanOrEqual(2);
    // The window starts inside a week (35 days before now, not at a Monday midnight) and ends now.
    expect(lines.at(-1)).toContain("(partial)");
    if (new Date(NOW - 35 * DAY).toISOString().slice(11) !== "00:00:00.000Z") expect(lines[0]).toContain("(partial)");
    for (const line of lines.slice(1, -1)) expect(line).not.toContain("(partial)");
  });

  it("the digest's chart covers exactly its window, names the team, and is part of the digest message", async () => {
    const { chartDays, chartTitle } = await buildDigest(bot.metrics, config.digests[0]!, NOW, config.channel_teams);
    expect(chartDays).toBe(7);
    expect(chartTitle).toBe("Work in progress per day, last 7 days · team payments");
    const after = recorder.calls.length;
    await bot.runDigest("payments weekly");
    const calls = recorder.calls.slice(after);
    const complete = calls.find((call) => call.kind === "files.completeUploadExternal")!;
    expect(complete.body.channel_id).toBeUndefined();
    const fileId = (complete.body.files as { id: string }[])[0]!.id;
    const messages = calls.filter((call) => call.kind === "chat.postMessage");
    expect(messages).toHaveLength(1);
    const image = (messages[0]!.body.blocks as { type: string; slack_file?: { id: string }; title?: { text: string } }[]).find((b) => b.type === "image");
    expect(image).toMatchObject({ slack_file: { id: fileId }, title: { text: chartTitle } });
  });
});

const ROOT = path.join(import.meta.dirname, "..");
const CLI = path.join(ROOT, "bin", "flowpulse.js");

describe("8. Web API base URL and the shared store", () => {
  it("slack.api_url sends Web API calls to that base URL", async () => {
    const withUrl = SlackConfigSchema.parse({ ...config, api_url: recorder.apiUrl, alerts: { rules: [{ name: "via-api-url", kind: "wip", limit: 0, channel: "C0APIURL" }] } });
    await makeBot(withUrl, null).runAlerts();
    expect(recorder.calls.some((call) => call.kind === "chat.postMessage" && call.body.channel === "C0APIURL")).toBe(true);
    expect(() => SlackConfigSchema.parse({ api_url: "slack.com/api" })).toThrow();
  });

  it("metrics and import run beside a running `flowpulse bot`", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "flowpulse-bot-share-"));
    const configFile = path.join(dir, "flowpulse.yaml");
    // api_url: the bot's Web API calls (auth.test at start) go to the recorder, not slack.com.
    writeFileSync(configFile, [
      "slack:", "  host: 127.0.0.1", "  port: 0", `  api_url: ${recorder.apiUrl}`,
      "  alerts:", "    rules:",
      "      - { name: not-invited, kind: wip, limit: 0, channel: C0NOTIN }",
      "      - { name: invited, kind: wip, limit: 0, channel: C0CLIALERTS }", "",
    ].join("\n"));
    const env = { ...process.env, FLOWPULSE_CONFIG: configFile, SLACK_BOT_TOKEN: "xoxb-test", SLACK_SIGNING_SECRET: SECRET };
    const data = path.join(dir, "data");
    let child: ChildProcess | undefined;
    try {
      child = await new Promise<ChildProcess>((resolve, reject) => {
        const started = spawn(process.execPath, [CLI, "--data", data, "bot"], { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
        let log = "";
        const onData = (chunk: Buffer) => {
          log += chunk.toString();
          if (log.includes("listening (http")) resolve(started);
        };
        started.stdout!.on("data", onData);
        started.stderr!.on("data", onData);
        started.on("exit", (code) => reject(new Error(`bot exited early (${code}): ${log}`)));
      });
      const run = promisify(execFile);
      const imported = await run(process.execPath, [CLI, "--data", data, "import", path.join(ROOT, "test", "fixtures", "import", "basic.jsonl")], { cwd: ROOT, env });
      expect(imported.stdout).toMatch(/stored [\d,]+ items? and/);
      const metrics = await run(process.execPath, [CLI, "--data", data, "metrics", "velocity", "--since", "2026-01-01", "--until", "2026-03-01", "--period", "month", "--format", "json"], { cwd: ROOT, env });
      expect((JSON.parse(metrics.stdout) as unknown[]).length).toBeGreaterThan(0);
      // A one-off alert run beside the bot: the failing rule is reported, the next still posts, exit 2.
      recorder.channelErrors.set("C0NOTIN", "not_in_channel");
      const alerts = await run(process.execPath, [CLI, "--data", data, "bot", "--run-alerts"], { cwd: ROOT, env })
        .then(() => ({ code: 0, stdout: "" }), (error: { code: number; stdout: string }) => error);
      recorder.channelErrors.clear();
      expect(alerts.code).toBe(2);
      expect(alerts.stdout).toContain("not-invited: failed - could not be posted to C0NOTIN: not_in_channel");
      expect(alerts.stdout).toMatch(/invited: tripped \(posted tripped\)/);
      expect(recorder.calls.some((call) => call.kind === "chat.postMessage" && call.body.channel === "C0CLIALERTS")).toBe(true);
      const exited = new Promise<number | null>((resolve) => child!.once("exit", resolve));
      child.kill("SIGTERM");
      expect(await exited).toBe(0);
    } finally {
      child?.kill("SIGKILL");
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
