// Chart definitions: ECharts options built from the metric API's rows, with no DOM and no
// ECharts import, so the same definition is drawn by the page (dashboard/ serves this file as
// assets/charts.js to echarts in the browser) and by the Slack digest (echarts' server-side SVG
// rendering, bot/chart.ts). Types: charts.d.ts.

/**
 * Okabe & Ito's palette, which people with the common colour-vision deficiencies tell apart. The
 * four flow item types keep one colour everywhere; other names take the rest in order.
 */
export const PALETTE = ["#0072B2", "#D55E00", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#F0E442", "#000000"];
const TYPE_COLOURS = { feature: "#0072B2", defect: "#D55E00", risk: "#E69F00", debt: "#009E73" };
const OTHER_COLOURS = ["#CC79A7", "#56B4E9", "#000000", "#F0E442"];

/** The colour of a flow item type; `others` lists the other names of the same chart in order. */
export function typeColour(type, others = []) {
  if (TYPE_COLOURS[type]) return TYPE_COLOURS[type];
  const index = Math.max(0, others.filter((name) => !TYPE_COLOURS[name]).indexOf(type));
  return OTHER_COLOURS[index % OTHER_COLOURS.length];
}

/** Text from the store (titles, states) goes into tooltips as HTML: escape it. */
export function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const FONT = "DejaVu Sans, Arial, sans-serif";
const AXIS_NAME = { nameLocation: "middle", nameTextStyle: { color: "#333", fontSize: 12 } };

function base(title, subtitle) {
  return {
    animation: false,
    textStyle: { fontFamily: FONT },
    title: { text: title, subtext: subtitle ?? "", left: 8, top: 4, textStyle: { fontSize: 15, color: "#222" }, subtextStyle: { color: "#555" } },
    grid: { left: 64, right: 24, top: subtitle ? 78 : 64, bottom: 56, containLabel: false },
    tooltip: { trigger: "axis", confine: true },
    aria: { enabled: true },
  };
}

const sorted = (values) => [...new Set(values)].sort();

/** Stacked bars of a count per x value and type (throughput, load). */
function stackedBars(rows, xKey, valueKey, options) {
  const xs = sorted(rows.map((row) => row[xKey]));
  const types = sorted(rows.map((row) => row.flow_type));
  const value = new Map(rows.map((row) => [`${row[xKey]}|${row.flow_type}`, row[valueKey]]));
  const option = base(options.title, options.subtitle);
  option.legend = { top: options.subtitle ? 48 : 30, right: 16, data: types };
  option.xAxis = { type: "category", data: xs, name: options.xName, ...AXIS_NAME, nameGap: 30, axisLabel: { color: "#444" } };
  option.yAxis = { type: "value", name: options.yName, ...AXIS_NAME, nameGap: 42, minInterval: 1, axisLabel: { color: "#444" } };
  option.series = types.map((type) => ({
    name: type,
    type: "bar",
    stack: "total",
    barCategoryGap: "15%",
    itemStyle: { color: typeColour(type, types) },
    data: xs.map((x) => value.get(`${x}|${type}`) ?? 0),
  }));
  if (xs.length === 0) option.graphic = emptyText(options.emptyText ?? "nothing in this window");
  return option;
}

function emptyText(text) {
  return [{ type: "text", left: "center", top: "middle", style: { text, fill: "#666", fontSize: 14, fontFamily: FONT } }];
}

const PERIOD_WORD = { day: "day", week: "week (weeks start Monday)", month: "month" };

/** Throughput run chart: items finished 'done' per period, per type (velocity rows). */
export function throughputOption(rows, period, title = "How many items do we finish?") {
  return stackedBars(rows, "period_start", "items", {
    title,
    subtitle: `Flow velocity: items finished (done) per ${PERIOD_WORD[period] ?? period}, by type`,
    xName: `${period} starting`,
    yName: "items finished",
  });
}

/**
 * Flow load over time: WIP at the end of each day, stacked per type (load rows), with a dashed
 * line per configured WIP limit. The Slack digest draws this same chart.
 */
export function loadOption(rows, limits = [], title = "How much work is in progress?", subtitle = "Flow load: items in active or waiting states at the end of each day, by type") {
  const option = stackedBars(rows, "day", "wip", { title, subtitle, xName: "day", yName: "items in progress", emptyText: "no work in progress in this window" });
  if (limits.length && option.series.length) {
    option.series[0].markLine = {
      symbol: "none",
      lineStyle: { color: "#000", type: "dashed", width: 2 },
      label: { formatter: (p) => `WIP limit ${p.value}`, position: "insideEndTop", color: "#000" },
      data: limits.map((limit) => ({ yAxis: limit.limit, name: limit.name })),
    };
    const top = Math.max(...limits.map((limit) => limit.limit));
    option.yAxis.max = (extent) => Math.max(extent.max, Math.ceil(top * 1.1));
  }
  return option;
}

/** The tooltip of a point that is one item: its key, type and title, then `detail(item)` (HTML). */
function itemTooltip(detail) {
  return {
    trigger: "item",
    confine: true,
    formatter: (p) => {
      const item = p.data.item;
      return `<b>${escapeHtml(item.key)}</b> ${escapeHtml(item.flow_type)}<br>${escapeHtml(item.title)}<br>${detail(item)}<br><i>click to open</i>`;
    },
  };
}

/**
 * Flow time scatterplot: each item finished in the window by finish date and flow time, with the
 * p50/p85/p95 of all of them (flowTimeSummary) as lines. Point data carry the item for tooltips
 * and clicks.
 */
export function scatterOption(points, summary) {
  const types = sorted(points.map((point) => point.flow_type));
  const option = base("How long do items take?", "Flow time: days from start to finish of each item done; lines: percentiles over all of them");
  option.legend = { top: 48, right: 16, data: types };
  option.tooltip = itemTooltip((item) => `${item.days.toFixed(1)} days, finished ${escapeHtml(item.finished_at.slice(0, 10))}`);
  option.xAxis = { type: "time", name: "finish date", ...AXIS_NAME, nameGap: 30, axisLabel: { color: "#444" } };
  option.yAxis = { type: "value", name: "flow time (days)", ...AXIS_NAME, nameGap: 42, axisLabel: { color: "#444" } };
  const lines = [["p50", summary.p50_days], ["p85", summary.p85_days], ["p95", summary.p95_days]].filter(([, value]) => value !== null);
  option.series = types.map((type, index) => ({
    name: type,
    type: "scatter",
    symbolSize: 6,
    itemStyle: { color: typeColour(type, types), opacity: 0.75 },
    data: points
      .filter((point) => point.flow_type === type)
      .map((point) => ({ value: [point.finished_at.replace(" ", "T") + "Z", point.days], item: point })),
    ...(index === 0 && lines.length
      ? {
          markLine: {
            symbol: "none",
            silent: true,
            lineStyle: { color: "#333", type: "dashed" },
            label: { formatter: (p) => `${p.name} ${Number(p.value).toFixed(1)} d`, position: "insideEndTop", color: "#222" },
            data: lines.map(([name, value]) => ({ name, yAxis: value })),
          },
        }
      : {}),
  }));
  if (points.length === 0) option.graphic = emptyText("no item finished in this window");
  return option;
}

/**
 * Cumulative flow diagram: stacked areas per day, 'done' at the bottom and the active/waiting
 * states above it from the last in the workflow to the first, as items move up through them.
 */
export function cfdOption(rows) {
  const days = sorted(rows.map((row) => row.day));
  const bands = [...new Map(rows.map((row) => [`${row.band}|${row.state}`, row])).values()]
    .sort((a, b) => b.rank - a.rank || a.state.localeCompare(b.state));
  const value = new Map(rows.map((row) => [`${row.day}|${row.band}|${row.state}`, row.items]));
  const option = base("Where does work pile up?", "Cumulative flow: items in each active/waiting state at the end of each day, and items done since the window began");
  const label = (band) => (band.band === "done" ? "done (since window start)" : band.state);
  option.legend = { top: 48, right: 16, data: bands.map(label) };
  option.xAxis = { type: "category", boundaryGap: false, data: days, name: "day", ...AXIS_NAME, nameGap: 30, axisLabel: { color: "#444" } };
  option.yAxis = { type: "value", name: "items", ...AXIS_NAME, nameGap: 42, minInterval: 1, axisLabel: { color: "#444" } };
  option.series = bands.map((band, index) => ({
    name: label(band),
    type: "line",
    stack: "cfd",
    symbol: "none",
    areaStyle: { opacity: 0.85 },
    lineStyle: { width: 1 },
    itemStyle: { color: band.band === "done" ? "#009E73" : PALETTE.filter((c) => c !== "#009E73")[index % 7] },
    data: days.map((day) => value.get(`${day}|${band.band}|${band.state}`) ?? 0),
  }));
  if (days.length === 0) option.graphic = emptyText("nothing in this window");
  return option;
}

/** The bands of the aging chart, palest to darkest: below p50, p50-p70, p70-p85, p85-p95, above. */
const BAND_COLOURS = ["rgba(0,158,115,0.10)", "rgba(240,228,66,0.20)", "rgba(230,159,0,0.20)", "rgba(213,94,0,0.20)", "rgba(204,121,167,0.25)"];

/**
 * Aging WIP: each item in progress by its current state (workflow order) and age, over the bands
 * of the aging baseline's flow time percentiles: of the type chosen, or of all types.
 */
export function agingOption(items, bands, flowType = "") {
  const states = [...new Map(items.map((item) => [item.current_state, item.state_rank])).entries()]
    .sort((a, b) => a[1] - b[1] || a[0].localeCompare(b[0]))
    .map(([state]) => state);
  const types = sorted(items.map((item) => item.flow_type));
  const band = bands.find((b) => b.flow_type === flowType) ?? bands.find((b) => b.flow_type === "");
  const option = base(
    "Which items in progress are getting old?",
    band
      ? `Aging WIP: age of each item in progress by state; bands: flow time percentiles of ${flowType || "all types"} finished in the baseline (${band.items} items)`
      : "Aging WIP: age of each item in progress by state (no finished items in the baseline for bands)",
  );
  option.legend = { top: 48, right: 16, data: types };
  option.tooltip = itemTooltip((item) => `${item.age_days.toFixed(1)} days old, in ${escapeHtml(item.current_state)}`);
  option.yAxis = { type: "value", name: "age (days since start)", ...AXIS_NAME, nameGap: 42, axisLabel: { color: "#444" } };
  // Points of one state spread across its column (deterministically, in their order) so they do not hide each other.
  const seen = new Map();
  const spread = (state) => {
    const n = seen.get(state) ?? 0;
    seen.set(state, n + 1);
    return Math.round((((n * 0.618) % 1) - 0.5) * 60);
  };
  const top = Math.ceil(Math.max(1, ...items.map((item) => item.age_days), band ? band.p95_days : 0) * 1.08);
  option.xAxis = { type: "category", data: states, name: "current state (workflow order)", ...AXIS_NAME, nameGap: 30, axisLabel: { color: "#444" } };
  option.yAxis.max = top;
  option.series = types.map((type, index) => ({
    name: type,
    type: "scatter",
    symbolSize: 8,
    itemStyle: { color: typeColour(type, types), opacity: 0.85 },
    data: items
      .filter((item) => item.flow_type === type)
      .map((item) => ({ value: [item.current_state, item.age_days], symbolOffset: [spread(item.current_state), 0], item })),
    ...(index === 0 && band
      ? {
          markArea: {
            silent: true,
            label: { position: "insideTopRight", color: "#333", fontSize: 11 },
            data: [
              [0, band.p50_days, "below p50"],
              [band.p50_days, band.p70_days, "p50-p70"],
              [band.p70_days, band.p85_days, "p70-p85"],
              [band.p85_days, band.p95_days, "p85-p95"],
              [band.p95_days, top, "above p95"],
            ].map(([from, to, name], i) => [
              { name, yAxis: from, itemStyle: { color: BAND_COLOURS[i] } },
              { yAxis: to },
            ]),
          },
        }
      : {}),
  }));
  if (items.length === 0) option.graphic = emptyText("no work in progress");
  return option;
}

/** Flow distribution per period: each type's share (%) of the items finished, or of the WIP at the period's end. */
export function distributionOption(periods, scope) {
  const rows = periods.filter((row) => row.scope === scope);
  const option = stackedBars(
    rows.map((row) => ({ ...row, percent: Math.round(row.share * 1000) / 10 })),
    "period_start",
    "percent",
    {
      title: scope === "completed" ? "What kind of work do we finish?" : "What kind of work is in progress?",
      subtitle: scope === "completed" ? "Flow distribution: share of each type among the items finished per period" : "Flow distribution: share of each type in WIP at the end of each period",
      xName: "period starting",
      yName: "share of items (%)",
    },
  );
  option.yAxis.max = 100;
  option.yAxis.minInterval = undefined;
  return option;
}

/** Time in state: median and p85 of the days items spent in each state (time-in-state rows), most total time first. */
export function timeInStateOption(rows) {
  const shown = [...rows].sort((a, b) => b.total_days - a.total_days).slice(0, 15).reverse();
  const option = base("Where do items spend their time?", "Time in state: days per item in each state (median and 85th percentile), most total time at the top");
  option.legend = { top: 48, right: 16, data: ["median", "85th percentile"] };
  option.grid.left = 140;
  option.yAxis = { type: "category", data: shown.map((row) => `${row.state} (${row.flow_state})`), axisLabel: { color: "#444" } };
  option.xAxis = { type: "value", name: "days in state", ...AXIS_NAME, nameGap: 30, axisLabel: { color: "#444" } };
  option.series = [
    { name: "median", type: "bar", itemStyle: { color: "#56B4E9" }, data: shown.map((row) => row.median_days) },
    { name: "85th percentile", type: "bar", itemStyle: { color: "#0072B2" }, data: shown.map((row) => row.p85_days) },
  ];
  if (shown.length === 0) option.graphic = emptyText("no item left a state in this window");
  return option;
}

/** A small trend line for the overview; gaps where a period has no figure. */
export function sparklineOption(trend, colour = "#0072B2") {
  return {
    animation: false,
    grid: { left: 2, right: 2, top: 4, bottom: 4 },
    xAxis: { type: "category", show: false, data: trend.map((point) => point.period_start) },
    yAxis: { type: "value", show: false, scale: true },
    tooltip: { trigger: "axis", confine: true },
    series: [{ type: "line", symbol: "none", lineStyle: { color: colour, width: 2 }, connectNulls: false, data: trend.map((point) => point.value) }],
  };
}

/**
 * Forecast distribution (metrics/forecast-query.ts): trials per outcome as bars on a value axis,
 * "when": days from today until N items are done; "how many": items done by the date. Dashed
 * lines mark the 50/70/85/95th percentiles the forecast states.
 */
export function forecastOption(forecast) {
  const when = forecast.question.kind === "when";
  const unit = forecast.working_days ? "working days" : "days";
  const option = base(
    when ? `When will ${forecast.question.items} items be done?` : `How many items by ${forecast.question.by}?`,
    when
      ? `Monte Carlo: share of ${forecast.trials.toLocaleString("en-US")} trials finishing on each day; lines: percentiles (done within that many ${unit})`
      : `Monte Carlo: share of ${forecast.trials.toLocaleString("en-US")} trials finishing each number of items; lines: percentiles (at least that many)`,
  );
  option.legend = undefined;
  option.tooltip = {
    trigger: "item",
    confine: true,
    formatter: (p) => when
      ? `${p.data.value[0]} ${unit} (done by the end of ${escapeHtml(p.data.date)}): ${p.data.trials} trials`
      : `${p.data.value[0]} items: ${p.data.trials} trials, at least this many in ${(p.data.share * 100).toFixed(1)}%`,
  };
  option.xAxis = {
    type: "value",
    name: when ? `${unit} from today (${forecast.first_day})` : `items finished from ${forecast.first_day} through ${forecast.question.by}`,
    ...AXIS_NAME, nameGap: 30, minInterval: 1, scale: true, axisLabel: { color: "#444" },
  };
  option.yAxis = { type: "value", name: "share of trials (%)", ...AXIS_NAME, nameGap: 42, axisLabel: { color: "#444" } };
  const total = forecast.trials;
  const data = when
    ? forecast.distribution.map((row) => ({ value: [row.days, Math.round((row.trials / total) * 10_000) / 100], date: row.date, trials: row.trials }))
    : forecast.distribution.map((row) => ({ value: [row.items, Math.round((row.trials / total) * 10_000) / 100], trials: row.trials, share: row.at_least }));
  const marks = forecast.percentiles
    .map((row) => [row.percentile, when ? row.days : row.items])
    .filter(([, value]) => value !== null);
  option.series = [{
    name: "trials",
    type: "bar",
    barCategoryGap: "10%",
    itemStyle: { color: PALETTE[0] },
    data,
    markLine: {
      symbol: "none",
      silent: true,
      lineStyle: { color: PALETTE[1], type: "dashed", width: 2 },
      label: { formatter: (p) => `p${p.name}: ${p.value} ${when ? (forecast.working_days ? "working d" : "d") : "items"}`, position: "insideEndTop", color: "#222" },
      data: marks.map(([percentile, value]) => ({ name: String(percentile), xAxis: value })),
    },
  }];
  if (data.length === 0) option.graphic = emptyText(forecast.reason ? `cannot forecast: ${forecast.reason}` : "no forecast");
  return option;
}
