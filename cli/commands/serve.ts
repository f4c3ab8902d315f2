// `flowpulse serve`: the one long-running process. It owns the embedded store (chDB binds a data
// directory to one process), runs whatever the config enables — the Kafka stream, the Slack bot,
// a scheduled incremental Jira sync — and shares the store with other local commands until
// SIGTERM/SIGINT, then stops each part cleanly.
import cron from "node-cron";
import { startAnalysts } from "../../analysts/server.ts";
import { createBot, type Bot } from "../../bot/app.ts";
import { SlackConfigSchema, slackSecrets } from "../../bot/config.ts";
import { startGitHubServices } from "../../connectors/github/serve.ts";
import { syncJira } from "../../connectors/jira/sync.ts";
import { compactDerived } from "../../pipeline/compact.ts";
import { runStream, type StreamHandle } from "../../connectors/kafka/run.ts";
import { serveDashboard } from "./dashboard.ts";
import { purgeDerivedBatches, recoverPendingBatches, SHARED_RECOVERY } from "../../store/derive.ts";
import { openStore } from "../../store/open.ts";
import { findServe, shareStore } from "../../store/remote.ts";
import type { CommandContext } from "../context.ts";
import { UsageError } from "../errors.ts";

export const SERVE_USAGE = "flowpulse serve [--no-stream] [--no-bot] [--no-jira] [--no-github] [--no-dashboard]";

export interface ServeOptions {
  stream?: boolean;
  bot?: boolean;
  jira?: boolean;
  github?: boolean;
  dashboard?: boolean;
  /** Resolves when serve should stop; signals by default (tests pass their own). */
  until?: Promise<unknown>;
  /** Called once every part is up. */
  onReady?(parts: string[]): void;
}

/**
 * How often serve looks for units of work a stopped writer left underived (an import through the
 * share that was killed, say). A look is one small aggregate over refresh_batches.
 */
const RECOVER_EVERY_MS = 5_000;
/** How often serve drops the marks of units derived a while ago (store/derive.ts purgeDerivedBatches). */
const PURGE_EVERY_MS = 10 * 60_000;

/**
 * Runs `work` every `ms`, first after `firstMs` (never two at once), until the returned stop()
 * has awaited the last run.
 */
function every(ms: number, work: () => Promise<unknown>, firstMs = ms): () => Promise<void> {
  let stopped = false;
  let running: Promise<unknown> = Promise.resolve();
  let timer: NodeJS.Timeout;
  const tick = () => {
    running = work().finally(() => {
      if (!stopped) timer = setTimeout(tick, ms);
    });
  };
  timer = setTimeout(tick, firstMs);
  return async () => {
    stopped = true;
    clearTimeout(timer);
    await running;
  };
}

