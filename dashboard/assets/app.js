// The dashboard page: reads its view and filters from the address (so a link shares them), asks the
// server for one named view at a time, draws it with the chart definitions of charts.js, and
// reloads when the server says the store's data changed. Every chart has its figures as a table too.
/* global document, window, location, history, fetch, EventSource, URLSearchParams, Node, performance, setTimeout */
import {
  agingOption, cfdOption, distributionOption, forecastOption, loadOption, scatterOption, sparklineOption, throughputOption, timeInStateOption, typeColour,
} from "./charts.js";

const FILTER_KEYS = ["stream", "team", "type", "window", "since", "until", "period"];
const tabs = [...document.querySelectorAll('[role="tab"]')];
const VIEWS = tabs.map((tab) => tab.dataset.view);
const form = document.getElementById("filters");
const main = document.getElementById("view");
const message = document.getElementById("message");
const live = document.getElementById("live");

/**
 * ECharts (1 MB) is loaded by this script rather than by the page, and only when a view needs it:
 * a chart view asks for it beside its data, the overview after its figures are drawn (they are
 * tables), so the browser is not parsing it while the first figures are on their way; on a busy
 * two-core machine the parse takes CPU the store needs to answer.
 */
let echartsLoaded;
function loadEcharts() {
  echartsLoaded ??= new Promise((resolve, reject) => {
    const script = document.createElement("script");
    script.src = "assets/echarts.min.js";
    script.onload = () => resolve(window.echarts);
    script.onerror = () => reject(new Error("the chart library (assets/echarts.min.js) did not load"));
    document.head.append(script);
  });
  return echartsLoaded;
}
let echarts;

let state = readAddress();
let drawn = [];
let generation = 0;
let loads = 0;

function readAddress() {
  const params = new URLSearchParams(location.search);
  const view = VIEWS.includes(params.get("view")) ? params.get("view") : "overview";
  const filters = {};
  // Unknown keys are kept and sent: the server names them, rather than the page dropping them quietly.
  for (const [key, value] of params) if (key !== "view" && value !== "") filters[key] = value;
  return { view, filters };
}

function address(next) {
  const params = new URLSearchParams();
  if (next.view !== "overview") params.set("view", next.view);
  for (const [key, value] of Object.entries(next.filters)) params.set(key, value);
  const query = params.toString();
  return location.pathname + (query ? `?${query}` : "");
}

function go(next) {
  state = next;
  history.pushState(null, "", address(state));
  return load();
}

// ---------------------------------------------------------------------------------------------
// Small DOM helpers

function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) if (value !== undefined && value !== null) node.setAttribute(name, String(value));
  for (const child of children) if (child !== undefined && child !== null) node.append(child instanceof Node ? child : String(child));
  return node;
}

/** A link to an item at its source; only http(s) addresses become links. */
function itemLink(item) {
  return /^https?:\/\//i.test(item.url ?? "") ? el("a", { href: item.url, target: "_blank", rel: "noopener noreferrer" }, item.key) : el("span", {}, item.key);
}

