// Minimal Block Kit constructors plus the limits Slack enforces. Slack refuses a whole message that
// breaks one limit, so every builder goes through fitToLimits(), which summarises instead of failing.

export const LIMITS = {
  blocks: 50,
  sectionText: 3000,
  fieldText: 2000,
  fields: 10,
  headerText: 150,
  contextElements: 10,
  contextText: 2000,
  imageTitle: 2000,
  altText: 2000,
  /** chat.postMessage `text` fallback. */
  fallbackText: 3000,
} as const;

export interface TextObject { type: "mrkdwn" | "plain_text"; text: string }
export interface HeaderBlock { type: "header"; text: { type: "plain_text"; text: string } }
export interface SectionBlock { type: "section"; text?: TextObject; fields?: TextObject[] }
export interface ContextBlock { type: "context"; elements: TextObject[] }
export interface DividerBlock { type: "divider" }
/** An image by public URL, or a file uploaded to Slack (files.completeUploadExternal) by id. */
export type ImageBlock =
  | { type: "image"; image_url: string; alt_text: string; title?: { type: "plain_text"; text: string } }
  | { type: "image"; slack_file: { id: string }; alt_text: string; title?: { type: "plain_text"; text: string } };
export type Block = HeaderBlock | SectionBlock | ContextBlock | DividerBlock | ImageBlock;

export function header(text: string): HeaderBlock {
  return { type: "header", text: { type: "plain_text", text: clip(text, LIMITS.headerText) } };
}

export function section(markdown: string): SectionBlock {
  return { type: "section", text: { type: "mrkdwn", text: clipLines(markdown, LIMITS.sectionText) } };
}

/** A section of label/value fields; more than 10 pairs are folded into the last field. */
export function fields(pairs: readonly { label: string; value: string }[]): SectionBlock {
  const texts = pairs.map((pair) => `*${escape(pair.label)}*\n${pair.value}`);
  if (texts.length > LIMITS.fields) {
    const rest = pairs.slice(LIMITS.fields - 1);
    texts.splice(LIMITS.fields - 1, texts.length, `*${rest.length} more*\n${rest.map((pair) => `${escape(pair.label)} ${pair.value}`).join(", ")}`);
  }
  return { type: "section", fields: texts.map((text) => ({ type: "mrkdwn", text: clip(text, LIMITS.fieldText) })) };
}

export function context(...texts: string[]): ContextBlock {
  return {
    type: "context",
    elements: texts.slice(0, LIMITS.contextElements).map((text) => ({ type: "mrkdwn", text: clip(text, LIMITS.contextText) })),
  };
}

export const divider = (): DividerBlock => ({ type: "divider" });

export function image(fileId: string, title: string, altText: string): ImageBlock {
  return { type: "image", slack_file: { id: fileId }, alt_text: clip(altText, LIMITS.altText), title: { type: "plain_text", text: clip(title, LIMITS.imageTitle) } };
}

/** Escapes the three characters Slack's mrkdwn treats as markup. */
export function escape(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** `<url|KEY>` when there is a usable url, else the key in code format. */
export function link(url: string, label: string): string {
  const safeLabel = escape(label).replace(/\|/g, "¦");
  if (/^https?:\/\/[^\s<>|]+$/.test(url)) return `<${url}|${safeLabel}>`;
  return `\`${safeLabel}\``;
}

export function clip(text: string, max: number): string {
  return text.length <= max ? text : text.slice(0, max - 1) + "…";
}

/** Clips at a line boundary and says how many lines were left out. */
export function clipLines(text: string, max: number): string {
  if (text.length <= max) return text;
  const lines = text.split("\n");
  const kept: string[] = [];
  let length = 0;
  for (const line of lines) {
    // Room for the "… and N more" line.
    if (length + line.length + 1 > max - 40) break;
    kept.push(line);
    length += line.length + 1;
  }
  if (kept.length === 0) return clip(text, max);
  return `${kept.join("\n")}\n_… and ${lines.length - kept.length} more_`;
}

/**
 * Enforces every limit on a finished message: texts clipped, and past 50 blocks the tail is
 * replaced by one context block counting what was left out.
 */
export function fitToLimits(blocks: readonly Block[]): Block[] {
  const fitted = blocks.map((block): Block => {
    switch (block.type) {
      case "header":
        return header(block.text.text);
      case "section": {
        const out: SectionBlock = { type: "section" };
        if (block.text) out.text = { ...block.text, text: clipLines(block.text.text, LIMITS.sectionText) };
        if (block.fields) out.fields = block.fields.slice(0, LIMITS.fields).map((f) => ({ ...f, text: clip(f.text, LIMITS.fieldText) }));
        return out;
      }
      case "context":
        return { type: "context", elements: block.elements.slice(0, LIMITS.contextElements).map((e) => ({ ...e, text: clip(e.text, LIMITS.contextText) })) };
      default:
        return block;
    }
  });
  if (fitted.length <= LIMITS.blocks) return fitted;
  const kept = fitted.slice(0, LIMITS.blocks - 1);
  kept.push(context(`_${fitted.length - kept.length} more sections left out to fit one Slack message._`));
  return kept;
}

/** Plain-text fallback for notifications and screen readers. */
export function fallbackText(text: string): string {
  return clip(text, LIMITS.fallbackText);
}

/**
 * What every message the bot sends goes through (answers, help, errors, digests, alerts): the
 * fallback text clipped and every block fitted, so no input can make a message Slack refuses or a
 * reply as large as the request.
 */
export function postable(text: string, blocks: readonly Block[]): { text: string; blocks: Block[] } {
  return { text: fallbackText(text), blocks: fitToLimits(blocks) };
}
