// The `flowpulse` command line. Global options (--config, --data) may come before or after the
// command. Exit status (docs/cli.md): 0 all done; 1 done, but some records were rejected; 2 nothing
// done, the user must fix something (one line on stderr); 70 a bug (its stack on stderr), kept apart
// from 1 so a script never reads a crash as "imported, some rejected".
import { realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseArgs, type ParseArgsConfig } from "node:util";
import { importFiles, type ImportFormat, type ImportSummary } from "../connectors/file/import.ts";
import { METRIC_NAMES } from "../metrics/api.ts";
import { sqlFile } from "../store/sql.ts";
import { makeContext, withStore, type CommandContext, type GlobalOptions } from "./context.ts";
import { runDemo } from "./demo.ts";
import { SERVE_USAGE, serveCommand } from "./commands/serve.ts";
import { STREAM_USAGE, streamCommand } from "./commands/stream.ts";
import { SQL_USAGE, sqlCommand } from "./commands/sql.ts";
import { BOT_USAGE, botCommand } from "./commands/bot.ts";
import { FORECAST_USAGE, forecastCommand } from "./commands/forecast.ts";
import { DASHBOARD_USAGE, dashboardCommand } from "./commands/dashboard.ts";
import { REMAP_GITHUB_USAGE, SYNC_GITHUB_USAGE, remapGitHubCommand, syncGitHubCommand } from "./commands/sync-github.ts";
import { REMAP_JIRA_USAGE, SYNC_JIRA_USAGE, remapJiraCommand, syncJiraCommand } from "./commands/sync-jira.ts";
import { UsageError, errorReport } from "./errors.ts";
import { metricFilters, metricName, outputFormat, renderMetric } from "./metrics.ts";
import { ProgressReporter } from "./progress.ts";
import { printable, render, type Row } from "./render.ts";

type Options = NonNullable<ParseArgsConfig["options"]>;
type Values = Record<string, string | boolean | undefined>;

interface Command {
  summary: string;
  usage: string;
  options: Options;
  run(context: CommandContext, values: Values, positionals: string[], global: GlobalOptions): Promise<number | void>;
}

const GLOBAL_OPTIONS: Options = {
  config: { type: "string" },
  data: { type: "string" },
  help: { type: "boolean", short: "h" },
};

const FILTER_OPTIONS: Options = {
  type: { type: "string" },
  team: { type: "string" },
  stream: { type: "string" },
  since: { type: "string" },
  until: { type: "string" },
  period: { type: "string" },
  format: { type: "string" },
};

const str = (v: string | boolean | undefined) => (typeof v === "string" ? v : undefined);

