// Pure mapping of a GitHub issue or pull request, with its timeline as fetched, to a canonical work
// item and its transitions. No I/O: the sync, the remap and the webhook listener all call mapItem
// with the same context, so an item maps the same whichever way it arrived.
//
// GitHub has no workflow status of its own, so the history is rebuilt from the timeline: each event
// updates a few facts (open or closed and why, started, waiting labels, Projects status, draft,
// review phase), the state is a function of those facts, and a transition is written whenever the
// state's name changes. So a reopened item goes back to exactly where its facts say.
import type { FlowState, Rejection, Transition, WorkItem } from "../../core/model.ts";
import { parseTimestamp } from "../../core/time.ts";
import { classifyFlowType, configuredFlowState, type Workflow } from "../../core/workflow.ts";
import type { GitHubConfig } from "./config.ts";

export interface RawUser {
  login?: string;
  type?: string;
}
export interface RawLabel {
  name?: string;
}
/** An item of GET /repos/{o}/{r}/issues (pull requests included, with `pull_request` and `draft`). */
export interface RawIssue {
  id?: number;
  number?: number;
  title?: string;
  html_url?: string;
  state?: string;
  state_reason?: string | null;
  created_at?: string;
  updated_at?: string;
  closed_at?: string | null;
  user?: RawUser | null;
  labels?: (RawLabel | string)[];
  draft?: boolean;
  pull_request?: { merged_at?: string | null; url?: string };
  type?: { name?: string } | null;
}
/** An entry of GET /repos/{o}/{r}/issues/{n}/timeline; only the fields the mapper reads. */
export interface RawEvent {
  event?: string;
  id?: number | string;
  created_at?: string;
  /** `reviewed` events carry their time here instead of created_at. */
  submitted_at?: string;
  actor?: RawUser | null;
  user?: RawUser | null;
  label?: RawLabel;
  assignee?: RawUser | null;
  /** `reviewed`: approved | changes_requested | commented | dismissed. */
  state?: string;
  /** `closed`: completed | not_planned | duplicate | reopened. */
  state_reason?: string | null;
  /** `project_v2_item_status_changed`: the new status (the webhook's changes.field_value.to.name). */
  status?: string | null;
  changes?: { field_value?: { field_name?: string; to?: { name?: string } | string | null } };
}
/** What is kept raw per item: everything its history is rebuilt from. */
export interface ItemBundle {
  /** "owner/name" as the item was last read (after a rename, the new name). */
  repo: string;
  issue: RawIssue;
  timeline: RawEvent[];
  /** ETags and page count of the last timeline read, for conditional re-reads. */
  etag?: string | null;
  timelinePages?: number;
  /** Set when GitHub answered 404/410 for the item: deleted, kept for history. */
  deleted?: boolean;
}

export interface GitHubMapContext {
  /** Host part of item ids (`github:<host>:<issue id>`), from api_url. */
  host: string;
  workflow: Workflow;
  stream: string;
  team: GitHubConfig["team"];
  activeLabels: ReadonlySet<string>;
  waitingLabels: ReadonlySet<string>;
  bots: ReadonlySet<string>;
  /** team.by_label and team.by_repo with lower-case keys (GitHub matches names case-insensitively). */
  teamByLabel: ReadonlyMap<string, string>;
  teamByRepo: ReadonlyMap<string, string>;
}

export interface MappedItem {
  item: WorkItem | null;
  transitions: Transition[];
  rejections: Rejection[];
  /** Projects statuses neither configured nor known by default (their changes were left out). */
  unknownStatuses: string[];
}

/** Projects statuses a team would accept by default; workflows.github.states overrides and adds. */
const DEFAULT_STATUSES: Record<string, FlowState> = {
  backlog: "new",
  todo: "new",
  "to do": "new",
  ready: "new",
  "in progress": "active",
  doing: "active",
  "in review": "waiting",
  review: "waiting",
  blocked: "waiting",
  waiting: "waiting",
  done: "done",
  closed: "done",
};

/** GitHub issue types a team would accept by default (type_rules on source_types win). */
const DEFAULT_TYPES: Record<string, string> = {
  bug: "defect",
  feature: "feature",
  task: "feature",
  enhancement: "feature",
  security: "risk",
  vulnerability: "risk",
  debt: "debt",
  chore: "debt",
  refactor: "debt",
};

export function githubMapContext(config: GitHubConfig, workflow: Workflow): GitHubMapContext {
  const lower = (names: readonly string[]) => new Set(names.map((name) => name.toLowerCase()));
  return {
    host: new URL(config.api_url).host,
    workflow,
    stream: config.stream,
    team: config.team,
    activeLabels: lower(config.labels.active),
    waitingLabels: lower(config.labels.waiting),
    bots: lower(config.bots),
    teamByLabel: new Map(Object.entries(config.team.by_label).map(([name, team]) => [name.toLowerCase(), team])),
    teamByRepo: new Map(Object.entries(config.team.by_repo).map(([name, team]) => [name.toLowerCase(), team])),
  };
}