function openItem(params) {
  const url = params.data?.item?.url;
  if (url && /^https?:\/\//i.test(url)) window.open(url, "_blank", "noopener");
}

function chart(parent, option, { label, small = false, onClick } = {}) {
  const box = el("div", { class: small ? "chart small" : "chart", role: "img", "aria-label": label, "data-chart": label });
  parent.append(box);
  const instance = echarts.init(box, null, { renderer: "svg" });
  instance.setOption(option);
  if (onClick) instance.on("click", onClick);
  drawn.push(instance);
  return instance;
}

/** The figures behind a chart, as a table a screen reader (and a test) can read. */
function dataTable(parent, caption, columns, rows, open = false) {
  const table = el(
    "table",
    { "data-table": caption },
    el("caption", {}, caption),
    el("thead", {}, el("tr", {}, ...columns.map((column) => el("th", { scope: "col" }, column.label ?? column.key)))),
    el(
      "tbody",
      {},
      ...rows.map((row) =>
        el("tr", {}, ...columns.map((column) => {
          const value = column.render ? column.render(row) : row[column.key];
          return el("td", { "data-key": column.key, class: typeof value === "string" ? "text" : undefined }, value ?? "–");
        })),
      ),
    ),
  );
  parent.append(el("details", open ? { open: "" } : {}, el("summary", {}, `Data table: ${caption}`), table));
}

function section(title, note) {
  const node = el("section", {}, el("h2", {}, title), note ? el("p", { class: "note" }, note) : null);
  main.append(node);
  return node;
}

function clear() {
  for (const instance of drawn) instance.dispose();
  drawn = [];
  main.replaceChildren();
}

const days = (value) => (value === null || value === undefined ? "–" : `${value.toFixed(1)} d`);
const percent = (value) => (value === null || value === undefined ? "–" : `${(value * 100).toFixed(1)}%`);
const count = (value) => (value === null || value === undefined ? "–" : value.toLocaleString("en-US"));

/** Pivots rows to one row per x value with a column per type. */
function pivot(rows, xKey, valueKey) {
  const types = [...new Set(rows.map((row) => row.flow_type))].sort();
  const byX = new Map();
  for (const row of rows) {
    if (!byX.has(row[xKey])) byX.set(row[xKey], { [xKey]: row[xKey] });
    byX.get(row[xKey])[row.flow_type] = row[valueKey];
  }
  const out = [...byX.values()].sort((a, b) => String(a[xKey]).localeCompare(String(b[xKey])));
  for (const row of out) for (const type of types) row[type] ??= 0;
  return { types, rows: out };
}

// ---------------------------------------------------------------------------------------------
// Views

const METRIC_CARDS = [
  ["velocity", "Flow velocity", "items finished (done) in the window", count],
  ["time", "Flow time", "85th percentile, days from start to finish", days],
  ["efficiency", "Flow efficiency", "active time / flow time of items done", percent],
  ["load", "Flow load", "items in progress at the window's end", count],
  ["distribution", "Flow distribution", "share of the items finished", percent],
];

function change(current, previous, format) {
  if (current === null || previous === null) return el("span", {}, "–");
  const delta = current - previous;
  if (delta === 0) return el("span", {}, "no change");
  const text = format === percent ? `${(Math.abs(delta) * 100).toFixed(1)} pts` : format === days ? `${Math.abs(delta).toFixed(1)} d` : count(Math.abs(delta));
  return el("span", { class: delta > 0 ? "up" : "down", "aria-label": `${delta > 0 ? "up" : "down"} ${text}` }, text);
}

function renderOverview(data, filters) {
  const shown = `${new Date(filters.sinceMs).toISOString().slice(0, 10)} – ${new Date(filters.untilMs - 1).toISOString().slice(0, 10)}`;
  const before = `${new Date(data.previous.sinceMs).toISOString().slice(0, 10)} – ${new Date(data.previous.untilMs - 1).toISOString().slice(0, 10)}`;
  const top = section("Overview: how is our flow, and how did it change?", `This window ${shown} (UTC dates) against the one before, ${before}; trend per ${filters.period} (flow load: per day).`);
  const cards = el("div", { class: "cards" });
  top.append(cards);
  const sparks = [];
  for (const [key, title, what, format] of METRIC_CARDS) {
    const body = el("tbody");
    for (const row of data.rows) {
      const figure = row[key];
      const spark = el("div", { class: "spark", role: "img", "aria-label": `${title} trend for ${row.flow_type}` });
      body.append(
        el("tr", { "data-type": row.flow_type },
          el("td", {}, row.flow_type),
          el("td", { "data-metric": key, "data-window": "current", "data-value": figure.current ?? "" }, format(figure.current)),
          el("td", { "data-metric": key, "data-window": "previous", "data-value": figure.previous ?? "" }, format(figure.previous)),
          el("td", {}, change(figure.current, figure.previous, format)),
          el("td", {}, spark)),
      );
      if (figure.trend.some((point) => point.value !== null)) sparks.push([spark, figure.trend, row.flow_type === "all types" ? "#333" : typeColour(row.flow_type)]);
    }
    cards.append(
      el("div", { class: "card", "data-card": key },
        el("h2", {}, title),
        el("p", { class: "note" }, what),
        el("table", {}, el("thead", {}, el("tr", {}, ...["type", "this window", "previous", "change", "trend"].map((h) => el("th", { scope: "col" }, h)))), body)),
    );
  }
  // The figures are the first thing to read; the trends are drawn after the browser has shown them.
  return async () => {
    echarts = await loadEcharts();
    await new Promise((resolve) => window.requestAnimationFrame(() => setTimeout(resolve, 0)));
    for (const [box, trend, colour] of sparks) {
      if (!box.isConnected) return;
      const instance = echarts.init(box, null, { renderer: "svg" });
      instance.setOption(sparklineOption(trend, colour));
      drawn.push(instance);
    }
  };
}

function renderBottleneckLists(data, limit) {
  const aging = section("Aging items: in progress longer than their type usually takes", "Older than their type's usual flow time (the metrics.aging_percentile of the items finished recently, 85th by default); most overdue first. Links open the item at its source.");
  if (data.aging.length === 0) aging.append(el("p", {}, "No item in progress is past its type's threshold."));
  else {
    dataTable(aging, "aging items", [
      { key: "key", label: "item", render: itemLink },
      { key: "flow_type", label: "type" },
      { key: "team" },
      { key: "current_state", label: "state" },
      { key: "age_days", label: "age (days)" },
      { key: "threshold_days", label: "threshold (days)" },
      { key: "title" },
    ], data.aging.slice(0, limit), true);
  }
  const states = section("Bottlenecks: where time goes and queues grow", "Time in state: each item's total time in the state, counted in the window in which it last left it. Growing queues: states whose count at week end grew week after week.");
  dataTable(states, "time in state", [
    { key: "state" }, { key: "flow_state", label: "flow state" }, { key: "items" }, { key: "median_days", label: "median (days)" },
    { key: "p85_days", label: "p85 (days)" }, { key: "total_days", label: "total (days)" },
  ], data.timeInState.slice(0, limit), true);
  if (data.growingQueues.length === 0) states.append(el("p", {}, "No queue has grown three weeks running."));
  else {
    dataTable(states, "growing queues", [
      { key: "state" }, { key: "weeks_growing", label: "weeks growing" }, { key: "queue_before", label: "items then" }, { key: "queue_now", label: "items now" },
    ], data.growingQueues, true);
  }
}

/** The forecast view's question: "when will N be done" or "how many by DATE", kept in the address. */
function forecastQuestionForm(question) {
  const ask = (filters) => {
    const next = { ...state.filters };
    delete next.items;
    delete next.by;
    go({ view: state.view, filters: { ...next, ...filters } });
  };
  const items = el("input", { type: "number", name: "items", min: 1, step: 1, value: question.kind === "when" ? question.items : "", "aria-label": "number of items" });
  const by = el("input", { type: "date", name: "by", value: question.kind === "howmany" ? question.by : "", "aria-label": "last day counted" });
  items.addEventListener("change", () => ask(items.value === "" ? {} : { items: items.value }));
  by.addEventListener("change", () => ask(by.value === "" ? {} : { by: by.value }));
  const node = el("form", { class: "question", "aria-label": "Forecast question", "data-question": question.kind },
    el("label", {}, "When will ", items, " items be done?"),
    el("span", { class: "note" }, "or"),
    el("label", {}, "How many by ", by, "?"));
  // Enter in a field would submit the form and reload the page: the change event asks instead.
  node.addEventListener("submit", (event) => event.preventDefault());
  return node;
}

function renderForecastView({ forecast, verdict }) {
  const when = forecast.question.kind === "when";
  const unit = forecast.working_days ? "working days" : "days";
  const scope = [forecast.scope.flow_type ? `${forecast.scope.flow_type} items` : "all item types", forecast.scope.team && `team ${forecast.scope.team}`, forecast.scope.stream && `stream ${forecast.scope.stream}`].filter(Boolean).join(" · ");
  const s = section(
    when ? `Forecast: when will ${count(forecast.question.items)} items be done? (${scope})` : `Forecast: how many items will be done from ${forecast.first_day} through ${forecast.question.by}? (${scope})`,
    "Monte Carlo over the daily throughput of the history window (the page's window, since and until do not apply: a forecast looks ahead from today). The same forecast as flowpulse forecast and /flow forecast.",
  );
  s.append(forecastQuestionForm(forecast.question));
  const h = forecast.history;
  s.append(el("p", { "data-history": "" }, h.from
    ? `From today (${forecast.first_day}, ${forecast.scope.timezone}), resampling ${h.days_sampled} ${unit} of throughput from ${h.from} to ${h.to}: ${count(h.items)} items finished, ${h.zero_days} ${unit} with none; ${count(forecast.trials)} trials, seed ${forecast.seed}.`
    : `From today (${forecast.first_day}, ${forecast.scope.timezone}): no history to resample.`));
  if (!forecast.ok) s.append(el("p", { class: "warning", "data-refused": "" }, `Cannot forecast: ${forecast.reason}.`));
  else if (when) {
    dataTable(s, "forecast percentiles", [
      { key: "percentile", label: "confidence", render: (row) => `${row.percentile}%` },
      { key: "days", label: unit, render: (row) => (row.days === null ? "beyond reach" : row.days) },
      { key: "date", label: "done by the end of", render: (row) => row.date ?? "–" },
    ], forecast.percentiles, true);
    s.append(el("p", { class: "note" }, `${forecast.question.items} items or more finished within that many ${unit} in that share of trials.`));
  } else {
    dataTable(s, "forecast percentiles", [
      { key: "percentile", label: "confidence", render: (row) => `${row.percentile}%` },
      { key: "items", label: "at least (items)" },
    ], forecast.percentiles, true);
    s.append(el("p", { class: "note" }, `At least that many items finished by the end of ${forecast.question.by} in that share of trials.`));
  }
  if (forecast.warnings.length) {
    s.append(el("ul", { class: "warnings", "aria-label": "warnings" }, ...forecast.warnings.map((w) => el("li", { "data-warning": w.code }, w.message))));
  }
  if (forecast.ok) {
    chart(s, forecastOption(forecast), { label: "forecast distribution" });
    dataTable(s, "forecast distribution", when
      ? [{ key: "days", label: unit }, { key: "date", label: "done by the end of" }, { key: "trials" }, { key: "cumulative", label: "done by then", render: (row) => percent(row.cumulative) }]
      : [{ key: "items" }, { key: "trials" }, { key: "at_least", label: "at least this many", render: (row) => percent(row.at_least) }],
    forecast.distribution);
  }
  const c = forecast.calibration;
  const track = section("Track record: how often the same forecast came true", c.forecasts
    ? `The same question asked on ${c.forecasts} past days (${c.from} to ${c.to}${c.every_days > 1 ? `, every ${c.every_days} days` : ""}), each from only the data before it (${count(c.trials)} trials each).`
    : `Calibration: none yet (${c.note ?? "no past forecast could be checked"}).`);
  if (c.forecasts) {
    dataTable(track, "calibration", [
      { key: "percentile", label: "confidence", render: (row) => `${row.percentile}%` },
      { key: "came true", render: (row) => (row.scored ? `${row.hits} of ${row.scored}` : "–") },
      { key: "coverage", render: (row) => (row.coverage === null ? "–" : `${Math.round(row.coverage * 100)}%`) },
      { key: "claimed", render: (row) => (row.claimed === null ? "–" : `${Math.round(row.claimed * 100)}%`) },
    ], c.coverage, true);
    track.append(el("p", { "data-verdict": "" }, `Reading: ${verdict} (docs/forecasting.md).`));
  }
}

const RENDER = {
  overview: renderOverview,
  forecast: renderForecastView,
  "flow-time"(data) {
    const s = section("Flow time scatterplot", "Each item finished in the window: hover for the item, click to open it at its source.");
    chart(s, scatterOption(data.points, data.summary), { label: "flow time scatterplot", onClick: openItem });
    if (data.points.length < data.summary.items) s.append(el("p", { class: "note" }, `Showing the newest ${count(data.points.length)} of ${count(data.summary.items)} items; the percentile lines cover all of them.`));
    dataTable(s, "flow time over the window", [
      { key: "flow_type", label: "type" }, { key: "items" }, { key: "p50_days", label: "p50 (days)" }, { key: "p85_days", label: "p85 (days)" },
      { key: "p95_days", label: "p95 (days)" }, { key: "mean_days", label: "mean (days)" },
    ], data.summary.items ? [{ ...data.summary, flow_type: "all types" }, ...data.summary.byType] : []);
  },
  cfd(data) {
    const s = section("Cumulative flow diagram", "A band that widens is a queue building up; the slope of 'done' is the delivery rate.");
    chart(s, cfdOption(data.rows), { label: "cumulative flow diagram" });
    const bands = data.rows.map((row) => ({ ...row, flow_type: row.band === "done" ? "done" : row.state }));
    const table = pivot(bands, "day", "items");
    dataTable(s, "items per state at the end of each day", [{ key: "day" }, ...table.types.map((key) => ({ key }))], table.rows);
  },
  throughput(data, filters) {
    const s = section("Throughput run chart", "Items finished (done) per period, by type.");
    chart(s, throughputOption(data.rows, filters.period), { label: "throughput run chart" });
    dataTable(s, "items finished per period", [{ key: "period_start", label: "period" }, { key: "flow_type", label: "type" }, { key: "items" }], data.rows);
  },
  load(data) {
    const s = section("Flow load over time", data.limits.length
      ? `Dashed line: the WIP limit of ${data.limits.map((limit) => `"${limit.name}"`).join(", ")}.`
      : "No WIP limit is configured for exactly this scope (a Slack alert rule of kind wip with the same stream, team and type sets one).");
    chart(s, loadOption(data.rows, data.limits), { label: "flow load over time" });
    dataTable(s, "items in progress at the end of each day", [{ key: "day" }, { key: "flow_type", label: "type" }, { key: "wip" }], data.rows);
  },
  aging(data, filters) {
    const s = section("Aging WIP", "Each item in progress by current state and age; hover for the item, click to open it.");
    chart(s, agingOption(data.items, data.bands, filters.type ?? ""), { label: "aging work in progress", onClick: openItem });
    if (data.items.length >= data.limit) s.append(el("p", { class: "note" }, `Showing the oldest ${count(data.limit)} items in progress.`));
    dataTable(s, "flow time percentiles of the baseline", [
      { key: "flow_type", label: "type", render: (row) => row.flow_type || "all types" }, { key: "items" },
      { key: "p50_days", label: "p50" }, { key: "p70_days", label: "p70" }, { key: "p85_days", label: "p85" }, { key: "p95_days", label: "p95" },
    ], data.bands);
    dataTable(s, "oldest items in progress", [
      { key: "key", label: "item", render: itemLink }, { key: "flow_type", label: "type" }, { key: "current_state", label: "state" },
      { key: "age_days", label: "age (days)" }, { key: "title" },
    ], data.items.slice(0, 50));
  },
  distribution(data) {
    const s = section("Flow distribution over time", "The share of each type among the items finished in each period, and in progress at each period's end.");
    chart(s, distributionOption(data.periods, "completed"), { label: "distribution of finished items", small: true });
    chart(s, distributionOption(data.periods, "wip"), { label: "distribution of work in progress", small: true });
    dataTable(s, "distribution over the window", [
      { key: "scope" }, { key: "flow_type", label: "type" }, { key: "items" }, { key: "share" },
    ], data.window, true);
    dataTable(s, "distribution per period", [
      { key: "period_start", label: "period" }, { key: "scope" }, { key: "flow_type", label: "type" }, { key: "items" }, { key: "share" },
    ], data.periods);
  },
  bottlenecks(data) {
    const s = section("Time in state", "Where items spend their time: median and 85th percentile per state.");
    chart(s, timeInStateOption(data.timeInState), { label: "time in state" });
    renderBottleneckLists(data, 50);
  },
};

function renderEmpty() {
  main.append(
    el("div", { class: "empty", "data-empty": "" },
      el("h2", {}, "No data yet"),
      el("p", {}, "This store holds no work items. Load some and this page updates by itself:"),
      el("ul", {},
        el("li", {}, el("code", {}, "flowpulse import history.jsonl"), " (the format: docs/import-format.md)"),
        el("li", {}, el("code", {}, "flowpulse sync jira"), " or ", el("code", {}, "flowpulse serve"), " with a Jira or Kafka source"),
        el("li", {}, "or try it on sample data: ", el("code", {}, "npx flowpulse demo --serve")))),
  );
}

// ---------------------------------------------------------------------------------------------
// Loading

async function fetchView(view) {
  const query = new URLSearchParams(state.filters).toString();
  const response = await fetch(`api/view/${view}${query ? `?${query}` : ""}`, { headers: { accept: "application/json" } });
  let body;
  try {
    body = await response.json();
  } catch {
    throw new Error(`the dashboard server answered ${response.status} without data`);
  }
  if (!response.ok) throw new Error(body.error ?? `the dashboard server answered ${response.status}`);
  return body;
}

async function load() {
  const mine = ++generation;
  showState();
  main.setAttribute("aria-busy", "true");
  // The overview's figures are tables: they need not wait for the chart library.
  const library = state.view === "overview" ? undefined : loadEcharts();
  // The page asked for the first view's data already (a preload the server puts in its head).
  const asked = fetchView(state.view);
  let body;
  try {
    body = await asked;
    if (library) echarts = await library;
    if (mine !== generation) return;
    message.hidden = true;
    clear();
    let rest;
    if (body.empty) renderEmpty();
    else rest = RENDER[state.view](body.data, body.filters);
    // Milliseconds from the start of navigation to the first view drawn (the benchmark reads it).
    document.body.dataset.firstRenderMs ??= String(Math.round(performance.now()));
    if (rest) await rest();
    if (mine !== generation) return;
    // The overview's bottleneck lists are a second, slower view, asked for once the figures are
    // drawn so the two do not share the store's time.
    if (state.view === "overview" && !body.empty) {
      const more = await fetchView("bottlenecks");
      if (mine !== generation) return;
      renderBottleneckLists(more.data, 10);
    }
  } catch (error) {
    if (mine !== generation) return;
    clear();
    message.textContent = `Cannot show this view: ${error.message}`;
    message.hidden = false;
    main.setAttribute("aria-busy", "false");
    document.body.dataset.state = "error";
    return;
  }
  main.setAttribute("aria-busy", "false");
  document.body.dataset.view = state.view;
  document.body.dataset.state = body.empty ? "empty" : "ready";
  document.body.dataset.loads = String(++loads);
}

function showState() {
  for (const tab of tabs) {
    const selected = tab.dataset.view === state.view;
    tab.setAttribute("aria-selected", String(selected));
    tab.tabIndex = selected ? 0 : -1;
  }
  for (const key of FILTER_KEYS) {
    const field = form.elements.namedItem(key);
    const value = state.filters[key] ?? "";
    if (field.tagName === "SELECT" && ![...field.options].some((option) => option.value === value)) field.append(el("option", { value }, value));
    field.value = value;
  }
}

async function loadNames() {
  try {
    const response = await fetch("api/names");
    if (!response.ok) return;
    const names = await response.json();
    for (const key of ["stream", "team", "type"]) {
      const field = form.elements.namedItem(key);
      const have = new Set([...field.options].map((option) => option.value));
      for (const name of names[key]) if (!have.has(name)) field.append(el("option", { value: name }, name));
    }
    showState();
  } catch {
    // The filters still work by address; the lists fill in on the next load.
  }
}

form.addEventListener("change", (event) => {
  const filters = {};
  for (const key of ["items", "by"]) if (state.filters[key] !== undefined) filters[key] = state.filters[key];
  for (const key of FILTER_KEYS) {
    const value = form.elements.namedItem(key).value;
    if (value !== "") filters[key] = value;
  }
  // A start date and a window length say the same thing: the one just chosen wins.
  if (event.target.name === "since" && filters.since) delete filters.window;
  if (event.target.name === "window") delete filters.since;
  go({ view: state.view, filters });
});
form.addEventListener("submit", (event) => event.preventDefault());

for (const tab of tabs) tab.addEventListener("click", () => go({ view: tab.dataset.view, filters: state.filters }));
// Arrow keys move between the views, Home and End to the first and last (the ARIA tabs pattern).
document.getElementById("tabs").addEventListener("keydown", (event) => {
  const at = tabs.indexOf(document.activeElement);
  if (at < 0) return;
  const to = { ArrowRight: at + 1, ArrowLeft: at - 1, Home: 0, End: tabs.length - 1 }[event.key];
  if (to === undefined) return;
  event.preventDefault();
  const next = tabs[(to + tabs.length) % tabs.length];
  next.focus();
  go({ view: next.dataset.view, filters: state.filters });
});

window.addEventListener("popstate", () => {
  state = readAddress();
  load();
});
window.addEventListener("resize", () => drawn.forEach((instance) => instance.resize()));

const events = new EventSource("api/events");
let connected = false;
events.addEventListener("hello", () => {
  live.textContent = "live: updates when new data lands";
  document.body.dataset.live = "on";
  // After a dropped connection, changes may have been missed: load again.
  if (connected) load();
  connected = true;
});
events.addEventListener("change", async () => {
  await load();
  live.textContent = `live: updated ${new Date().toLocaleTimeString()} with new data`;
});
events.addEventListener("error", () => {
  live.textContent = "live updates paused: reconnecting…";
  document.body.dataset.live = "off";
});

load().then(loadNames);