function positiveInt(option: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--${option} must be a whole number, at least 1 (got "${text}")`);
  return n;
}

const COMMANDS: Record<string, Command> = {
  import: {
    summary: "import canonical items and transitions from JSONL or CSV files",
    usage: "flowpulse import FILE... [--format jsonl|csv]",
    options: { format: { type: "string" } },
    async run(context, values, files) {
      if (files.length === 0) throw new UsageError("name at least one file to import");
      const format = str(values.format);
      if (format !== undefined && format !== "jsonl" && format !== "csv") throw new UsageError(`--format must be jsonl or csv, not "${format}"`);
      const progress = new ProgressReporter();
      const summary = await withStore(
        context,
        (store) => importFiles(store, files, { format: format as ImportFormat | undefined, onProgress: progress.update }),
        "write",
      );
      progress.done();
      context.out(importSummaryText(summary));
      // 1: the import ran, but some records were refused (they are in `flowpulse rejected`).
      return summary.rejected > 0 ? 1 : 0;
    },
  },
  rejected: {
    summary: "list recorded rejections, newest first",
    usage: "flowpulse rejected [--source S] [--limit N] [--format table|json|csv]",
    options: { source: { type: "string" }, limit: { type: "string" }, format: { type: "string" } },
    async run(context, values) {
      const format = outputFormat(str(values.format));
      const limit = positiveInt("limit", str(values.limit), 20);
      const rows = await withStore(context, (store) =>
        store.query<Row>(sqlFile("queries/rejected.sql"), { source: str(values.source) ?? "", limit }),
      );
      context.out(render(rows, format, { maxWidth: 80 }));
    },
  },
  metrics: {
    summary: `print a metric: ${METRIC_NAMES.join(", ")}`,
    usage:
      "flowpulse metrics velocity|time|efficiency|load|distribution|bottlenecks|aging\n" +
      "    [--type T] [--team T] [--stream S] [--since DATE] [--until DATE] [--period day|week|month]\n" +
      "    [--format table|json|csv]",
    options: FILTER_OPTIONS,
    async run(context, values, positionals) {
      if (positionals.length > 1) throw new UsageError(`one metric at a time (got ${positionals.join(", ")})`);
      const name = metricName(positionals[0]);
      const format = outputFormat(str(values.format));
      const filters = metricFilters(
        { type: str(values.type), team: str(values.team), stream: str(values.stream), since: str(values.since), until: str(values.until), period: str(values.period) },
        context.config,
      );
      const text = await withStore(context, (store) => renderMetric(store, name, filters, format));
      context.out(text);
    },
  },
  forecast: {
    summary: "forecast when N items will be done, or how many by a date, with the forecast's track record",
    usage: FORECAST_USAGE,
    options: {
      type: { type: "string" }, team: { type: "string" }, stream: { type: "string" }, by: { type: "string" }, history: { type: "string" },
      trials: { type: "string" }, seed: { type: "string" }, "working-days": { type: "boolean" }, format: { type: "string" },
    },
    async run(context, values, positionals) {
      return forecastCommand(context, positionals, {
        type: str(values.type), team: str(values.team), stream: str(values.stream), by: str(values.by), history: str(values.history),
        trials: str(values.trials), seed: str(values.seed), workingDays: values["working-days"] === true, format: str(values.format),
      });
    },
  },
  sql: {
    summary: "run one read-only SQL statement on the store (through serve when it runs)",
    usage: SQL_USAGE,
    options: { format: { type: "string" } },
    async run(context, values, positionals) {
      return sqlCommand(context, positionals, { format: str(values.format), tty: process.stdout.isTTY, write: (bytes) => process.stdout.write(bytes) });
    },
  },
  stream: {
    summary: "consume order, incident and flow events from Kafka into the store until stopped",
    usage: STREAM_USAGE,
    options: { brokers: { type: "string" }, group: { type: "string" }, port: { type: "string" } },
    async run(context, values) {
      return streamCommand(context, { brokers: str(values.brokers), group: str(values.group), port: str(values.port) });
    },
  },
  bot: {
    summary: "run the Slack bot: /flow answers, scheduled digests and alerts",
    usage: BOT_USAGE,
    options: { port: { type: "string" }, "run-digest": { type: "string" }, "run-alerts": { type: "boolean" } },
    async run(context, values) {
      return botCommand(context, { port: str(values.port), runDigest: str(values["run-digest"]), runAlerts: values["run-alerts"] === true });
    },
  },
  sync: {
    summary: "fetch new and changed issues from a source into the store (sources: jira, github)",
    usage: `${SYNC_JIRA_USAGE}\n       ${SYNC_GITHUB_USAGE}`,
    options: { full: { type: "boolean" } },
    async run(context, values, positionals) {
      if (positionals.length === 1 && positionals[0] === "github") return syncGitHubCommand(context, { full: values.full === true });
      if (positionals.length !== 1 || positionals[0] !== "jira") throw new UsageError(`name the source to sync: ${SYNC_JIRA_USAGE}, or ${SYNC_GITHUB_USAGE}`);
      return syncJiraCommand(context, { full: values.full === true });
    },
  },
  remap: {
    summary: "re-map stored raw payloads with the current config (sources: jira, github)",
    usage: `${REMAP_JIRA_USAGE}\n       ${REMAP_GITHUB_USAGE}`,
    options: {},
    async run(context, _values, positionals) {
      if (positionals.length === 1 && positionals[0] === "github") return remapGitHubCommand(context);
      if (positionals.length !== 1 || positionals[0] !== "jira") throw new UsageError(`name the source to re-map: ${REMAP_JIRA_USAGE}`);
      return remapJiraCommand(context);
    },
  },
  serve: {
    summary: "run stream, bot, Jira and GitHub syncs in one process that owns the store and shares it",
    usage: SERVE_USAGE,
    options: {
      "no-stream": { type: "boolean" }, "no-bot": { type: "boolean" }, "no-jira": { type: "boolean" }, "no-github": { type: "boolean" }, "no-dashboard": { type: "boolean" },
    },
    async run(context, values) {
      return serveCommand(context, {
        stream: values["no-stream"] !== true, bot: values["no-bot"] !== true, jira: values["no-jira"] !== true, github: values["no-github"] !== true,
        dashboard: values["no-dashboard"] !== true,
      });
    },
  },
  dashboard: {
    summary: "serve the web dashboard of every flow metric (flowpulse serve does too)",
    usage: DASHBOARD_USAGE,
    options: { host: { type: "string" }, port: { type: "string" } },
    async run(context, values) {
      return dashboardCommand(context, { host: str(values.host), port: str(values.port) });
    },
  },
  demo: {
    summary: "generate a realistic sample into a fresh store and print every metric",
    usage: "flowpulse demo [--data DIR] [--items N] [--seed N] [--serve]",
    options: { items: { type: "string" }, seed: { type: "string" }, serve: { type: "boolean" } },
    async run(context, values, _positionals, global) {
      await runDemo(context, {
        data: global.data,
        items: positiveInt("items", str(values.items), 2400),
        seed: positiveInt("seed", str(values.seed), 42),
        serve: values.serve === true,
      });
    },
  },
};

const count = (n: number) => n.toLocaleString("en-US");
const plural = (n: number, one: string, many = `${one}s`) => `${count(n)} ${n === 1 ? one : many}`;

/**
 * What an import did, in words that claim no more than is known: records read, what was stored
 * (records that repeated an earlier one of their batch are stored once and said so), what was
 * refused, with every value from the input passed through printable().
 */
export function importSummaryText(summary: ImportSummary): string {
  const seconds = summary.elapsedMs / 1000;
  const rate = Math.round(summary.read / Math.max(seconds, 0.001));
  const items = summary.items - summary.repeats.items;
  const transitions = summary.transitions - summary.repeats.transitions;
  const repeats = summary.repeats.items + summary.repeats.transitions;
  const lines = [
    `Read ${plural(summary.read, "record")} from ${plural(summary.files, "file")} in ${seconds.toFixed(1)} s (${count(rate)} records/s): ` +
      `stored ${plural(items, "item")} and ${plural(transitions, "transition")}, rejected ${count(summary.rejected)}.`,
  ];
  if (repeats > 0) {
    lines.push(
      `  ${plural(repeats, "record")} repeated an earlier one (the same item_id, or item_id and event_id) and ${repeats === 1 ? "was" : "were"} stored once.`,
    );
  }
  for (const r of summary.firstRejections) lines.push(`  rejected ${printable(r.reference)}: ${printable(r.reason)}`);
  if (summary.rejected > summary.firstRejections.length) {
    lines.push(`  ... and ${count(summary.rejected - summary.firstRejections.length)} more: flowpulse rejected --source import`);
  }
  return lines.join("\n") + "\n";
}

function help(): string {
  const lines = [
    "flowpulse: Flow Framework metrics from your delivery data",
    "",
    "Usage: flowpulse <command> [options]",
    "",
    "Commands:",
    ...Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(10)} ${c.summary}`),
    "",
    "Global options:",
    "  --config FILE   config file (default: $FLOWPULSE_CONFIG or ./flowpulse.yaml; defaults without one)",
    "  --data DIR      use the embedded store in DIR",
    "  -h, --help      help for a command: flowpulse <command> --help",
    "",
    "Start with: flowpulse demo",
  ];
  return lines.join("\n") + "\n";
}

