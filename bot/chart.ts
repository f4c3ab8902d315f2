// The digest's picture: WIP per day as stacked bars per item type. It is the dashboard's own flow
// load chart (present/charts.js loadOption), drawn by ECharts' server-side SVG renderer
// and turned into a PNG in-process with resvg: no browser, no chart service, nothing leaves the host.
import { existsSync } from "node:fs";
import { Resvg } from "@resvg/resvg-js";
import * as echarts from "echarts";
import { loadOption } from "../present/charts.js";
import type { LoadRow } from "../metrics/api.ts";

const WIDTH = 800;
const HEIGHT = 360;

/** The SVG of the stacked WIP-per-day chart. Pure, so tests can inspect it without rendering. */
export function wipChartSvg(rows: readonly LoadRow[], title: string): string {
  const chart = echarts.init(null, null, { renderer: "svg", ssr: true, width: WIDTH, height: HEIGHT });
  try {
    chart.setOption({ ...loadOption(rows, [], title, "work items in progress at the end of each day"), backgroundColor: "#ffffff" });
    return chart.renderToSVGString();
  } finally {
    chart.dispose();
  }
}

/**
 * The chart's font files when the system has them (Debian's fonts-dejavu-core): resvg then reads
 * two files instead of scanning every system font on each render (measured: ~420 ms to ~150-290 ms
 * for the chart and its PNG together, on a busy two-core machine).
 */
const DEJAVU = ["/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"];
const FONT_FILES = DEJAVU.every((file) => existsSync(file)) ? DEJAVU : undefined;

export function renderPng(svg: string): Buffer {
  const font = FONT_FILES
    ? { fontFiles: FONT_FILES, loadSystemFonts: false, defaultFontFamily: "DejaVu Sans" }
    : { loadSystemFonts: true, defaultFontFamily: "DejaVu Sans" };
  const resvg = new Resvg(svg, { font, background: "#ffffff" });
  return Buffer.from(resvg.render().asPng());
}

export function wipChartPng(rows: readonly LoadRow[], title: string): Buffer {
  return renderPng(wipChartSvg(rows, title));
}