export function isBot(user: RawUser | null | undefined, ctx: GitHubMapContext): boolean {
  const login = user?.login?.toLowerCase();
  if (!login) return false;
  return user?.type === "Bot" || login.endsWith("[bot]") || ctx.bots.has(login);
}

export const itemIdOf = (ctx: GitHubMapContext, issueId: number | string) => `github:${ctx.host}:${issueId}`;

const labelName = (label: RawLabel | string | undefined) => (typeof label === "string" ? label : (label?.name ?? ""));

function projectStatusOf(event: RawEvent): string | null {
  if (typeof event.status === "string" && event.status) return event.status;
  const to = event.changes?.field_value?.to;
  const name = typeof to === "string" ? to : to?.name;
  return name ? name : null;
}

interface Facts {
  closed: null | "completed" | "not_planned" | "merged";
  started: boolean;
  waitingLabels: Set<string>;
  projectStatus: { name: string; flow: FlowState } | null;
  draft: boolean;
  /** Pull requests: where review stands while open and not a draft. */
  review: "awaiting review" | "in review" | "changes requested" | "approved";
}

type State = { name: string; flow: FlowState };
// Shared, never mutated: the mapper compares and reads them, so no state object is made per event.
const MERGED: State = { name: "merged", flow: "done" };
const CLOSED_DONE: State = { name: "closed", flow: "done" };
const CLOSED_CANCELED: State = { name: "closed", flow: "canceled" };
const NOT_PLANNED: State = { name: "not planned", flow: "canceled" };
const DRAFT: State = { name: "draft", flow: "active" };
const IN_PROGRESS: State = { name: "in progress", flow: "active" };
const OPEN: State = { name: "open", flow: "new" };
const REVIEW: Record<Facts["review"], State> = {
  "awaiting review": { name: "awaiting review", flow: "waiting" },
  "in review": { name: "in review", flow: "active" },
  "changes requested": { name: "changes requested", flow: "active" },
  approved: { name: "approved", flow: "waiting" },
};

/** The state an item's facts put it in: its name (stored as to_state) and its flow state. */
function stateOf(facts: Facts, pull: boolean): State {
  if (facts.closed === "merged") return MERGED;
  if (facts.closed === "completed") return pull ? CLOSED_CANCELED : CLOSED_DONE;
  if (facts.closed === "not_planned") return NOT_PLANNED;
  if (pull) return facts.draft ? DRAFT : REVIEW[facts.review];
  if (facts.waitingLabels.size > 0) return { name: [...facts.waitingLabels].sort()[0]!, flow: "waiting" };
  // The board's word while the item is open, even "Done" before the close that usually follows.
  if (facts.projectStatus) return facts.projectStatus;
  return facts.started ? IN_PROGRESS : OPEN;
}

