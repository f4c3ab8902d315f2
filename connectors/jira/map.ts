// Pure mapping of Jira issues (as fetched, with their complete changelog) to canonical work items
// and transitions. No I/O: the sync and the remap both call mapIssue with the same context.
import type { FlowState, Rejection, Transition, WorkItem } from "../../core/model.ts";
import { parseTimestamp, type ParsedTime } from "../../core/time.ts";
import { classifyFlowType, configuredFlowState, type Workflow } from "../../core/workflow.ts";
import type { JiraConfig } from "./config.ts";

/** The parts of Jira's issue shape the mapper reads; everything else is kept raw, not typed. */
export interface RawStatus {
  id?: string;
  name?: string;
  statusCategory?: { id?: number; key?: string };
}
export interface RawHistoryItem {
  field?: unknown;
  fieldId?: unknown;
  fieldtype?: unknown;
  from?: unknown;
  fromString?: unknown;
  to?: unknown;
  toString?: unknown;
}
export interface RawHistory {
  id?: string;
  created?: string;
  items?: unknown;
}
export interface RawChangelog {
  startAt?: number;
  maxResults?: number;
  total?: number;
  histories?: RawHistory[];
}
export interface RawIssue {
  id?: string;
  key?: string;
  fields?: Record<string, unknown> & {
    summary?: string;
    created?: string;
    updated?: string;
    status?: RawStatus;
    issuetype?: { name?: string };
    labels?: string[];
    components?: { name?: string }[];
    project?: { key?: string };
  };
  changelog?: RawChangelog;
}

/** Status id -> status category key (new | indeterminate | done), from /rest/api/N/status. */
export type StatusCategories = ReadonlyMap<string, string>;

export interface MapContext {
  /** Site base URL without trailing slash, e.g. https://acme.atlassian.net. */
  site: string;
  /** Host part of item ids (`jira:<siteHost>:<issueId>`). */
  siteHost: string;
  workflow: Workflow;
  categories: StatusCategories;
  stream: string;
  team: JiraConfig["team"];
  /** Memo of configured flow states by status name (null: not configured); names repeat on every issue. */
  memo?: Map<string, FlowState | null>;
}

export interface MappedIssue {
  item: WorkItem | null;
  transitions: Transition[];
  rejections: Rejection[];
  /** Statuses that fell back to their Jira category (not in workflows.jira.states). */
  fallbackStatuses: string[];
}

export function mapContext(config: JiraConfig, workflow: Workflow, categories: StatusCategories): MapContext {
  const url = new URL(config.site);
  return {
    site: config.site,
    siteHost: url.host + url.pathname.replace(/\/+$/, ""),
    workflow,
    categories,
    stream: config.stream,
    team: config.team,
    memo: new Map(),
  };
}

/** Status id -> category key from a /status payload (an array of StatusDetails). */
export function statusCategoriesFrom(payload: unknown): Map<string, string> {
  const map = new Map<string, string>();
  if (!Array.isArray(payload)) return map;
  for (const status of payload as RawStatus[]) {
    const key = categoryKey(status?.statusCategory);
    if (status && typeof status.id === "string" && key) map.set(status.id, key);
  }
  return map;
}

// Jira's category keys; ids are the fixed ids of the same categories (2 To Do, 4 In Progress, 3 Done).
const CATEGORY_BY_ID: Record<number, string> = { 2: "new", 4: "indeterminate", 3: "done" };
function categoryKey(category: RawStatus["statusCategory"]): string | undefined {
  if (!category) return undefined;
  if (category.key === "new" || category.key === "indeterminate" || category.key === "done") return category.key;
  return typeof category.id === "number" ? CATEGORY_BY_ID[category.id] : undefined;
}

const FLOW_BY_CATEGORY: Record<string, FlowState> = { new: "new", indeterminate: "active", done: "done" };

export const itemIdOf = (ctx: Pick<MapContext, "siteHost">, issueId: string) => `jira:${ctx.siteHost}:${issueId}`;

