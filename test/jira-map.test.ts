// The pure parts of the Jira connector: mapping one issue, and the config section's messages.
import { describe, expect, it } from "vitest";
import { parseConfig } from "../cli/config.ts";
import { WorkflowSchema } from "../core/workflow.ts";
import { resolveJiraAuth } from "../connectors/jira/config.ts";
import { mapContext, mapIssue, statusCategoriesFrom, type RawIssue } from "../connectors/jira/map.ts";
import { jqlTime } from "../connectors/jira/sync.ts";
import { board, boardConfig, WORKFLOW } from "./helpers/jira-board.ts";

const config = boardConfig("https://acme.atlassian.net", "cloud");
const jira = config.sources.jira!;
const ctx = mapContext(jira, WorkflowSchema.parse(WORKFLOW), statusCategoriesFrom(board.statuses));
const issue = (key: string) => structuredClone(board.issues.find((i) => i.key === key)) as RawIssue;

describe("mapIssue", () => {
  it("maps an issue to an item with a stable id, key, url, type and team", () => {
    const { item, rejections } = mapIssue(issue("FP-4"), ctx);
    expect(rejections).toEqual([]);
    expect(item).toEqual({
      item_id: "jira:acme.atlassian.net:10104", source: "jira", stream: "software", key: "FP-4", title: "Rotate signing keys",
      url: "https://acme.atlassian.net/browse/FP-4", flow_type: "risk", team: "secops", labels: [], created_at: Date.UTC(2024, 2, 1, 8),
      source_type: "Story", deleted: false,
    });
  });

  it("orders histories by time whatever order Jira sends them in, and counts a repeated history once", () => {
    const straight = mapIssue(issue("FP-1"), ctx).transitions;
    const shuffled = issue("FP-1");
    const histories = shuffled.changelog!.histories!;
    shuffled.changelog!.histories = [...histories].reverse().concat(histories[1]!);
    expect(mapIssue(shuffled, ctx).transitions).toEqual(straight);
    expect(straight.map((t) => t.event_id)).toEqual(["jira:10101:created", "jira:10101:20001:0", "jira:10101:20002:1", "jira:10101:20003:0", "jira:10101:20004:1"]);
  });

  it("turns Jira's -0500 offsets into exact UTC", () => {
    const [, firstMove] = mapIssue(issue("FP-1"), ctx).transitions;
    expect(new Date(firstMove!.at).toISOString()).toBe("2024-03-02T14:00:00.000Z");
    const odd = issue("FP-8");
    odd.fields!.created = "2015-11-02T10:15:31.000-0500";
    expect(new Date(mapIssue(odd, ctx).item!.created_at).toISOString()).toBe("2015-11-02T15:15:31.000Z");
  });

  it("a status unknown to config and to Jira's categories is rejected with its name; the rest of the history stays", () => {
    const strange = issue("FP-5");
    strange.changelog!.histories!.push({ id: "29999", created: "2024-03-04T12:00:00.000+0000", items: [{ field: "status", fieldtype: "jira", fieldId: "status", from: "10004", fromString: "Blocked", to: "77777", toString: "Limbo" }] });
    const mapped = mapIssue(strange, ctx);
    expect(mapped.transitions.map((t) => t.to_state)).toEqual(["Backlog", "In Progress", "Blocked"]);
    expect(mapped.rejections).toEqual([expect.objectContaining({ reference: "FP-5", reason: 'status "Limbo" (id 77777) is not in workflows.jira.states and Jira reports no category for it' })]);
    expect(mapped.fallbackStatuses).toEqual(["Blocked"]);
  });

  it("rejects an issue without fields, or with a creation time without offset, instead of guessing", () => {
    expect(mapIssue(issue("FP-6"), ctx)).toMatchObject({ item: null, transitions: [], rejections: [{ reference: "FP-6", reason: expect.stringMatching(/no fields/) }] });
    const local = issue("FP-8");
    local.fields!.created = "2024-03-04T12:00:00.000";
    expect(mapIssue(local, ctx).rejections[0]!.reason).toMatch(/fields\.created: .*no UTC offset/);
  });

  it("takes the team from a custom field when configured (option values, lists)", () => {
    const withField = mapContext({ ...jira, team: { ...jira.team, field: "customfield_10001" } }, ctx.workflow, ctx.categories);
    const raw = issue("FP-1");
    raw.fields!.customfield_10001 = [{ self: "x", value: "checkout", id: "10020" }];
    expect(mapIssue(raw, withField).item!.team).toBe("checkout");
    delete raw.fields!.customfield_10001;
    expect(mapIssue(raw, withField).item!.team).toBe("payments");
  });
});

describe("sources.jira config", () => {
  const attempt = (jiraSection: Record<string, unknown>) => {
    try {
      parseConfig({ sources: { jira: jiraSection } }, "flowpulse.yaml", {});
      return "";
    } catch (error) {
      return (error as Error).message;
    }
  };

  it("refuses secrets in the file and says where they go", () => {
    const message = attempt({ site: "https://acme.atlassian.net", projects: ["FP"], auth: { email: "a@b.c", token: "abc123" } });
    expect(message).toMatch(/sources\.jira\.auth\.token: do not put secrets in the config file .*JIRA_API_TOKEN/);
    expect(message).not.toContain("abc123");
  });

  it("names what is missing or wrong", () => {
    expect(attempt({ site: "acme" })).toMatch(/sources\.jira\.site: the site's base URL/);
    expect(attempt({ site: "https://acme.atlassian.net" })).toMatch(/sources\.jira\.projects: set projects .* or jql/);
    expect(attempt({ site: "https://acme.atlassian.net", jql: "project = FP ORDER BY rank" })).toMatch(/remove ORDER BY/);
    expect(attempt({ site: "https://acme.atlassian.net", projects: ["FP"], flavor: "server" })).toMatch(/flavor must be "cloud" .* or "datacenter"/);
    expect(attempt({ site: "https://acme.atlassian.net", projects: ["FP"], page_size: 500 })).toMatch(/sources\.jira\.page_size/);
  });

  it("reads credentials from the environment only, with a message that names the variable but not the secret", () => {
    expect(resolveJiraAuth(jira, { JIRA_API_TOKEN: "t0k" })).toEqual({ kind: "basic", username: "sync-bot@acme.test", password: "t0k" });
    expect(() => resolveJiraAuth(jira, {})).toThrow(/JIRA_API_TOKEN is empty: export JIRA_API_TOKEN=<API token of sync-bot@acme.test>/);
    const dc = boardConfig("https://jira.example.com/jira", "datacenter").sources.jira!;
    expect(resolveJiraAuth(dc, { JIRA_PAT: "p4t" })).toEqual({ kind: "bearer", token: "p4t" });
    expect(() => resolveJiraAuth(dc, {})).toThrow(/no Jira credentials: .*JIRA_PAT/);
  });

  it("writes JQL dates in the user's zone (Jira reads them there)", () => {
    expect(jqlTime(Date.UTC(2024, 2, 7, 8, 50, 59), "America/New_York")).toBe("2024-03-07 03:50");
    expect(jqlTime(Date.UTC(2024, 6, 1, 23, 30), "Europe/Berlin")).toBe("2024-07-02 01:30");
  });
});
