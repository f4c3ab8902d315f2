// A hand-checked GitHub repository in the shapes of GitHub's REST API (issues list items and
// timeline events as recorded in ../shared/reference/github-api), and the config that syncs it.
// Every time is UTC; the expected histories and figures are written out in the tests.
import type { ReplayRepo } from "./github-replay.ts";

type Json = Record<string, unknown>;

export const TOKEN = "ghp_replay0000000000000000000000000001";
export const GITHUB_ENV = { GITHUB_TOKEN: TOKEN };
export const REPO = "acme/shop";
export const REPO_ID = 515_435_940;

const user = (login: string, type = "User"): Json => ({
  login, id: login.length * 1000 + 7, node_id: `U_${login}`, type, site_admin: false,
  url: `https://api.github.com/users/${login}`, html_url: `https://github.com/${login}`,
});
const label = (name: string): Json => ({ id: name.length * 31, node_id: `LA_${name}`, name, color: "d73a4a", default: false, description: null });

export const ALICE = user("alice");
export const BOB = user("bob");
export const CAROL = user("carol");
const ACTIONS = user("github-actions[bot]", "Bot");
const COPILOT = user("copilot-pull-request-reviewer[bot]", "Bot");

interface ItemSpec {
  id: number;
  number: number;
  title: string;
  created: string;
  updated: string;
  author?: Json;
  labels?: string[];
  state?: "open" | "closed";
  stateReason?: string | null;
  closed?: string | null;
  type?: string;
  pull?: { draft: boolean; mergedAt: string | null };
}

export function issueShape(repo: string, spec: ItemSpec): Json {
  const api = `https://api.github.com/repos/${repo}`;
  const shape: Json = {
    url: `${api}/issues/${spec.number}`,
    repository_url: api,
    labels_url: `${api}/issues/${spec.number}/labels{/name}`,
    comments_url: `${api}/issues/${spec.number}/comments`,
    events_url: `${api}/issues/${spec.number}/events`,
    html_url: `https://github.com/${repo}/${spec.pull ? "pull" : "issues"}/${spec.number}`,
    id: spec.id,
    node_id: `I_kwDOHrjt${spec.id}`,
    number: spec.number,
    title: spec.title,
    user: spec.author ?? ALICE,
    labels: (spec.labels ?? []).map(label),
    state: spec.state ?? "open",
    locked: false,
    assignee: null,
    assignees: [],
    milestone: null,
    comments: 0,
    created_at: spec.created,
    updated_at: spec.updated,
    closed_at: spec.closed ?? null,
    author_association: "MEMBER",
    active_lock_reason: null,
    body: null,
    timeline_url: `${api}/issues/${spec.number}/timeline`,
    performed_via_github_app: null,
    state_reason: spec.stateReason ?? null,
    type: spec.type ? { id: 1, node_id: "IT_1", name: spec.type, description: null, color: "red" } : null,
  };
  if (spec.pull) {
    shape.draft = spec.pull.draft;
    shape.pull_request = {
      url: `${api}/pulls/${spec.number}`,
      html_url: `https://github.com/${repo}/pull/${spec.number}`,
      diff_url: `https://github.com/${repo}/pull/${spec.number}.diff`,
      patch_url: `https://github.com/${repo}/pull/${spec.number}.patch`,
      merged_at: spec.pull.mergedAt,
    };
  }
  return shape;
}

let nextEventId = 9_000_000_001;
/** A timeline event as GitHub lists it (issue events have actor and created_at; reviews user and submitted_at). */
export function event(kind: string, at: string, fields: Json = {}): Json {
  const id = nextEventId++;
  if (kind === "reviewed") {
    return { id, node_id: `PRR_${id}`, event: "reviewed", user: fields.user, body: "", commit_id: "6dcb09b5b57875f334f61aebed695e2e4193db5e", submitted_at: at, state: fields.state, author_association: "MEMBER", html_url: `https://github.com/${REPO}/pull/4#pullrequestreview-${id}` };
  }
  return { id, node_id: `E_${id}`, url: `https://api.github.com/repos/${REPO}/issues/events/${id}`, actor: fields.actor ?? ALICE, event: kind, commit_id: null, commit_url: null, created_at: at, performed_via_github_app: null, ...fields };
}

/**
 * The repository. Expected histories (state name, flow state):
 *  #1 issue, type Bug: open (new) 03-01 09:00; assigned alice -> in progress (active) 03-02 09:00;
 *     labeled blocked -> blocked (waiting) 03-03 09:00; unlabeled -> in progress 03-04 09:00;
 *     closed completed -> closed (done) 03-05 09:00; reopened -> in progress 03-06 09:00;
 *     closed -> closed (done) 03-07 09:00.
 *  #2 issue: open 03-01 10:00; "wip" labeled by a bot starts nothing; closed not_planned ->
 *     not planned (canceled) 03-04 10:00.
 *  #3 issue on a Projects board: open 03-01 12:00; Todo (new) 03-01 13:00; In Progress (active)
 *     03-02 12:00; In Review (waiting) 03-04 12:00; closed -> closed (done) 03-05 12:00; the board's
 *     automation then sets Done 03-05 12:01 (no change: closed already).
 *  #4 pull request opened as draft: draft (active) 03-01 08:00; ready_for_review -> awaiting
 *     review (waiting) 03-02 08:00; review requested 08:01 (no change); a bot's review 09:00 (no
 *     change); bob comments -> in review (active) 03-03 08:00; bob requests changes -> changes
 *     requested (active) 03-03 10:00; review requested -> awaiting review (waiting) 03-04 08:00;
 *     bob approves -> approved (waiting) 03-04 12:00; merged -> merged (done) 03-05 08:00.
 *  #5 pull request: awaiting review (waiting) 03-02 10:00; closed unmerged -> closed (canceled) 03-03 10:00.
 *  #6 malformed: created_at without an offset: refused.
 */
