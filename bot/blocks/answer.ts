// Block Kit for one `/flow` answer and for help. Pure: data in, blocks out.
import { HELP_EXAMPLES } from "../parse.ts";
import { changeText, formatValue, type ValueKind } from "./format.ts";
import { context, divider, escape, fields, fitToLimits, header, link, section, type Block } from "./kit.ts";

export interface ItemLine { key: string; url: string; title: string; detail: string }

export interface MetricAnswer {
  title: string;
  windowLabel: string;
  /** "defects · team checkout", empty for everything. */
  scopeLabel: string;
  value: number;
  kind: ValueKind;
  /** What the figure is: "items delivered", "p85 flow time (p50 4 d) over 12 finished items". */
  caption: string;
  previous?: number;
  higherIsBetter: boolean;
  /** Figures with no meaningful previous value (a share of the mix, a list of items now). */
  hideChange?: boolean;
  breakdown: { label: string; value: string }[];
  /** Per-period lines when the command asked `by day|week|month`. */
  series?: { title: string; lines: string[] };
  lists: { title: string; items: ItemLine[] }[];
  notes: string[];
  /** The dashboard view of the same figure, when dashboard.public_url is set. */
  dashboardUrl?: string;
}

/** A context line linking to the dashboard (`&` escaped as mrkdwn wants it inside a link). */
export function dashboardLine(url: string, label: string): Block {
  return context(link(url.replace(/&/g, "&amp;"), label));
}

/** Items shown per list before summarising; the rest are counted. */
const ITEMS_PER_LIST = 10;

export function answerBlocks(answer: MetricAnswer): Block[] {
  const blocks: Block[] = [header(answer.title)];
  const figure = formatValue(answer.value, answer.kind);
  const change = changeText(answer.value, answer.previous, answer.kind, answer.higherIsBetter);
  blocks.push(section(`*${figure}* ${escape(answer.caption)}${answer.hideChange ? "" : `\n${change}`}`));
  blocks.push(context([answer.windowLabel, answer.scopeLabel || "all items"].filter(Boolean).map(escape).join(" · ")));
  if (answer.breakdown.length) blocks.push(fields(answer.breakdown));
  if (answer.series && answer.series.lines.length) {
    blocks.push(section(`*${escape(answer.series.title)}*\n\`\`\`${answer.series.lines.join("\n")}\`\`\``));
  }
  for (const list of answer.lists) {
    if (list.items.length === 0) continue;
    blocks.push(divider());
    blocks.push(section(`*${escape(list.title)}*\n${itemLines(list.items)}`));
  }
  if (answer.notes.length) blocks.push(context(...answer.notes.map(escape)));
  if (answer.dashboardUrl) blocks.push(dashboardLine(answer.dashboardUrl, "See it in the Flowpulse dashboard"));
  return fitToLimits(blocks);
}

/** `total`: how many items there are when the list holds only the first of them. */
export function itemLines(items: readonly ItemLine[], max = ITEMS_PER_LIST, total = items.length): string {
  const shown = items.slice(0, max).map((item) => `• ${link(item.url, item.key)} ${escape(truncate(item.title, 80))} — ${escape(item.detail)}`);
  const rest = Math.max(total, items.length) - shown.length;
  if (rest > 0) shown.push(`_… and ${rest} more_`);
  return shown.join("\n");
}

export function answerFallback(answer: MetricAnswer): string {
  return `${answer.title}: ${formatValue(answer.value, answer.kind)} ${answer.caption} (${answer.windowLabel})`;
}

export function helpBlocks(problem?: string): Block[] {
  const blocks: Block[] = [];
  if (problem) blocks.push(section(`:thinking_face: ${escape(problem)}`));
  blocks.push(
    section(
      "*Ask for a flow metric:* `velocity`, `time`, `efficiency`, `load`, `distribution`, `bottlenecks`, `aging`\n" +
        "*Filters:* an item type (`defects`, `features`, `risk`, `debt`), `team:<name>`, `stream:<name>`\n" +
        "*Window:* `last 30d`, `last 2 weeks`, `this month`, `this quarter`, `since 2026-01-01` (default: last 30 days)\n" +
        "*Grouping:* `by day`, `by week`, `by month`\n" +
        "*Forecast:* `forecast 30 features` (when will 30 be done), `forecast by 2027-03-31` (how many by then), with its track record",
    ),
    section(`*Examples*\n${HELP_EXAMPLES.map((example) => `\`${example}\``).join("\n")}`),
  );
  return fitToLimits(blocks);
}

export function errorBlocks(message: string): Block[] {
  return [section(`:warning: ${escape(message)}`)];
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : text.slice(0, max - 1) + "…";
}