/** Splits off the command name: the first argument that is neither an option nor its value. */
function findCommand(argv: readonly string[]): { name?: string; rest: string[] } {
  const rest = [...argv];
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i] as string;
    if (arg === "--") break;
    if (arg === "--config" || arg === "--data") {
      i++;
      continue;
    }
    if (arg.startsWith("-")) continue;
    rest.splice(i, 1);
    return { name: arg, rest };
  }
  return { rest };
}

let pipeHandled = false;

export async function main(argv: readonly string[]): Promise<number> {
  if (!pipeHandled) {
    pipeHandled = true;
    // `flowpulse ... | head`: the reader left, which is not an error.
    process.stdout.on("error", (error: NodeJS.ErrnoException) => {
      if (error.code === "EPIPE") process.exit(0);
      throw error;
    });
  }
  try {
    const { name, rest } = findCommand(argv);
    if (!name || name === "help") {
      process.stdout.write(name === "help" && rest[0] && COMMANDS[rest[0]] ? `Usage: ${COMMANDS[rest[0]]!.usage}\n` : help());
      return name || rest.includes("--help") || rest.includes("-h") ? 0 : 2;
    }
    const command = COMMANDS[name];
    if (!command) throw new UsageError(`unknown command "${name}"; commands: ${Object.keys(COMMANDS).join(", ")}`);
    let parsed;
    try {
      parsed = parseArgs({ args: rest, options: { ...GLOBAL_OPTIONS, ...command.options }, allowPositionals: true, strict: true });
    } catch (error) {
      throw new UsageError(`${(error as Error).message.split(". To specify")[0]}\nUsage: ${command.usage}`);
    }
    const values = parsed.values as Values;
    if (values.help) {
      process.stdout.write(`Usage: ${command.usage}\n`);
      return 0;
    }
    const global: GlobalOptions = { config: str(values.config), data: str(values.data) };
    const context = makeContext(global);
    return (await command.run(context, values, parsed.positionals, global)) ?? 0;
  } catch (error) {
    const report = errorReport(error);
    process.stderr.write(report.text);
    return report.status;
  }
}

