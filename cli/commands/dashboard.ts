// `flowpulse dashboard`: serves the web dashboard (dashboard/) until SIGTERM/SIGINT, on a store
// without `flowpulse serve`: through serve's share when serve runs, otherwise opening the embedded
// store and sharing it as serve does, so imports and syncs can run beside it (and the open page
// updates when they land). serveDashboard() is the one way serve, this command and the demo start it.
import { dashboardAuth, DashboardConfigSchema, type DashboardConfig } from "../../dashboard/config.ts";
import { startDashboard, type DashboardServer } from "../../dashboard/server.ts";
import { forecastSettingsOf } from "../../metrics/forecast-query.ts";
import type { WipLimit } from "../../dashboard/views.ts";
import { shareStore } from "../../store/remote.ts";
import type { Store } from "../../store/store.ts";
import type { Config } from "../config.ts";
import type { CommandContext } from "../context.ts";
import { UsageError } from "../errors.ts";

export const DASHBOARD_USAGE = "flowpulse dashboard [--host ADDRESS] [--port N]";

export interface DashboardCommandOptions {
  host?: string;
  port?: string;
  /** Resolves when the command should stop; signals by default (tests pass their own). */
  until?: Promise<unknown>;
  onReady?(url: string): void;
}

/** The WIP limits the config already sets: the Slack alert rules of kind wip, with their scope. */
export function wipLimits(config: Config): WipLimit[] {
  return (config.slack?.alerts.rules ?? []).flatMap((rule) =>
    rule.kind === "wip"
      ? [{ name: rule.name, limit: rule.limit, ...(rule.stream ? { stream: rule.stream } : {}), ...(rule.team ? { team: rule.team } : {}), ...(rule.flow_type ? { flow_type: rule.flow_type } : {}) }]
      : [],
  );
}

/** Starts the dashboard on `store` as the config says; a config or secret problem is a UsageError. */
export async function serveDashboard(config: Config, store: Store, log: (line: string) => void, dashboard: DashboardConfig = config.dashboard, env: NodeJS.ProcessEnv = process.env): Promise<DashboardServer> {
  let auth;
  try {
    auth = dashboardAuth(dashboard, env);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  try {
    return await startDashboard({
      store,
      host: dashboard.host,
      port: dashboard.port,
      auth,
      defaults: {
        timezone: config.metrics.timezone,
        flowTimeStart: config.metrics.flow_time_start,
        agingPercentile: config.metrics.aging_percentile,
        agingBaselineDays: config.metrics.aging_baseline_days,
      },
      wipLimits: wipLimits(config),
      forecast: forecastSettingsOf(config.metrics.forecast),
      pollMs: dashboard.poll_ms,
      log,
    });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "EADDRINUSE") throw new UsageError(`dashboard port ${dashboard.port} on ${dashboard.host} is taken: set dashboard.port (or --port) to a free one`);
    if (code === "EADDRNOTAVAIL" || code === "ENOTFOUND") throw new UsageError(`dashboard.host ${dashboard.host} is not an address of this machine`);
    throw error;
  }
}

export async function dashboardCommand(context: CommandContext, options: DashboardCommandOptions = {}): Promise<number> {
  const dashboard = DashboardConfigSchema.parse({ ...context.config.dashboard });
  if (options.host !== undefined) dashboard.host = options.host;
  if (options.port !== undefined) {
    const port = Number(options.port);
    if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new UsageError(`--port must be 0-65535 (got "${options.port}")`);
    dashboard.port = port;
  }
  const log = (line: string) => context.err(line + "\n");
  // The dashboard only reads, but it may wait for data: a directory without a store yet is refused
  // by "read", so a mistyped --data is named rather than shown as an empty dashboard.
  const store = await context.openStore("read");
  let share: { url: string; close(): Promise<void> } | undefined;
  let server: DashboardServer | undefined;
  try {
    if (store.kind === "embedded" && context.config.store.kind === "embedded") {
      share = await shareStore(store, context.config.store.path, context.config.serve.share_port);
    }
    server = await serveDashboard(context.config, store, log, dashboard);
    log(`[dashboard] serving ${server.url}${share ? ` (store shared at ${share.url})` : ""}`);
    options.onReady?.(server.url);
    await (options.until ??
      new Promise<void>((resolve) => {
        process.once("SIGINT", resolve);
        process.once("SIGTERM", resolve);
      }));
    log("[dashboard] stopping");
    return 0;
  } finally {
    await server?.close();
    await share?.close();
    await store.close();
  }
}