const text = (value: unknown): string | undefined => (typeof value === "string" ? value : value == null ? undefined : String(value));

/** Maps one issue. Never throws: what cannot be mapped comes back as rejections with a reason. */
export function mapIssue(issue: RawIssue, ctx: MapContext): MappedIssue {
  const reference = typeof issue?.key === "string" ? issue.key : typeof issue?.id === "string" ? `id ${issue.id}` : "(issue without key)";
  const out: MappedIssue = { item: null, transitions: [], rejections: [], fallbackStatuses: [] };
  const reject = (reason: string, payload: unknown = issue) => pushRejection(out, reference, reason, payload);

  if (!issue || typeof issue !== "object") {
    reject("not an issue object");
    return out;
  }
  if (typeof issue.id !== "string" || !issue.id || typeof issue.key !== "string" || !issue.key) {
    reject("issue has no id or key");
    return out;
  }
  const fields = issue.fields;
  if (!fields || typeof fields !== "object") {
    reject("issue has no fields (the search must request summary,status,issuetype,created,...)");
    return out;
  }
  const created = parseTimestamp(fields.created);
  if (!created.ok) {
    reject(`fields.created: ${created.reason}`);
    return out;
  }
  const status = fields.status;
  if (!status || typeof status.name !== "string" || !status.name) {
    reject("fields.status is missing");
    return out;
  }

  const itemId = itemIdOf(ctx, issue.id);
  const currentCategory = categoryKey(status.statusCategory);

  // Status changes, oldest first; a history embedded twice (search + changelog page) counts once.
  const histories = sortedHistories(issue.changelog?.histories);
  const moves: Transition[] = [];
  let firstFrom: { name: string; id: string | undefined } | undefined;
  for (const { history, at } of histories) {
    const items = history.items;
    if (!Array.isArray(items)) {
      reject(`history ${history.id} has no items`, history);
      continue;
    }
    for (let index = 0; index < items.length; index++) {
      const item = items[index] as RawHistoryItem | null;
      const field = item && typeof item === "object" ? (text(item.fieldId) ?? text(item.field)) : undefined;
      if (!field) {
        reject(`history ${history.id} item ${index} has no field name`, { history: history.id, item });
        continue;
      }
      if (field.toLowerCase() !== "status") continue;
      const eventId = `jira:${issue.id}:${history.id}:${index}`;
      const toName = text(item!.toString);
      if (!at.ok || !toName) {
        reject(`status change ${eventId}: ${!at.ok ? at.reason : "toString (the new status) is missing"}`, { history: history.id, item });
        continue;
      }
      const toId = text(item!.to);
      const flowState = resolveFlowState(ctx, out, toName, toId, toId !== undefined && toId === status.id ? currentCategory : undefined);
      if (!flowState) {
        reject(`status "${toName}" (id ${toId ?? "?"}) is not in workflows.jira.states and Jira reports no category for it`, { history: history.id, item });
        continue;
      }
      const fromName = text(item!.fromString) ?? "";
      if (!firstFrom) firstFrom = { name: fromName, id: text(item!.from) };
      moves.push({ event_id: eventId, item_id: itemId, from_state: fromName || "(unknown)", to_state: toName, to_flow_state: flowState, at: at.ms });
    }
  }

  // Creation enters the first status: where the first status change came from, else the current one.
  const first = firstFrom && firstFrom.name ? firstFrom : { name: status.name, id: status.id };
  const firstState = resolveFlowState(ctx, out, first.name, first.id, first.id === status.id ? currentCategory : undefined);
  if (firstState) {
    out.transitions.push({ event_id: `jira:${issue.id}:created`, item_id: itemId, from_state: "", to_state: first.name, to_flow_state: firstState, at: created.ms });
  } else {
    reject(`initial status "${first.name}" is not in workflows.jira.states and Jira reports no category for it`, { created: fields.created });
  }
  for (const move of moves) out.transitions.push(move);

  const labels: string[] = [];
  if (Array.isArray(fields.labels)) for (const label of fields.labels) if (typeof label === "string") labels.push(label);
  const components: string[] = [];
  if (Array.isArray(fields.components)) for (const c of fields.components) if (typeof c?.name === "string") components.push(c.name);
  const sourceType = typeof fields.issuetype?.name === "string" ? fields.issuetype.name : "";
  out.item = {
    item_id: itemId,
    source: "jira",
    stream: ctx.stream,
    key: issue.key,
    title: typeof fields.summary === "string" ? fields.summary : "",
    url: `${ctx.site}/browse/${issue.key}`,
    flow_type: classifyFlowType(ctx.workflow, { sourceType, labels, components }),
    team: teamOf(fields, components, ctx.team),
    labels,
    created_at: created.ms,
    source_type: sourceType,
    deleted: false,
  };
  return out;
}

