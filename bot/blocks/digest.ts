// Block Kit for the scheduled digest and for alerts. Pure: data in, blocks out.
import type { ItemLine } from "./answer.ts";
import { dashboardLine, itemLines } from "./answer.ts";
import { context, divider, escape, fields, fitToLimits, header, section, type Block } from "./kit.ts";

export interface DigestFigure { label: string; value: string; change: string }

export interface DigestData {
  name: string;
  windowLabel: string;
  scopeLabel: string;
  figures: DigestFigure[];
  bottlenecks: string[];
  aging: ItemLine[];
  /** The dashboard's overview of the same scope and window, when dashboard.public_url is set. */
  dashboardUrl?: string;
}

export function digestBlocks(digest: DigestData): Block[] {
  const blocks: Block[] = [
    header(`Flow digest: ${digest.name}`),
    context(escape(`${digest.windowLabel} vs the ${digest.windowLabel.replace(/^last /, "")} before · ${digest.scopeLabel || "all items"}`)),
    fields(digest.figures.map((figure) => ({ label: figure.label, value: `*${figure.value}*\n${figure.change}` }))),
    divider(),
    section(`*Top bottlenecks*\n${digest.bottlenecks.length ? digest.bottlenecks.map((line) => `• ${escape(line)}`).join("\n") : "_none stood out_"}`),
    section(`*Aging work in progress*\n${digest.aging.length ? itemLines(digest.aging) : "_nothing older than usual_"}`),
  ];
  if (digest.dashboardUrl) blocks.push(dashboardLine(digest.dashboardUrl, "Open these figures in the Flowpulse dashboard"));
  return fitToLimits(blocks);
}

export function digestFallback(digest: DigestData): string {
  return `Flow digest ${digest.name}: ${digest.figures.map((figure) => `${figure.label} ${figure.value}`).join(", ")}`;
}

export interface AlertMessage {
  rule: string;
  tripped: boolean;
  /** One sentence: what crossed which line. */
  summary: string;
  items: ItemLine[];
  /** How many items are behind it, when more than `items` holds. */
  total?: number;
}

export function alertBlocks(alert: AlertMessage): Block[] {
  const icon = alert.tripped ? ":rotating_light:" : ":white_check_mark:";
  const blocks: Block[] = [
    section(`${icon} *${escape(alert.rule)}* ${alert.tripped ? "tripped" : "recovered"}\n${escape(alert.summary)}`),
  ];
  if (alert.items.length) blocks.push(section(`*Items behind it*\n${itemLines(alert.items, 15, alert.total)}`));
  return fitToLimits(blocks);
}

export function alertFallback(alert: AlertMessage): string {
  return `${alert.rule} ${alert.tripped ? "tripped" : "recovered"}: ${alert.summary}`;
}