/** True when this file is the program being run (`tsx cli/main.ts`), not imported. */
function isEntry(): boolean {
  const entry = process.argv[1];
  if (!entry) return false;
  try {
    return realpathSync(entry) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

/** How long a finished command may take to wind down (flush output, close sockets) before it is ended. */
const WIND_DOWN_MS = 10_000;

/**
 * Sets the exit code of a command that has finished, and makes sure the process then ends: anything
 * still holding it open by now (a timer or a socket nobody closed) is a bug, said on stderr, rather
 * than a sync that never exits and scheduled runs piling up behind it. Long-running commands
 * (serve, bot, dashboard, stream) finish only when told to stop.
 */
export function exitWhenFinished(code: number, windDownMs = WIND_DOWN_MS): void {
  process.exitCode = code;
  const check = () => {
    // Output a slow reader has not taken yet (a pager; pipes are asynchronous on macOS) is not
    // something left open: wait for it rather than cut it short.
    if (process.stdout.writableLength > 0 || process.stderr.writableLength > 0) {
      setTimeout(check, windDownMs).unref();
      return;
    }
    process.stderr.write(`flowpulse: the command finished but something still held the process ${windDownMs / 1000} s later; exiting (please report this)\n`);
    process.exit(code);
  };
  setTimeout(check, windDownMs).unref();
}

if (isEntry()) exitWhenFinished(await main(process.argv.slice(2)));