export function mapItem(bundle: ItemBundle, ctx: GitHubMapContext): MappedItem {
  const { issue, repo } = bundle;
  const reference = `${repo}#${issue?.number ?? "?"}`;
  const reject = (reason: string, payload: unknown = issue): MappedItem => ({
    item: null,
    transitions: [],
    rejections: [{ source: "github", reference, reason, payload: JSON.stringify(payload ?? null) }],
    unknownStatuses: [],
  });
  if (!issue || typeof issue !== "object") return reject("the item is not a JSON object");
  if (typeof issue.id !== "number" && typeof issue.id !== "string") return reject("the item has no id");
  if (typeof issue.number !== "number") return reject("the item has no number");
  const created = parseTimestamp(issue.created_at);
  if (!created.ok) return reject(`created_at: ${created.reason}`);

  const itemId = itemIdOf(ctx, issue.id);
  const pull = issue.pull_request !== undefined && issue.pull_request !== null;
  const author = issue.user?.login?.toLowerCase();
  const labels = (Array.isArray(issue.labels) ? issue.labels : []).map(labelName).filter(Boolean);
  const rejections: Rejection[] = [];
  const unknown = new Set<string>();

  // Events in time order; GitHub lists them oldest first, and the sort is stable for equal times.
  const timeline = Array.isArray(bundle.timeline) ? bundle.timeline : [];
  const events: { at: number; event: RawEvent }[] = [];
  for (const event of timeline) {
    if (!event || typeof event !== "object" || typeof event.event !== "string") continue;
    if (!RELEVANT.has(event.event)) continue;
    const at = parseTimestamp(event.event === "reviewed" ? event.submitted_at : event.created_at);
    if (!at.ok) {
      rejections.push({ source: "github", reference: `${reference} ${event.event}`, reason: `${event.event === "reviewed" ? "submitted_at" : "created_at"}: ${at.reason}`, payload: JSON.stringify(event) });
      continue;
    }
    events.push({ at: at.ms, event });
  }
  let ordered = true;
  for (let i = 1; i < events.length && ordered; i++) ordered = events[i - 1]!.at <= events[i]!.at;
  if (!ordered) events.sort((a, b) => a.at - b.at);

  // Opened as a draft when the first draft event is a ready_for_review (or, with none, when it is one now).
  const firstDraftEvent = events.find(({ event }) => event.event === "ready_for_review" || event.event === "convert_to_draft");
  const facts: Facts = {
    closed: null,
    started: false,
    waitingLabels: new Set(),
    projectStatus: null,
    draft: pull && (firstDraftEvent ? firstDraftEvent.event.event === "ready_for_review" : issue.draft === true),
    review: "awaiting review",
  };
  const mergedAt = pull ? parseTimestamp(issue.pull_request?.merged_at) : null;

  const transitions: Transition[] = [];
  let current = stateOf(facts, pull);
  const emit = (at: number) => {
    const next = stateOf(facts, pull);
    if (next.name === current.name) return;
    transitions.push({
      // Named by the state and its time, not GitHub's event id: the webhook path, which sees the
      // change before the timeline lists it, then writes the very same row.
      event_id: `${itemId}:${next.name}@${at}`,
      item_id: itemId,
      from_state: current.name,
      to_state: next.name,
      to_flow_state: next.flow,
      at,
    });
    current = next;
  };
  transitions.push({ event_id: `${itemId}:created`, item_id: itemId, from_state: "", to_state: current.name, to_flow_state: current.flow, at: created.ms });

  const person = (user: RawUser | null | undefined) => !!user?.login && !isBot(user, ctx);
  for (const { at, event } of events) {
    switch (event.event) {
      case "assigned":
        if (person(event.assignee)) facts.started = true;
        break;
      case "labeled": {
        const name = labelName(event.label).toLowerCase();
        if (ctx.waitingLabels.has(name)) facts.waitingLabels.add(name);
        else if (ctx.activeLabels.has(name) && !isBot(event.actor, ctx)) facts.started = true;
        break;
      }
      case "unlabeled":
        facts.waitingLabels.delete(labelName(event.label).toLowerCase());
        break;
      case "project_v2_item_status_changed": {
        const name = projectStatusOf(event);
        if (!name) break;
        const flow = configuredFlowState(ctx.workflow, name) ?? DEFAULT_STATUSES[name.toLowerCase()];
        if (!flow) {
          unknown.add(name);
          break;
        }
        facts.projectStatus = { name, flow };
        if (flow === "active" && !isBot(event.actor, ctx)) facts.started = true;
        break;
      }
      case "closed":
        if (mergedAt?.ok && at >= mergedAt.ms) facts.closed = "merged";
        else facts.closed = event.state_reason === "not_planned" || event.state_reason === "duplicate" ? "not_planned" : "completed";
        break;
      case "merged":
        facts.closed = "merged";
        break;
      case "reopened":
        facts.closed = null;
        break;
      case "convert_to_draft":
        facts.draft = true;
        break;
      case "ready_for_review":
        facts.draft = false;
        facts.review = "awaiting review";
        break;
      case "review_requested":
        if (!facts.draft) facts.review = "awaiting review";
        break;
      case "reviewed": {
        // The author's own comments and bots' reviews never count as someone reviewing.
        if (!person(event.user) || event.user?.login?.toLowerCase() === author) break;
        const verdict = event.state?.toLowerCase();
        if (verdict === "approved") facts.review = "approved";
        else if (verdict === "changes_requested") facts.review = "changes requested";
        else if (verdict === "commented" && facts.review !== "changes requested") facts.review = "in review";
        break;
      }
    }
    emit(at);
  }
  // A close the timeline has not listed yet (a webhook raced it) still closes the item.
  if (pull && mergedAt?.ok && facts.closed !== "merged") {
    facts.closed = "merged";
    emit(mergedAt.ms);
  }

  const typeName = issue.type?.name;
  const sourceType = pull ? "pull_request" : (typeName ?? "issue");
  let flowType = classifyFlowType(ctx.workflow, { sourceType, labels });
  if (flowType === ctx.workflow.default_flow_type && typeName && DEFAULT_TYPES[typeName.toLowerCase()]) flowType = DEFAULT_TYPES[typeName.toLowerCase()]!;

  const item: WorkItem = {
    item_id: itemId,
    source: "github",
    stream: ctx.stream,
    key: `${repo}#${issue.number}`,
    title: typeof issue.title === "string" ? issue.title : "",
    url: typeof issue.html_url === "string" ? issue.html_url : "",
    flow_type: flowType,
    team: teamOf(ctx, repo, labels),
    labels,
    created_at: created.ms,
    source_type: sourceType,
    deleted: bundle.deleted === true,
  };
  return { item, transitions, rejections, unknownStatuses: [...unknown] };
}

const RELEVANT = new Set([
  "assigned", "labeled", "unlabeled", "project_v2_item_status_changed", "closed", "merged", "reopened",
  "convert_to_draft", "ready_for_review", "review_requested", "reviewed",
]);

/** A label mapping wins over the repository's; without either, the repository itself, so `--team owner/name` filters by repo. */
export function teamOf(ctx: GitHubMapContext, repo: string, labels: readonly string[]): string {
  if (ctx.teamByLabel.size > 0) {
    for (const label of labels) {
      const team = ctx.teamByLabel.get(label.toLowerCase());
      if (team) return team;
    }
  }
  return (ctx.teamByRepo.size > 0 ? ctx.teamByRepo.get(repo.toLowerCase()) : undefined) ?? (ctx.team.default || repo);
}
