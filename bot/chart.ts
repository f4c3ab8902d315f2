// The digest's picture: WIP per day as stacked bars per item type, drawn as an SVG string and
// rendered in-process to PNG with resvg (no browser, no chart service, nothing leaves the host).
import { Resvg } from "@resvg/resvg-js";
import type { LoadRow } from "../metrics/api.ts";

const WIDTH = 800;
const HEIGHT = 360;
const MARGIN = { top: 40, right: 130, bottom: 50, left: 50 };
const PALETTE: Record<string, string> = { feature: "#2e7d32", defect: "#c62828", risk: "#ef6c00", debt: "#1565c0" };
const EXTRA = ["#6a1b9a", "#00838f", "#5d4037", "#9e9d24", "#ad1457", "#37474f"];

const escapeXml = (text: string) => text.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** The SVG of a stacked WIP-per-day chart. Pure, so tests can inspect it without rendering. */
export function wipChartSvg(rows: readonly LoadRow[], title: string): string {
  const days = [...new Set(rows.map((row) => row.day))].sort();
  const types = [...new Set(rows.map((row) => row.flow_type))].sort();
  const colour = (type: string, index: number) => PALETTE[type] ?? EXTRA[index % EXTRA.length]!;
  const wip = new Map(rows.map((row) => [`${row.day}|${row.flow_type}`, row.wip]));
  const totals = days.map((day) => types.reduce((sum, type) => sum + (wip.get(`${day}|${type}`) ?? 0), 0));
  const max = Math.max(1, ...totals);
  const plotW = WIDTH - MARGIN.left - MARGIN.right;
  const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const barW = days.length ? plotW / days.length : plotW;
  const y = (value: number) => MARGIN.top + plotH - (value / max) * plotH;

  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="DejaVu Sans, Arial, sans-serif">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<text x="${MARGIN.left}" y="24" font-size="16" font-weight="bold" fill="#222">${escapeXml(title)}</text>`,
  ];
  // Horizontal grid with a few round ticks.
  const step = niceStep(max);
  for (let tick = 0; tick <= max; tick += step) {
    parts.push(
      `<line x1="${MARGIN.left}" x2="${MARGIN.left + plotW}" y1="${y(tick).toFixed(1)}" y2="${y(tick).toFixed(1)}" stroke="#e0e0e0"/>`,
      `<text x="${MARGIN.left - 6}" y="${(y(tick) + 4).toFixed(1)}" font-size="11" text-anchor="end" fill="#555">${tick}</text>`,
    );
  }
  days.forEach((day, d) => {
    let base = 0;
    types.forEach((type, t) => {
      const value = wip.get(`${day}|${type}`) ?? 0;
      if (value > 0) {
        const top = y(base + value);
        parts.push(
          `<rect class="bar" x="${(MARGIN.left + d * barW + 1).toFixed(1)}" y="${top.toFixed(1)}" width="${Math.max(1, barW - 2).toFixed(1)}" height="${(y(base) - top).toFixed(1)}" fill="${colour(type, t)}"/>`,
        );
      }
      base += value;
    });
  });
  // First, middle and last day under the axis; more would overlap on a 90-day chart.
  const labelled = new Set([0, Math.floor((days.length - 1) / 2), days.length - 1]);
  days.forEach((day, d) => {
    if (!labelled.has(d)) return;
    parts.push(`<text x="${(MARGIN.left + (d + 0.5) * barW).toFixed(1)}" y="${HEIGHT - MARGIN.bottom + 18}" font-size="11" text-anchor="middle" fill="#555">${escapeXml(day)}</text>`);
  });
  types.forEach((type, t) => {
    const ly = MARGIN.top + t * 20;
    parts.push(
      `<rect x="${WIDTH - MARGIN.right + 16}" y="${ly}" width="12" height="12" fill="${colour(type, t)}"/>`,
      `<text x="${WIDTH - MARGIN.right + 34}" y="${ly + 11}" font-size="12" fill="#222">${escapeXml(type)}</text>`,
    );
  });
  if (days.length === 0) {
    parts.push(`<text x="${MARGIN.left + plotW / 2}" y="${MARGIN.top + plotH / 2}" font-size="14" text-anchor="middle" fill="#777">no work in progress in this window</text>`);
  }
  parts.push(`<text x="${MARGIN.left}" y="${HEIGHT - 12}" font-size="11" fill="#777">work items in progress at the end of each day</text>`);
  parts.push("</svg>");
  return parts.join("\n");
}

function niceStep(max: number): number {
  const rough = max / 5;
  const magnitude = 10 ** Math.floor(Math.log10(Math.max(1, rough)));
  for (const factor of [1, 2, 5, 10]) if (factor * magnitude >= rough) return Math.max(1, factor * magnitude);
  return Math.max(1, 10 * magnitude);
}

export function renderPng(svg: string): Buffer {
  const resvg = new Resvg(svg, { font: { loadSystemFonts: true, defaultFontFamily: "DejaVu Sans" }, background: "#ffffff" });
  return Buffer.from(resvg.render().asPng());
}

export function wipChartPng(rows: readonly LoadRow[], title: string): Buffer {
  return renderPng(wipChartSvg(rows, title));
}
