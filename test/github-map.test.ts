// The pure GitHub mapper on the hand-checked repository (test/helpers/github-board.ts): every
// state change, times in UTC, bots ignored, reopen going back where the facts say.
import { describe, expect, it } from "vitest";
import { parseConfig } from "../cli/config.ts";
import { GitHubConfigSchema, resolveGitHubAuth } from "../connectors/github/config.ts";
import { githubMapContext, mapItem, type ItemBundle, type RawEvent, type RawIssue } from "../connectors/github/map.ts";
import { WorkflowSchema } from "../core/workflow.ts";
import { event, REPO, shopRepo, WORKFLOW } from "./helpers/github-board.ts";

const config = GitHubConfigSchema.parse({ repos: [REPO], bots: ["renovate-helper"], team: { by_repo: { [REPO]: "checkout" }, by_label: { security: "secops" } } });
const ctx = githubMapContext(config, WorkflowSchema.parse(WORKFLOW));
const repo = shopRepo();
const bundle = (number: number): ItemBundle => ({
  repo: REPO,
  issue: repo.items.find((item) => item.number === number) as RawIssue,
  timeline: repo.timelines.get(number) as RawEvent[],
});
const history = (b: ItemBundle) =>
  mapItem(b, ctx).transitions.map((t) => `${new Date(t.at).toISOString().slice(5, 16)} ${t.from_state || "-"} -> ${t.to_state} (${t.to_flow_state})`);

