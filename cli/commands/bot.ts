// `flowpulse bot`: runs the Slack bot (the /flow command, digests, alerts) until SIGTERM/SIGINT.
// `--run-digest NAME` and `--run-alerts` do one run now and exit, for trying a config out. Like
// serve, a running bot that owns the embedded store shares it with other local commands.
import { createBot } from "../../bot/app.ts";
import { SlackConfigSchema, slackSecrets } from "../../bot/config.ts";
import { shareStore } from "../../store/remote.ts";
import type { CommandContext } from "../context.ts";
import { UsageError } from "../errors.ts";

export const BOT_USAGE = "flowpulse bot [--port N] [--run-digest NAME | --run-alerts]";

export interface BotCommandOptions {
  port?: string;
  runDigest?: string;
  runAlerts?: boolean;
}

export async function botCommand(context: CommandContext, options: BotCommandOptions = {}, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const slack = SlackConfigSchema.parse(context.config.slack ?? {});
  if (options.port !== undefined) {
    const port = Number(options.port);
    if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new UsageError(`--port must be 0-65535 (got "${options.port}")`);
    slack.port = port;
  }
  let secrets;
  try {
    secrets = slackSecrets(slack.mode, env);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (options.runDigest !== undefined && !slack.digests.some((digest) => digest.name === options.runDigest)) {
    throw new UsageError(`no digest named "${options.runDigest}" in slack.digests (configured: ${slack.digests.map((d) => d.name).join(", ") || "none"})`);
  }
  const once = options.runDigest !== undefined || options.runAlerts;
  // Through a running `flowpulse serve` when there is one; otherwise the bot opens the store. A
  // long-running bot may start before any data arrives (and it records alert state), so it may
  // create the store; a one-off digest or alert run only reads, and a mistyped --data is named.
  const store = await context.openStore(once ? "read" : "write");
  const bot = createBot({ config: slack, metricsConfig: context.config.metrics, store, secrets, schedules: !once, dashboardUrl: context.config.dashboard.public_url });
  let share: { url: string; close(): Promise<void> } | undefined;
  try {
    // chDB binds its data directory to one process: a long-running bot that opened it shares it as
    // serve does, so import, metrics and one-off runs work beside it.
    if (!once && store.kind === "embedded" && context.config.store.kind === "embedded") {
      share = await shareStore(store, context.config.store.path, context.config.serve.share_port);
      context.err(`[bot] store shared at ${share.url}\n`);
    }
    if (options.runDigest !== undefined) {
      await bot.runDigest(options.runDigest);
      return 0;
    }
    if (options.runAlerts) {
      const results = await bot.runAlerts();
      for (const result of results) {
        if (result.error) context.out(`${result.rule}: failed - ${result.error}\n`);
        else context.out(`${result.rule}: ${result.evaluation?.tripped ? "tripped" : "ok"}${result.posted ? ` (posted ${result.posted})` : ""} - ${result.evaluation?.summary ?? ""}\n`);
      }
      // A rule that could not post (the bot not invited, a wrong channel id) is for a person to fix.
      return results.some((result) => result.error) ? 2 : 0;
    }
    await bot.start();
    await new Promise<void>((resolve) => {
      process.once("SIGINT", resolve);
      process.once("SIGTERM", resolve);
    });
    context.err("[bot] stopping\n");
    await bot.stop();
    return 0;
  } finally {
    await share?.close();
    await store.close();
  }
}
