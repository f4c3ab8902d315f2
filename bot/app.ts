// The Slack bot: Bolt App (HTTP receiver with Slack's signature check, or Socket Mode), the `/flow`
// command, and the digest and alert schedules. Tokens come in through SlackSecrets (from the
// environment) and are handed to Bolt only; nothing here logs them.
import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import { App, HTTPReceiver, LogLevel, type webApi } from "@slack/bolt";
import type { ScheduledTask } from "node-cron";
import type { MetricsConfig } from "../core/config.ts";
import type { Store } from "../store/store.ts";
import type { SlackConfig, SlackSecrets } from "./config.ts";
import { registerFlowCommand } from "./listeners/commands/flow.ts";
import { guardSlackRequests } from "./http-guard.ts";
import { metricsFor, type BotMetrics } from "./metrics.ts";
import { forecastSettingsOf } from "../metrics/forecast-query.ts";
import { channelTeam } from "./scope.ts";
import { runAlerts, scheduleAlerts, type AlertRunResult } from "./schedules/alerts.ts";
import { runDigest, scheduleDigests, type ScheduleDeps } from "./schedules/digest.ts";

export interface BotOptions {
  config: SlackConfig;
  metricsConfig: MetricsConfig;
  store: Store;
  secrets: SlackSecrets;
  /** Web API client options; tests point slackApiUrl at a local recorder. */
  clientOptions?: webApi.WebClientOptions;
  logLevel?: LogLevel;
  /** false: no cron tasks (digests and alerts run only when called). */
  schedules?: boolean;
  now?: () => number;
  /** dashboard.public_url: answers and digests link to the matching dashboard view. */
  dashboardUrl?: string;
}

export interface Bot {
  app: App;
  metrics: BotMetrics;
  /** Starts receiving (HTTP: listens on config host/port, 0 = any free port) and the schedules. */
  start(): Promise<{ port?: number }>;
  stop(): Promise<void>;
  runDigest(name: string): Promise<void>;
  runAlerts(): Promise<AlertRunResult[]>;
}

const consoleLog = {
  info: (message: string) => console.log(`[flowpulse bot] ${message}`),
  warn: (message: string) => console.warn(`[flowpulse bot] ${message}`),
  error: (message: string) => console.error(`[flowpulse bot] ${message}`),
};

export function createBot(options: BotOptions): Bot {
  const { config, secrets } = options;
  // slack.api_url (a proxy, GovSlack) is the default; a caller's clientOptions (tests) win.
  const clientOptions: webApi.WebClientOptions = {
    ...(config.api_url ? { slackApiUrl: config.api_url } : {}),
    ...options.clientOptions,
  };
  const common = { token: secrets.botToken, logLevel: options.logLevel ?? LogLevel.INFO, clientOptions };
  let app: App;
  if (config.mode === "socket") {
    app = new App({ ...common, socketMode: true, appToken: secrets.appToken ?? "" });
  } else {
    // Bolt's receiver checks x-slack-signature; the guard in front of it refuses oversized bodies
    // and timestamps more than five minutes off (either way) before a body is read.
    const receiver = new HTTPReceiver({ signingSecret: secrets.signingSecret, logLevel: common.logLevel });
    receiver.requestListener = guardSlackRequests(receiver.requestListener, { log: consoleLog });
    app = new App({ ...common, receiver });
  }

  const metrics = metricsFor(options.store, {
    timezone: options.metricsConfig.timezone,
    flowTimeStart: options.metricsConfig.flow_time_start,
    agingPercentile: options.metricsConfig.aging_percentile,
    agingBaselineDays: options.metricsConfig.aging_baseline_days,
  }, forecastSettingsOf(options.metricsConfig.forecast));
  const now = options.now ?? Date.now;
  registerFlowCommand(app, { config, metrics, timezone: options.metricsConfig.timezone, now, log: consoleLog, dashboardUrl: options.dashboardUrl });

  const deps: ScheduleDeps & { store: Store } = { client: app.client, metrics, channelTeams: config.channel_teams, log: consoleLog, now, store: options.store, dashboardUrl: options.dashboardUrl };
  // A digest or rule naming another team than its channel's would be silently narrowed: say so once.
  for (const output of [...config.digests, ...config.alerts.rules]) {
    const forced = channelTeam(config.channel_teams, output.channel);
    if (forced !== undefined && output.team && output.team !== forced) {
      consoleLog.warn(`"${output.name}" asks for team ${output.team} but posts to ${output.channel}, which only sees team ${forced}: it will report team ${forced}`);
    }
  }
  let tasks: ScheduledTask[] = [];

  return {
    app,
    metrics,
    async start() {
      let port: number | undefined;
      if (config.mode === "socket") {
        await app.start();
      } else {
        const server = (await app.start({ port: config.port, host: config.host })) as Server;
        port = (server.address() as AddressInfo).port;
      }
      if (options.schedules !== false) {
        tasks = scheduleDigests(deps, config.digests);
        const alertTask = scheduleAlerts(deps, config.alerts);
        if (alertTask) tasks.push(alertTask);
      }
      consoleLog.info(`listening (${config.mode}${port !== undefined ? `, port ${port}` : ""}), ${config.digests.length} digests, ${config.alerts.rules.length} alert rules`);
      return port === undefined ? {} : { port };
    },
    async stop() {
      for (const task of tasks) await task.destroy();
      tasks = [];
      await app.stop();
    },
    async runDigest(name: string) {
      const digest = config.digests.find((d) => d.name === name);
      if (!digest) throw new Error(`no digest named "${name}" (configured: ${config.digests.map((d) => d.name).join(", ") || "none"})`);
      await runDigest(deps, digest);
    },
    runAlerts: () => runAlerts(deps, config.alerts.rules),
  };
}