describe("mapItem", () => {
  it("an issue assigned, blocked, closed, reopened and closed again", () => {
    expect(history(bundle(1))).toEqual([
      "03-01T09:00 - -> open (new)",
      "03-02T09:00 open -> in progress (active)",
      "03-03T09:00 in progress -> blocked (waiting)",
      "03-04T09:00 blocked -> in progress (active)",
      "03-05T09:00 in progress -> closed (done)",
      "03-06T09:00 closed -> in progress (active)",
      "03-07T09:00 in progress -> closed (done)",
    ]);
    const { item } = mapItem(bundle(1), ctx);
    expect(item).toMatchObject({ item_id: "github:api.github.com:1001", key: "acme/shop#1", flow_type: "defect", source_type: "Bug", team: "checkout", source: "github" });
  });

  it("an issue closed as not planned is canceled; a bot's wip label starts nothing", () => {
    expect(history(bundle(2))).toEqual(["03-01T10:00 - -> open (new)", "03-04T10:00 open -> not planned (canceled)"]);
  });

  it("an issue moved through Projects statuses; the board's Done after the close changes nothing", () => {
    expect(history(bundle(3))).toEqual([
      "03-01T12:00 - -> open (new)",
      "03-01T13:00 open -> Todo (new)",
      "03-02T12:00 Todo -> In Progress (active)",
      "03-04T12:00 In Progress -> In Review (waiting)",
      "03-05T12:00 In Review -> closed (done)",
    ]);
  });

  it("a pull request from draft to merged: bot review ignored, human review, changes, approval", () => {
    expect(history(bundle(4))).toEqual([
      "03-01T08:00 - -> draft (active)",
      "03-02T08:00 draft -> awaiting review (waiting)",
      "03-03T08:00 awaiting review -> in review (active)",
      "03-03T10:00 in review -> changes requested (active)",
      "03-04T08:00 changes requested -> awaiting review (waiting)",
      "03-04T12:00 awaiting review -> approved (waiting)",
      "03-05T08:00 approved -> merged (done)",
    ]);
    expect(mapItem(bundle(4), ctx).item).toMatchObject({ source_type: "pull_request", flow_type: "feature", key: "acme/shop#4" });
  });

  it("a pull request closed unmerged is canceled", () => {
    expect(history(bundle(5))).toEqual(["03-02T10:00 - -> awaiting review (waiting)", "03-03T10:00 awaiting review -> closed (canceled)"]);
  });

  it("the author's own review, configured bots and [bot] logins never count as a reviewer or as starting work", () => {
    const b = bundle(5);
    const timeline = [
      event("reviewed", "2024-03-02T11:00:00Z", { user: { login: "carol", type: "User" }, state: "commented" }),
      event("reviewed", "2024-03-02T12:00:00Z", { user: { login: "Renovate-Helper", type: "User" }, state: "approved" }),
      event("reviewed", "2024-03-02T13:00:00Z", { user: { login: "dependabot[bot]", type: "Bot" }, state: "changes_requested" }),
    ];
    expect(history({ ...b, issue: { ...b.issue, state: "open", closed_at: null }, timeline: timeline as RawEvent[] })).toEqual(["03-02T10:00 - -> awaiting review (waiting)"]);
    const issue = bundle(2);
    const assignedToBot = [event("assigned", "2024-03-02T09:00:00Z", { assignee: { login: "copilot-swe-agent[bot]", type: "Bot" } })];
    expect(history({ ...issue, timeline: assignedToBot as RawEvent[] })).toEqual(["03-01T10:00 - -> open (new)"]);
  });

  it("refuses an item without a valid created_at, and one bad event on its own", () => {
    const bad = mapItem(bundle(6), ctx);
    expect(bad.item).toBeNull();
    expect(bad.rejections.map((r) => `${r.reference}: ${r.reason}`)).toEqual([expect.stringMatching(/^acme\/shop#6: created_at: .*offset/)]);
    const one = bundle(1);
    const timeline = [...one.timeline, { event: "labeled", created_at: "not a time", label: { name: "blocked" } }];
    const mapped = mapItem({ ...one, timeline }, ctx);
    expect(mapped.transitions).toHaveLength(7);
    expect(mapped.rejections.map((r) => r.reference)).toEqual(["acme/shop#1 labeled"]);
  });

  it("configured Projects statuses and type rules win over the defaults; labels map teams", () => {
    const custom = githubMapContext(config, WorkflowSchema.parse({ states: { "In Review": "active" }, type_rules: [{ flow_type: "risk", source_types: ["Bug"] }] }));
    const mapped = mapItem(bundle(3), custom);
    expect(mapped.transitions.find((t) => t.to_state === "In Review")?.to_flow_state).toBe("active");
    expect(mapItem(bundle(1), custom).item?.flow_type).toBe("risk");
    const labeled = bundle(2);
    expect(mapItem({ ...labeled, issue: { ...labeled.issue, labels: [{ name: "Security" }] } }, ctx).item?.team).toBe("secops");
    const otherRepo = { ...labeled, repo: "acme/other" };
    expect(mapItem(otherRepo, ctx).item?.team).toBe("acme/other");
  });
});

describe("sources.github config", () => {
  it("refuses secrets in the file and says where they go; names what is missing", () => {
    expect(() => parseConfig({ sources: { github: { repos: [REPO], token: "ghp_x" } } }, "flowpulse.yaml")).toThrow(/sources\.github\.token: .*GITHUB_TOKEN/);
    expect(() => parseConfig({ sources: { github: {} } }, "flowpulse.yaml")).toThrow(/set repos .* or org/);
    expect(() => parseConfig({ sources: { github: { repos: ["shop"] } } }, "flowpulse.yaml")).toThrow(/owner\/name/);
  });

  it("reads the token, or a whole GitHub App, from the environment only", () => {
    expect(resolveGitHubAuth(config, { GITHUB_TOKEN: "t0k" })).toEqual({ kind: "token", token: "t0k" });
    expect(resolveGitHubAuth(config, { GITHUB_APP_ID: "12", GITHUB_APP_PRIVATE_KEY: "-----BEGIN\\nKEY", GITHUB_APP_INSTALLATION_ID: "34" })).toEqual({
      kind: "app", appId: "12", privateKey: "-----BEGIN\nKEY", installationId: "34",
    });
    expect(() => resolveGitHubAuth(config, { GITHUB_APP_ID: "12" })).toThrow("GitHub App credentials are incomplete: export GITHUB_APP_PRIVATE_KEY and GITHUB_APP_INSTALLATION_ID");
    expect(() => resolveGitHubAuth(config, {})).toThrow(/no GitHub credentials: export GITHUB_TOKEN/);
  });
});
