// Number and change wording shared by answers, digests and alerts.

export function formatDays(days: number): string {
  if (!Number.isFinite(days)) return "–";
  if (days < 1) return `${round(days * 24, 1)} h`;
  return `${round(days, 1)} d`;
}

export function formatPercent(share: number): string {
  return Number.isFinite(share) ? `${round(share * 100, share < 0.1 ? 1 : 0)}%` : "–";
}

export function formatCount(n: number, noun: string): string {
  return `${n} ${n === 1 ? noun : noun + "s"}`;
}

export function round(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

export type ValueKind = "count" | "days" | "share";

export function formatValue(value: number, kind: ValueKind): string {
  return kind === "days" ? formatDays(value) : kind === "share" ? formatPercent(value) : String(value);
}

/**
 * "▲ 50% vs 2 in the previous 30 days". Whether up is good depends on the metric (velocity and
 * efficiency up is good, flow time and load up is not), shown as a colour-free word.
 */
export function changeText(current: number, previous: number | undefined, kind: ValueKind, higherIsBetter: boolean): string {
  if (previous === undefined || !Number.isFinite(previous)) return "no previous figure";
  const before = formatValue(previous, kind);
  if (current === previous) return `no change (${before} before)`;
  const up = current > previous;
  const arrow = up ? "▲" : "▼";
  const verdict = up === higherIsBetter ? "better" : "worse";
  if (previous === 0) return `${arrow} from ${before} before (${verdict})`;
  const pct = Math.abs((current - previous) / previous) * 100;
  const amount = kind === "share" ? `${round(Math.abs(current - previous) * 100, 1)} pts` : `${round(pct, pct < 10 ? 1 : 0)}%`;
  return `${arrow} ${amount} vs ${before} before (${verdict})`;
}