function pushRejection(out: MappedIssue, reference: string, reason: string, payload: unknown): void {
  out.rejections.push({ source: "jira", reference, reason, payload: safeJson(payload) });
}

/** Config first (by name), then Jira's category (of the status id, or the one given). */
function resolveFlowState(ctx: MapContext, out: MappedIssue, name: string, id: string | undefined, category: string | undefined): FlowState | undefined {
  let configured = ctx.memo?.get(name);
  if (configured === undefined) {
    configured = configuredFlowState(ctx.workflow, name) ?? null;
    ctx.memo?.set(name, configured);
  }
  if (configured) return configured;
  const key = category ?? (id !== undefined ? ctx.categories.get(id) : undefined);
  const state = key ? FLOW_BY_CATEGORY[key] : undefined;
  if (state && !out.fallbackStatuses.includes(name)) out.fallbackStatuses.push(name);
  return state;
}

interface TimedHistory {
  history: RawHistory;
  at: ParsedTime;
}

function sortedHistories(histories: RawHistory[] | undefined): TimedHistory[] {
  if (!Array.isArray(histories)) return [];
  const seen = new Map<string, TimedHistory>();
  for (const history of histories) {
    if (history && typeof history === "object") seen.set(String(history.id), { history, at: parseTimestamp(history.created) });
  }
  const timed = [...seen.values()];
  // Jira returns histories oldest first on Data Center and newest first in some Cloud responses;
  // order by time, then by numeric id (ids grow with time) for changes in the same millisecond.
  const ms = (entry: TimedHistory) => (entry.at.ok ? entry.at.ms : Number.NaN);
  timed.sort((a, b) => (ms(a) - ms(b) || Number(a.history.id) - Number(b.history.id)) || 0);
  return timed;
}

function teamOf(fields: NonNullable<RawIssue["fields"]>, components: string[], team: JiraConfig["team"]): string {
  if (team.field) {
    const named = fieldText(fields[team.field]);
    if (named) return named;
  }
  for (const component of components) {
    const mapped = team.by_component[component];
    if (mapped) return mapped;
  }
  const project = fields.project?.key;
  if (project && team.by_project[project]) return team.by_project[project]!;
  return team.default;
}

// Custom field values arrive as a string, an option {value}, a team/user {name|displayName}, or a list of those.
function fieldText(value: unknown): string | undefined {
  if (typeof value === "string") return value || undefined;
  if (Array.isArray(value)) return value.length ? fieldText(value[0]) : undefined;
  if (value && typeof value === "object") {
    const record = value as Record<string, unknown>;
    for (const key of ["value", "name", "title", "displayName"]) if (typeof record[key] === "string" && record[key]) return record[key] as string;
  }
  return undefined;
}

function safeJson(value: unknown): string {
  try {
    const json = JSON.stringify(value) ?? "";
    return json.length > 100_000 ? json.slice(0, 100_000) : json;
  } catch {
    return String(value);
  }
}