export function shopRepo(): ReplayRepo {
  const items = [
    issueShape(REPO, { id: 1_001, number: 1, title: "Checkout fails on Safari", created: "2024-03-01T09:00:00Z", updated: "2024-03-07T09:00:00Z", state: "closed", stateReason: "completed", closed: "2024-03-07T09:00:00Z", type: "Bug" }),
    issueShape(REPO, { id: 1_002, number: 2, title: "Dark mode", created: "2024-03-01T10:00:00Z", updated: "2024-03-04T10:00:00Z", state: "closed", stateReason: "not_planned", closed: "2024-03-04T10:00:00Z", labels: ["wip"] }),
    issueShape(REPO, { id: 1_003, number: 3, title: "Search index", created: "2024-03-01T12:00:00Z", updated: "2024-03-05T12:01:00Z", state: "closed", stateReason: "completed", closed: "2024-03-05T12:00:00Z" }),
    issueShape(REPO, { id: 1_004, number: 4, title: "Add payment retries", created: "2024-03-01T08:00:00Z", updated: "2024-03-05T08:00:00Z", author: CAROL, state: "closed", closed: "2024-03-05T08:00:00Z", pull: { draft: false, mergedAt: "2024-03-05T08:00:00Z" } }),
    issueShape(REPO, { id: 1_005, number: 5, title: "Try a new cache", created: "2024-03-02T10:00:00Z", updated: "2024-03-03T10:00:00Z", author: CAROL, state: "closed", closed: "2024-03-03T10:00:00Z", pull: { draft: false, mergedAt: null } }),
    issueShape(REPO, { id: 1_006, number: 6, title: "Broken export", created: "2024-03-02 11:00:00", updated: "2024-03-06T11:00:00Z" }),
  ];
  const status = (at: string, to: string, from: string | null) =>
    event("project_v2_item_status_changed", at, { project_v2: { id: 77, number: 3, title: "Roadmap" }, status: to, previous_status: from });
  const timelines = new Map<number, Json[]>([
    [1, [
      event("assigned", "2024-03-02T09:00:00Z", { assignee: ALICE }),
      event("labeled", "2024-03-03T09:00:00Z", { label: { name: "blocked", color: "000000" } }),
      event("unlabeled", "2024-03-04T09:00:00Z", { label: { name: "blocked", color: "000000" } }),
      event("closed", "2024-03-05T09:00:00Z", { state_reason: "completed" }),
      event("reopened", "2024-03-06T09:00:00Z"),
      event("closed", "2024-03-07T09:00:00Z", { state_reason: "completed" }),
    ]],
    [2, [
      event("labeled", "2024-03-01T11:00:00Z", { actor: ACTIONS, label: { name: "wip", color: "000000" } }),
      event("closed", "2024-03-04T10:00:00Z", { state_reason: "not_planned" }),
    ]],
    [3, [
      event("added_to_project_v2", "2024-03-01T12:30:00Z", { project_v2: { id: 77, number: 3, title: "Roadmap" } }),
      status("2024-03-01T13:00:00Z", "Todo", null),
      status("2024-03-02T12:00:00Z", "In Progress", "Todo"),
      status("2024-03-04T12:00:00Z", "In Review", "In Progress"),
      event("closed", "2024-03-05T12:00:00Z", { state_reason: "completed" }),
      { ...status("2024-03-05T12:01:00Z", "Done", "In Review"), actor: ACTIONS },
    ]],
    [4, [
      event("ready_for_review", "2024-03-02T08:00:00Z", { actor: CAROL }),
      event("review_requested", "2024-03-02T08:01:00Z", { actor: CAROL, review_requester: CAROL, requested_reviewer: BOB }),
      event("reviewed", "2024-03-02T09:00:00Z", { user: COPILOT, state: "commented" }),
      event("commented", "2024-03-02T09:30:00Z", { actor: BOB, body: "Looking" }),
      event("reviewed", "2024-03-03T08:00:00Z", { user: BOB, state: "commented" }),
      event("reviewed", "2024-03-03T10:00:00Z", { user: BOB, state: "changes_requested" }),
      event("committed", "2024-03-03T15:00:00Z", { sha: "abc" }),
      event("review_requested", "2024-03-04T08:00:00Z", { actor: CAROL, review_requester: CAROL, requested_reviewer: BOB }),
      event("reviewed", "2024-03-04T12:00:00Z", { user: BOB, state: "approved" }),
      event("merged", "2024-03-05T08:00:00Z", { actor: CAROL, commit_id: "e5bd3914e2e596debea16f433f57875b5b90bcd6" }),
      event("closed", "2024-03-05T08:00:00Z", { actor: CAROL }),
    ]],
    [5, [event("closed", "2024-03-03T10:00:00Z", { actor: CAROL })]],
    [6, []],
  ]);
  return { id: REPO_ID, name: REPO, items, timelines };
}

export const WORKFLOW = {
  type_rules: [{ flow_type: "debt", labels: ["tech-debt"] }],
};