export async function serveCommand(context: CommandContext, options: ServeOptions = {}): Promise<number> {
  const { config } = context;
  const log = (line: string) => context.err(line + "\n");
  if (config.store.kind === "embedded") {
    const other = findServe(config.store.path);
    if (other) throw new UsageError(`flowpulse serve (pid ${other.pid}) already owns ${config.store.path}`);
  }
  const store = await openStore(config.store);
  const stops: (() => Promise<void>)[] = [];
  const parts: string[] = [];
  try {
    if (config.store.kind === "embedded") {
      const share = await shareStore(store, config.store.path, config.serve.share_port, config.analysts.limits);
      stops.push(() => share.close());
      parts.push(`store shared at ${share.url}`);
    }
    if (config.analysts.enabled) {
      // With a ClickHouse server analysts connect to it directly; the endpoint is for the embedded store.
      if (config.store.kind !== "embedded") throw new UsageError("analysts.enabled is for the embedded store: with store.kind server, analysts connect to the ClickHouse server itself");
      const analysts = await startAnalysts({ config: config.analysts, dataPath: config.store.path, log }).catch((error: Error) => {
        throw new UsageError(error.message);
      });
      stops.push(() => analysts.close());
      parts.push(`analysts' SQL (ClickHouse HTTP) on ${analysts.url}`);
    }
    if (config.sources.kafka && options.stream !== false) {
      const stream: StreamHandle = await runStream(config, { store, log, handleSignals: false });
      stops.push(() => stream.stop());
      parts.push(`stream (health on :${stream.port ?? "off"})`);
    }
    if (config.slack && options.bot !== false) {
      const slack = SlackConfigSchema.parse(config.slack);
      const secrets = (() => {
        try {
          return slackSecrets(slack.mode);
        } catch (error) {
          throw new UsageError((error as Error).message);
        }
      })();
      const bot: Bot = createBot({ config: slack, metricsConfig: config.metrics, store, secrets, schedules: true, dashboardUrl: config.dashboard.public_url });
      const started = await bot.start();
      stops.push(() => bot.stop());
      parts.push(`Slack bot (${slack.mode}${started.port ? ` on :${started.port}` : ""})`);
    }
    if (config.dashboard.enabled && options.dashboard !== false) {
      // A taken port costs the dashboard, not the stream and syncs serve exists for; a wrong auth
      // setting still stops serve (serveDashboard throws a UsageError).
      const dashboard = await serveDashboard(config, store, log).catch((error: Error) => {
        if (!(error instanceof UsageError) || !/is taken/.test(error.message)) throw error;
        log(`[serve] dashboard not started: ${error.message}, or dashboard.enabled: false`);
        return undefined;
      });
      if (dashboard) {
        stops.push(() => dashboard.close());
        parts.push(`dashboard at ${dashboard.url}`);
      }
    }
    if (config.sources.jira && options.jira !== false) {
      const abort = new AbortController();
      let running: Promise<unknown> = Promise.resolve();
      const task = cron.schedule(
        config.serve.jira_sync_cron,
        () => {
          running = syncJira({ store, config, signal: abort.signal, log }).catch((error: Error) => log(`[jira] sync failed: ${error.message}`));
          return running;
        },
        { timezone: config.metrics.timezone, noOverlap: true, name: "jira-sync" },
      );
      stops.push(async () => {
        await task.stop();
        abort.abort();
        await running;
      });
      parts.push(`Jira sync (${config.serve.jira_sync_cron})`);
    }
    if (config.sources.github && options.github !== false) {
      // The scheduled sync and, when sources.github.webhook is set, the webhook listener.
      const github = await startGitHubServices({ store, config, log, schedule: config.serve.github_sync_cron, timezone: config.metrics.timezone }).catch((error: Error) => {
        throw new UsageError(error.message);
      });
      stops.push(() => github.stop());
      parts.push(...github.parts);
    }
    // Units of work whose writer stopped before deriving them (a killed import through the share,
    // a crashed sync) are derived here while serve runs, not only at its next start; a live
    // writer's units are left to it (store/derive.ts).
    stops.push(
      every(RECOVER_EVERY_MS, () =>
        recoverPendingBatches(store, SHARED_RECOVERY)
          .then((derived) => derived > 0 && log(`[serve] derived ${derived} unit(s) of work a stopped writer left`))
          .catch((error: Error) => log(`[serve] recovery failed: ${error.message}`)),
      ),
      // First soon after start: a store upgraded from before 0005 brings every mark it ever made.
      every(PURGE_EVERY_MS, () => purgeDerivedBatches(store).catch((error: Error) => log(`[serve] queue purge failed: ${error.message}`)), 30_000),
    );
    parts.push(`recovery (every ${RECOVER_EVERY_MS / 1000} s)`);
    if (config.serve.compact_cron) {
      let running: Promise<unknown> = Promise.resolve();
      const task = cron.schedule(
        config.serve.compact_cron,
        () => {
          const started = performance.now();
          running = compactDerived(store)
            .then((tables) => tables.length && log(`[serve] compacted ${tables.join(", ")} in ${Math.round(performance.now() - started)} ms`))
            .catch((error: Error) => log(`[serve] compaction failed: ${error.message}`));
          return running;
        },
        { timezone: config.metrics.timezone, noOverlap: true, name: "compact-derived" },
      );
      stops.push(async () => {
        await task.stop();
        await running;
      });
      parts.push(`compaction (${config.serve.compact_cron})`);
    }
    log(`[serve] running: ${parts.join("; ")}`);
    options.onReady?.(parts);
    await (options.until ??
      new Promise<void>((resolve) => {
        process.once("SIGINT", resolve);
        process.once("SIGTERM", resolve);
      }));
    log("[serve] stopping");
    return 0;
  } finally {
    // Stop in reverse order of start: the parts that write before the store they write to.
    for (const stop of stops.reverse()) {
      await stop().catch((error: Error) => log(`[serve] while stopping: ${error.message}`));
    }
    await store.close();
  }
}
