// Slack section: time from a signed `/flow` request reaching the bot's HTTP receiver to the answer
// arriving at the response_url (a local recorder standing in for Slack), over a real store.
// Uses an already-populated embedded store when FLOWPULSE_BENCH_STORE names one; otherwise
// generates `items` items (default 1M, the harness's full size) and imports them first.
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { LogLevel } from "@slack/bolt";
import { createBot, type Bot } from "../../bot/app.ts";
import { SlackConfigSchema } from "../../bot/config.ts";
import { importFiles } from "../../connectors/file/import.ts";
import { MetricsConfigSchema } from "../../core/config.ts";
import { openStore } from "../../store/open.ts";
import type { Store } from "../../store/store.ts";
import { sendSlashCommand, startSlackRecorder, type SlackRecorder } from "../../test/helpers/slack-recorder.ts";
import { writeBenchJsonl } from "../generate.ts";
import type { BenchOptions, BenchResult } from "../types.ts";
import { percentile } from "../stats.ts";

export const name = "slack";
export const description = "/flow command: signed HTTP request to answer posted at response_url (p95 < 1 s)";

const SECRET = "bench-signing-secret";
const COMMANDS = [
  "velocity",
  "velocity defects last 90d by week",
  "time features this quarter",
  "efficiency last 30d",
  "load last 2 weeks",
  "distribution last 30d",
  "bottlenecks",
  "aging",
  "velocity team:payments defects since 2025-01-01",
];

export async function run(options: BenchOptions): Promise<BenchResult> {
  const log = options.log ?? (() => undefined);
  const repeats = options.repeats ?? 20;
  const existing = process.env.FLOWPULSE_BENCH_STORE;
  const dir = existing ? undefined : mkdtempSync(path.join(options.workDir ?? os.tmpdir(), "fp-bench-slack-"));
  let store: Store | undefined;
  let recorder: SlackRecorder | undefined;
  let bot: Bot | undefined;
  const params: Record<string, number | string> = { repeats, commands: COMMANDS.length };
  try {
    if (existing) {
      store = await openStore({ kind: "embedded", path: existing });
      params.store = existing;
    } else {
      const items = options.items ?? 1_000_000;
      const file = path.join(dir!, "bench.jsonl");
      const data = await writeBenchJsonl(file, { items });
      store = await openStore({ kind: "embedded", path: path.join(dir!, "store") });
      const started = performance.now();
      await importFiles(store, [file]);
      log(`imported ${data.items} items / ${data.transitions} transitions in ${((performance.now() - started) / 1000).toFixed(1)} s`);
      params.items = data.items;
      params.transitions = data.transitions;
    }

    recorder = await startSlackRecorder();
    bot = createBot({
      config: SlackConfigSchema.parse({ mode: "http", host: "127.0.0.1", port: 0 }),
      metricsConfig: MetricsConfigSchema.parse({}),
      store,
      secrets: { botToken: "xoxb-bench", signingSecret: SECRET },
      clientOptions: { slackApiUrl: recorder.apiUrl },
      logLevel: LogLevel.ERROR,
      schedules: false,
    });
    const { port } = await bot.start();
    const url = `http://127.0.0.1:${port}`;

    let counter = 0;
    const ask = async (text: string): Promise<{ total: number; ack: number }> => {
      const id = `b${++counter}`;
      const started = performance.now();
      const answered = recorder!.waitFor((call) => call.path === `/respond/${id}`, 30_000);
      const response = await sendSlashCommand(url, SECRET, { text, response_url: recorder!.responseUrl(id) });
      const ack = performance.now() - started;
      if (response.status !== 200) throw new Error(`bot answered ${response.status} to "${text}"`);
      const call = await answered;
      if (!Array.isArray(call.body.blocks) || JSON.stringify(call.body.blocks).includes("could not get those figures")) {
        throw new Error(`"${text}" got no figures: ${JSON.stringify(call.body).slice(0, 300)}`);
      }
      return { total: performance.now() - started, ack };
    };

    for (const text of COMMANDS) await ask(text); // warm-up: first runs load parts
    const totals: number[] = [];
    const acks: number[] = [];
    const perCommand: Record<string, number[]> = {};
    for (let r = 0; r < repeats; r++) {
      for (const text of COMMANDS) {
        const { total, ack } = await ask(text);
        totals.push(total);
        acks.push(ack);
        (perCommand[text] ??= []).push(total);
      }
    }
    totals.sort((a, b) => a - b);
    acks.sort((a, b) => a - b);
    const p95 = percentile(totals, 0.95);
    log(`answer p50 ${percentile(totals, 0.5).toFixed(0)} ms, p95 ${p95.toFixed(0)} ms; ack p95 ${percentile(acks, 0.95).toFixed(0)} ms`);
    return {
      section: name,
      params,
      figures: {
        "answer p50 ms": round(percentile(totals, 0.5)),
        "answer p95 ms": round(p95),
        "answer max ms": round(totals.at(-1)!),
        "ack p95 ms": round(percentile(acks, 0.95)),
        ...Object.fromEntries(Object.entries(perCommand).map(([text, times]) => [`${text} p95 ms`, round(percentile([...times].sort((a, b) => a - b), 0.95))])),
      },
      targets: [
        { name: "command to answer p95 ms", value: round(p95), target: "< 1000", pass: p95 < 1000 },
        { name: "ack p95 ms", value: round(percentile(acks, 0.95)), target: "< 3000", pass: percentile(acks, 0.95) < 3000 },
      ],
    };
  } finally {
    await bot?.stop();
    await recorder?.close();
    await store?.close();
    if (dir && !options.keep) rmSync(dir, { recursive: true, force: true });
  }
}

const round = (n: number) => Math.round(n * 10) / 10;
