// Types of charts.js (plain JavaScript, so the browser loads the very file the server imports).
import type {
  AgingBand, AgingWipItem, CumulativeFlowRow, DistributionPeriodRow, FlowTimePoint, FlowTimeSummary, LoadRow, Period, StateTimeRow, VelocityRow,
} from "../metrics/api.ts";
import type { Forecast } from "../metrics/forecast-query.ts";

/** An ECharts option object (echarts' EChartsOption; kept loose so the browser file needs no types). */
export type ChartOption = Record<string, unknown>;
export interface LimitLine { name: string; limit: number }

export const PALETTE: readonly string[];
export function typeColour(type: string, others?: readonly string[]): string;
export function escapeHtml(text: string): string;
export function throughputOption(rows: readonly VelocityRow[], period: Period, title?: string): ChartOption;
export function loadOption(rows: readonly LoadRow[], limits?: readonly LimitLine[], title?: string, subtitle?: string): ChartOption;
export function scatterOption(points: readonly FlowTimePoint[], summary: FlowTimeSummary): ChartOption;
export function cfdOption(rows: readonly CumulativeFlowRow[]): ChartOption;
export function agingOption(items: readonly AgingWipItem[], bands: readonly AgingBand[], flowType?: string): ChartOption;
export function distributionOption(periods: readonly DistributionPeriodRow[], scope: "completed" | "wip"): ChartOption;
export function timeInStateOption(rows: readonly StateTimeRow[]): ChartOption;
export function sparklineOption(trend: readonly { period_start: string; value: number | null }[], colour?: string): ChartOption;
export function forecastOption(forecast: Forecast): ChartOption;
