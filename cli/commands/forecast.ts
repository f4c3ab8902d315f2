// `flowpulse forecast when N` and `flowpulse forecast howmany --by DATE`: the Monte Carlo forecast of
// metrics/forecast-query.ts for one scope, printed with its history, warnings and calibration
// (docs/forecasting.md). The demo prints its forecast through renderForecast too.
import type { ForecastConfig } from "../../core/config.ts";
import { addDays } from "../../metrics/forecast.ts";
import { calibrationVerdict, forecastHowMany, forecastSettingsOf, forecastWhen, localDay, type Forecast, type ForecastScope, type ForecastSettings } from "../../metrics/forecast-query.ts";
import type { Store } from "../../store/store.ts";
import { withStore, type CommandContext } from "../context.ts";
import { UsageError } from "../errors.ts";
import { outputFormat } from "../metrics.ts";
import { printable, renderJson, renderTable, type Row } from "../render.ts";

export const FORECAST_USAGE =
  "flowpulse forecast when N | howmany --by YYYY-MM-DD\n" +
  "    [--type T] [--team T] [--stream S] [--history DAYS] [--working-days] [--trials N] [--seed N]\n" +
  "    [--format table|json]";

export interface ForecastCommandOptions {
  type?: string;
  team?: string;
  stream?: string;
  by?: string;
  history?: string;
  trials?: string;
  seed?: string;
  workingDays?: boolean;
  format?: string;
}

function wholeNumber(option: string, text: string | undefined, min: number): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`--${option} must be a whole number, at least ${min} (got "${text}")`);
  return n;
}

/** The config's forecast settings with the command line's on top. */
export function forecastSettings(config: ForecastConfig, options: ForecastCommandOptions = {}): ForecastSettings {
  const base = forecastSettingsOf(config);
  return {
    trials: wholeNumber("trials", options.trials, 100) ?? base.trials,
    seed: wholeNumber("seed", options.seed, 0) ?? base.seed,
    historyDays: wholeNumber("history", options.history, 7) ?? base.historyDays,
    workingDays: options.workingDays || base.workingDays,
  };
}

export async function forecastCommand(context: CommandContext, positionals: string[], options: ForecastCommandOptions): Promise<number> {
  const format = outputFormat(options.format, ["table", "json"]);
  const [question, count, ...rest] = positionals;
  if (rest.length) throw new UsageError(`unexpected "${rest.join(" ")}"\nUsage: ${FORECAST_USAGE}`);
  const settings = forecastSettings(context.config.metrics.forecast, options);
  const scope: ForecastScope = { stream: options.stream, team: options.team, flowType: options.type, timezone: context.config.metrics.timezone };
  let run: (store: Store) => Promise<Forecast>;
  if (question === "when") {
    const items = Number(count);
    if (count === undefined || !Number.isInteger(items) || items < 1) throw new UsageError(`forecast when needs a number of items, a whole number at least 1 (got "${count ?? ""}"), e.g. flowpulse forecast when 30`);
    if (options.by !== undefined) throw new UsageError("--by belongs to forecast howmany; forecast when N answers with dates");
    run = (store) => forecastWhen(store, scope, items, settings);
  } else if (question === "howmany") {
    if (count !== undefined) throw new UsageError(`forecast howmany takes its date from --by, not "${count}", e.g. flowpulse forecast howmany --by 2027-03-31`);
    const by = options.by;
    if (!by || !/^\d{4}-\d{2}-\d{2}$/.test(by)) throw new UsageError(`forecast howmany needs --by YYYY-MM-DD (the last day counted)${by ? `, not "${by}"` : ""}`);
    // Checked before the store is opened: a mistyped date costs nothing.
    if (addDays(by, 0) !== by) throw new UsageError(`--by ${by} is not a date`);
    const today = localDay(Date.now(), scope.timezone!);
    if (by < today) throw new UsageError(`--by ${by} is in the past (today is ${today} in ${scope.timezone})`);
    run = (store) => forecastHowMany(store, scope, by, settings);
  } else {
    throw new UsageError(`forecast what? "when N" or "howmany --by YYYY-MM-DD"${question ? `, not "${question}"` : ""}\nUsage: ${FORECAST_USAGE}`);
  }
  const forecast = await withStore(context, run);
  context.out(format === "json" ? renderJson(forecast) : renderForecast(forecast));
  return 0;
}

