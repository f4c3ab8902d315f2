// Block Kit for a `/flow forecast` answer: the figures per percentile, the history they rest on,
// any warning about that history, and the track record of the same forecast made on past days
// (metrics/forecast-query.ts). Pure: a forecast in, blocks out.
import { calibrationVerdict, type Forecast } from "../../metrics/forecast-query.ts";
import { dashboardLine } from "./answer.ts";
import { formatCount } from "./format.ts";
import { context, divider, escape, fields, fitToLimits, header, section, type Block } from "./kit.ts";

const WEEKDAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];

/** "Tue 2026-12-15": the weekday helps a person place a date. */
function dayText(day: string): string {
  return `${WEEKDAYS[new Date(`${day}T00:00:00Z`).getUTCDay()]} ${day}`;
}

function scopeText(forecast: Forecast): string {
  const { stream, team, flow_type: type } = forecast.scope;
  return [type ? `${type} items` : "all items", team ? `team ${team}` : "", stream ? `stream ${stream}` : ""].filter(Boolean).join(" · ");
}

export function forecastTitle(forecast: Forecast): string {
  const what = forecast.scope.flow_type ? `${forecast.scope.flow_type} items` : "items";
  return forecast.question.kind === "when"
    ? `Forecast: when will ${forecast.question.items} ${what} be done?`
    : `Forecast: how many ${what} by ${forecast.question.by}?`;
}

/** `dashboardUrl`: the dashboard's forecast view of the same question, when dashboard.public_url is set. */
export function forecastBlocks(forecast: Forecast, notes: readonly string[] = [], dashboardUrl?: string): Block[] {
  const unit = forecast.working_days ? "working days" : "days";
  const blocks: Block[] = [header(forecastTitle(forecast))];
  const h = forecast.history;
  const basis = h.from
    ? `${scopeText(forecast)} · from ${h.days_sampled} ${unit} of history (${h.from} to ${h.to}, ${formatCount(h.items, "item")} finished) · ${forecast.trials.toLocaleString("en-US")} trials`
    : `${scopeText(forecast)} · no history`;
  if (!forecast.ok) {
    blocks.push(section(`:thinking_face: I can't forecast this: ${escape(forecast.reason ?? "")}.`), context(escape(basis)));
  } else if (forecast.question.kind === "when") {
    const rows = (forecast as Extract<Forecast, { question: { kind: "when" } }>).percentiles;
    const p85 = rows.find((row) => row.percentile === 85)!;
    blocks.push(section(p85.date
      ? `*85% likely done by ${dayText(p85.date)}* (within ${p85.days} ${unit}, counting today)`
      : `*Not within ten years* at 85% confidence`));
    blocks.push(fields(rows.map((row) => ({ label: `${row.percentile}% likely by`, value: row.date ? `${dayText(row.date)} (${row.days} ${unit})` : "beyond ten years" }))));
    blocks.push(context(escape(basis)));
  } else {
    const rows = (forecast as Extract<Forecast, { question: { kind: "howmany" } }>).percentiles;
    const p85 = rows.find((row) => row.percentile === 85)!;
    blocks.push(section(`*85% likely: at least ${formatCount(p85.items, "item")}* from today through ${dayText(forecast.question.by)} (${forecast.question.days} ${unit})`));
    blocks.push(fields(rows.map((row) => ({ label: `${row.percentile}% likely`, value: `at least ${formatCount(row.items, "item")}` }))));
    blocks.push(context(escape(basis)));
  }
  if (forecast.warnings.length) blocks.push(section(forecast.warnings.map((w) => `:warning: ${escape(w.message)}`).join("\n")));
  blocks.push(divider(), section(trackRecord(forecast)));
  if (notes.length) blocks.push(context(...notes.map(escape)));
  if (dashboardUrl) blocks.push(dashboardLine(dashboardUrl, "See it in the Flowpulse dashboard"));
  return fitToLimits(blocks);
}

/** How often the same forecast, made on past days from the data known then, came true. */
function trackRecord(forecast: Forecast): string {
  const c = forecast.calibration;
  if (c.forecasts === 0) return `*Track record:* none yet (${escape(c.note ?? "no past forecast could be checked")}).`;
  const lines = c.coverage.map((row) =>
    row.scored ? `${row.percentile}% forecast came true ${row.hits} of ${row.scored} times (${Math.round((row.coverage ?? 0) * 100)}%)` : `${row.percentile}%: not yet checkable`);
  const spacing = c.every_days > 1 ? `, every ${c.every_days} days` : "";
  return `*Track record:* the same forecast made on ${c.forecasts} past days (${c.from} to ${c.to}${spacing}), from the data known then\n${lines.join("\n")}\n_${escape(calibrationVerdict(c))}_`;
}

export function forecastFallback(forecast: Forecast): string {
  if (!forecast.ok) return `${forecastTitle(forecast)} I can't forecast this: ${forecast.reason}.`;
  if (forecast.question.kind === "when") {
    const p85 = (forecast as Extract<Forecast, { question: { kind: "when" } }>).percentiles.find((row) => row.percentile === 85)!;
    return `${forecastTitle(forecast)} 85% likely by ${p85.date ?? "(beyond ten years)"}`;
  }
  const p85 = (forecast as Extract<Forecast, { question: { kind: "howmany" } }>).percentiles.find((row) => row.percentile === 85)!;
  return `${forecastTitle(forecast)} 85% likely at least ${p85.items}`;
}