const percent = (share: number | null) => (share === null ? "-" : `${Math.round(share * 100)}%`);
const count = (n: number) => n.toLocaleString("en-US");

function scopeText(forecast: Forecast): string {
  const { stream, team, flow_type: type } = forecast.scope;
  const parts = [type ? `${type} items` : "all item types", team ? `team ${team}` : "", stream ? `stream ${stream}` : ""].filter(Boolean);
  return printable(parts.join(" · "));
}

/** The forecast as text: answer, the history it rests on, warnings, then its track record. */
export function renderForecast(forecast: Forecast): string {
  const lines: string[] = [];
  const unit = forecast.working_days ? "working days" : "days";
  if (forecast.question.kind === "when") lines.push(`Forecast: when will ${count(forecast.question.items)} items be done? (${scopeText(forecast)})`);
  else lines.push(`Forecast: how many items will be done from ${forecast.first_day} through ${forecast.question.by} (${count(forecast.question.days)} ${unit})? (${scopeText(forecast)})`);
  const h = forecast.history;
  lines.push(
    h.from
      ? `From today (${forecast.first_day}, ${forecast.scope.timezone}), resampling ${h.days_sampled} ${unit} of throughput from ${h.from} to ${h.to}: ` +
          `${count(h.items)} items finished, ${h.zero_days} ${unit} with none; ${count(forecast.trials)} trials, seed ${forecast.seed}.`
      : `From today (${forecast.first_day}, ${forecast.scope.timezone}): no history to resample.`,
  );
  lines.push("");
  if (!forecast.ok) {
    lines.push(`Cannot forecast: ${forecast.reason}.`);
  } else if (forecast.question.kind === "when") {
    const rows: Row[] = (forecast as Extract<Forecast, { question: { kind: "when" } }>).percentiles.map((row) => ({
      confidence: `${row.percentile}%`,
      [unit]: row.days === null ? "beyond reach" : row.days,
      "done by the end of": row.date ?? "-",
    }));
    lines.push(renderTable(rows).trimEnd());
    lines.push(`(${forecast.question.items} items or more finished within that many ${unit} in that share of trials)`);
  } else {
    const rows: Row[] = (forecast as Extract<Forecast, { question: { kind: "howmany" } }>).percentiles.map((row) => ({
      confidence: `${row.percentile}%`,
      "at least (items)": row.items,
    }));
    lines.push(renderTable(rows).trimEnd());
    lines.push(`(at least that many items finished by the end of ${forecast.question.by} in that share of trials)`);
  }
  if (forecast.warnings.length) {
    lines.push("", "Warnings:");
    for (const warning of forecast.warnings) lines.push(`  ! ${warning.message}`);
  }
  lines.push("", ...calibrationLines(forecast));
  return lines.join("\n") + "\n";
}

/** The track record: how often the same forecast, made on past days, came true. */
export function calibrationLines(forecast: Forecast): string[] {
  const c = forecast.calibration;
  if (c.forecasts === 0) return [`Calibration: none yet (${c.note ?? "no past forecast could be checked"}).`];
  const lines = [
    `Calibration: the same question asked on ${c.forecasts} past days (${c.from} to ${c.to}${c.every_days > 1 ? `, every ${c.every_days} days` : ""}), each from only the data before it (${count(c.trials)} trials each):`,
  ];
  const rows: Row[] = c.coverage.map((row) => ({
    confidence: `${row.percentile}%`,
    "came true": row.scored ? `${row.hits} of ${row.scored}` : "-",
    coverage: percent(row.coverage),
    claimed: percent(row.claimed),
  }));
  lines.push(renderTable(rows).trimEnd());
  lines.push(`Reading: ${calibrationVerdict(c)} (docs/forecasting.md).`);
  return lines;
}
