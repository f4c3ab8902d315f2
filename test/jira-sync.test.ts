// The Jira connector end to end against a local replay of Jira Cloud: jira-client does the HTTP,
// embedded ClickHouse stores the result. One hand-checked board (backward moves, skipped states,
// a reopening, a cancel, an unmapped status, malformed input) is synced through rate limits,
// server errors and an HTML error page; then synced again, re-mapped, and fully reconciled.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BASE_FIELDS } from "../connectors/jira/collect.ts";
import { remapJira, syncJira, type JiraSyncProgress } from "../connectors/jira/sync.ts";
import { sqlFile } from "../store/sql.ts";
import type { Store } from "../store/store.ts";
import { board, boardConfig, boardIssues, CLOUD_AUTH, CLOUD_ENV, sitePrefix } from "./helpers/jira-board.ts";
import { startJiraReplay, type JiraReplay } from "./helpers/jira-replay.ts";
import { freshStore } from "./helpers/store.ts";

let store: Store;
let dispose: () => Promise<void>;
let jira: JiraReplay;
let prefix: string;
let first: JiraSyncProgress;
const logs: string[] = [];
const HTML_PAGE = "<!DOCTYPE html><html><head><title>Oops, you've found a dead link.</title></head><body>Jira is down for maintenance</body></html>";

beforeAll(async () => {
  ({ store, dispose } = await freshStore());
  jira = await startJiraReplay({
    flavor: "cloud",
    issues: boardIssues(),
    statuses: board.statuses,
    timeZone: "America/New_York",
    embeddedChangelog: 3,
    authorization: CLOUD_AUTH,
    faults: [
      { path: /^\/status$/, respond: { status: 429, headers: { "retry-after": "1", "content-type": "application/json" }, body: '{"errorMessages":["Rate limit exceeded."]}' } },
      { path: /^\/search\/jql$/, skip: 1, respond: { status: 500, headers: { "content-type": "application/json" }, body: '{"errorMessages":["Internal server error"]}' } },
      { path: /^\/search\/jql$/, skip: 2, respond: { status: 502, body: HTML_PAGE } },
      { path: /^\/issue\/FP-9\/changelog$/, times: Infinity, respond: { status: 200, body: HTML_PAGE } },
    ],
  });
  prefix = sitePrefix(jira.url);
  first = await syncJira({ store, config: boardConfig(jira.url, "cloud"), env: CLOUD_ENV, log: (line) => logs.push(line) });
});
afterAll(async () => {
  await jira?.close();
  await dispose?.();
});

const checksums = () => store.query(sqlFile("queries/jira_checksums.sql"), { prefix });
const counts = async () => {
  const [row] = await store.query<{ rejected: string; raw: string }>(
    "SELECT (SELECT count() FROM rejected_records WHERE source = 'jira') AS rejected, (SELECT count() FROM raw_payloads FINAL WHERE source = 'jira') AS raw",
  );
  return row;
};
const flowItems = () => store.query<Record<string, unknown>>(sqlFile("queries/jira_flow_items.sql"), { prefix });

describe("Jira Cloud backfill", () => {
  it("pages /search/jql by nextPageToken, asks for fields explicitly and reads long changelogs in pages", () => {
    expect(first).toMatchObject({ mode: "backfill", resumed: false, pages: 3, issues: 9, items: 7, rejected: 3 });
    const searches = jira.requests.filter((r) => r.path === "/rest/api/3/search/jql" && r.status === 200);
    expect(searches).toHaveLength(3);
    expect(searches.map((r) => Boolean(r.query.nextPageToken))).toEqual([false, true, true]);
    for (const search of searches) {
      expect(search.query).toMatchObject({ fields: BASE_FIELDS.join(","), expand: "changelog", maxResults: "3", jql: 'project in ("FP") ORDER BY created ASC, key ASC' });
    }
    const fp4 = jira.requests.filter((r) => r.path === "/rest/api/3/issue/FP-4/changelog");
    expect(fp4.map((r) => r.query.startAt)).toEqual(["0", "3", "6"]);
    // Issues whose changelog fits in the search result cost no extra request.
    expect(jira.requests.some((r) => r.path === "/rest/api/3/issue/FP-2/changelog" || r.path === "/rest/api/3/issue/FP-7/changelog")).toBe(false);
  });

  it("waits as long as Retry-After says after a 429, and backs off after a 500 and an HTML 502", () => {
    const status = jira.requests.filter((r) => r.path === "/rest/api/3/status");
    expect(status.map((r) => r.status)).toEqual([429, 200]);
    expect(status[1]!.at - status[0]!.at).toBeGreaterThanOrEqual(990);
    const searchStatuses = jira.requests.filter((r) => r.path === "/rest/api/3/search/jql").map((r) => r.status);
    expect(searchStatuses).toEqual([200, 500, 200, 502, 200]);
    expect(first.rateLimitWaits).toBe(1);
    // 2 search retries + 1 for the 429 + 3 retries of FP-9's HTML changelog page.
    expect(first.retries).toBe(6);
    expect(logs.filter((line) => line.includes("rate limited"))).toHaveLength(1);
  });

  it("stores exactly the hand-checked status changes, times in UTC", async () => {
    const rows = await store.query<Record<string, string>>(sqlFile("queries/jira_transitions.sql"), { prefix });
    const got = rows.map((r) => [r.key, r.event_id, r.from_state, r.to_state, r.to_flow_state, r.at].join(" | "));
    expect(got).toEqual([
      "FP-1 | jira:10101:created |  | Backlog | new | 2024-03-01 14:00:00.000",
      "FP-1 | jira:10101:20001:0 | Backlog | In Progress | active | 2024-03-02 14:00:00.000",
      "FP-1 | jira:10101:20002:1 | In Progress | Code Review | waiting | 2024-03-03 14:00:00.000",
      "FP-1 | jira:10101:20003:0 | Code Review | In Progress | active | 2024-03-04 14:00:00.000",
      "FP-1 | jira:10101:20004:1 | In Progress | Done | done | 2024-03-05 14:00:00.000",
      "FP-2 | jira:10102:created |  | Backlog | new | 2024-03-01 09:00:00.000",
      "FP-2 | jira:10102:20011:0 | Backlog | Code Review | waiting | 2024-03-02 09:00:00.000",
      "FP-2 | jira:10102:20012:0 | Code Review | Done | done | 2024-03-03 15:00:00.000",
      "FP-3 | jira:10103:created |  | Backlog | new | 2024-03-01 08:00:00.000",
      "FP-3 | jira:10103:20021:0 | Backlog | In Progress | active | 2024-03-01 09:00:00.000",
      "FP-3 | jira:10103:20022:0 | In Progress | Done | done | 2024-03-02 09:00:00.000",
      "FP-3 | jira:10103:20023:0 | Done | In Progress | active | 2024-03-03 09:00:00.000",
      "FP-3 | jira:10103:20024:0 | In Progress | Done | done | 2024-03-04 09:00:00.000",
      "FP-4 | jira:10104:created |  | Backlog | new | 2024-03-01 08:00:00.000",
      "FP-4 | jira:10104:20031:0 | Backlog | Selected for Development | new | 2024-03-01 09:00:00.000",
      "FP-4 | jira:10104:20033:0 | Selected for Development | In Progress | active | 2024-03-01 11:00:00.000",
      "FP-4 | jira:10104:20034:0 | In Progress | QA | active | 2024-03-01 13:00:00.000",
      "FP-4 | jira:10104:20036:0 | QA | In Progress | active | 2024-03-01 16:00:00.000",
      "FP-4 | jira:10104:20037:0 | In Progress | QA | active | 2024-03-01 18:00:00.000",
      "FP-4 | jira:10104:20038:0 | QA | Done | done | 2024-03-01 20:00:00.000",
      "FP-5 | jira:10105:created |  | Backlog | new | 2024-03-01 12:00:00.000",
      "FP-5 | jira:10105:20041:0 | Backlog | In Progress | active | 2024-03-02 12:00:00.000",
      "FP-5 | jira:10105:20042:0 | In Progress | Blocked | active | 2024-03-03 12:00:00.000",
      "FP-7 | jira:10107:created |  | Backlog | new | 2024-03-01 04:45:31.000",
      "FP-7 | jira:10107:20051:1 | Backlog | In Progress | active | 2024-03-02 04:45:31.000",
      "FP-7 | jira:10107:20052:0 | In Progress | Won't Do | canceled | 2024-03-02 16:45:31.000",
      "FP-8 | jira:10108:created |  | Backlog | new | 2024-03-04 12:00:00.000",
    ]);
  });

  it("gives the hand-checked flow metrics per item", async () => {
    const rows = await flowItems();
    const byKey = Object.fromEntries(rows.map((r) => [r.key, r]));
    const pick = (key: string) => {
      const { key: _k, current_state: _c, ...rest } = byKey[key]!;
      return rest;
    };
    // Backward move Code Review -> In Progress: 2 days active, 1 day waiting, started after 1 day in Backlog.
    expect(pick("FP-1")).toEqual({ flow_type: "feature", team: "payments", status: "done", started_at: "2024-03-02 14:00:00.000", finished_at: "2024-03-05 14:00:00.000", flow_seconds: 259200, flow_seconds_from_created: 345600, active_seconds: 172800, wait_seconds: 86400, reopen_count: 0 });
    // Skipped In Progress: waiting from the start, never active.
    expect(pick("FP-2")).toEqual({ flow_type: "defect", team: "payments", status: "done", started_at: "2024-03-02 09:00:00.000", finished_at: "2024-03-03 15:00:00.000", flow_seconds: 108000, flow_seconds_from_created: 194400, active_seconds: 0, wait_seconds: 108000, reopen_count: 0 });
    // Reopened: finishes at its last completion; the day spent Done in between counts nowhere.
    expect(pick("FP-3")).toEqual({ flow_type: "debt", team: "payments", status: "done", started_at: "2024-03-01 09:00:00.000", finished_at: "2024-03-04 09:00:00.000", flow_seconds: 172800, flow_seconds_from_created: 176400, active_seconds: 172800, wait_seconds: 0, reopen_count: 1 });
    // QA is not configured: its Jira category (indeterminate) makes it active. Team from the component.
    expect(pick("FP-4")).toEqual({ flow_type: "risk", team: "secops", status: "done", started_at: "2024-03-01 11:00:00.000", finished_at: "2024-03-01 20:00:00.000", flow_seconds: 32400, flow_seconds_from_created: 43200, active_seconds: 32400, wait_seconds: 0, reopen_count: 0 });
    // Blocked is unknown to config and to /status: the category of fields.status makes it active (WIP).
    expect(byKey["FP-5"]).toMatchObject({ status: "wip", current_state: "Blocked", started_at: "2024-03-02 12:00:00.000", finished_at: null });
    expect(byKey["FP-5"]!.active_seconds as number).toBeGreaterThan(2 * 86400);
    expect(pick("FP-7")).toEqual({ flow_type: "defect", team: "payments", status: "canceled", started_at: "2024-03-02 04:45:31.000", finished_at: "2024-03-02 16:45:31.000", flow_seconds: 43200, flow_seconds_from_created: 129600, active_seconds: 43200, wait_seconds: 0, reopen_count: 0 });
    expect(byKey["FP-8"]).toMatchObject({ status: "new", started_at: null, flow_seconds: null });
    expect(Object.keys(byKey).sort()).toEqual(["FP-1", "FP-2", "FP-3", "FP-4", "FP-5", "FP-7", "FP-8"]);
  });

  it("records each bad input with its reason and goes on", async () => {
    const rows = await store.query<{ reference: string; reason: string }>(
      "SELECT reference, reason FROM rejected_records WHERE source = 'jira' ORDER BY reference, reason",
    );
    expect(rows).toHaveLength(3);
    expect(rows[0]).toEqual({ reference: "FP-6", reason: expect.stringContaining("issue has no fields") });
    expect(rows[1]).toEqual({ reference: "FP-7", reason: "history 20051 item 0 has no field name" });
    expect(rows[2]!.reference).toBe("FP-9");
    expect(rows[2]!.reason).toMatch(/changelog could not be read: .*\/issue\/FP-9\/changelog.*HTML page/);
  });

  it("logs an unmapped status once per sync, and never the token", () => {
    expect(logs.filter((line) => line.includes('status "QA"'))).toHaveLength(1);
    expect(logs.filter((line) => line.includes('status "Blocked"'))).toHaveLength(1);
    expect(logs.join("\n")).not.toContain(CLOUD_ENV.JIRA_API_TOKEN);
  });

  it("keeps every issue raw with its whole changelog, so a re-map needs no API and changes nothing", async () => {
    const [raw] = await store.query<{ payload: string }>("SELECT payload FROM raw_payloads FINAL WHERE source = 'jira' AND kind = 'issue' AND key = 'FP-4'");
    expect(JSON.parse(raw!.payload).changelog.histories).toHaveLength(8);
    const before = await checksums();
    const requestsBefore = jira.requests.length;
    const remapped = await remapJira({ store, config: boardConfig(jira.url, "cloud") });
    expect(remapped).toMatchObject({ items: 7, transitions: 27 });
    expect(jira.requests.length).toBe(requestsBefore);
    expect(await checksums()).toEqual(before);
  });
});

describe("Jira Cloud incremental sync", () => {
  it("reads only issues updated since the watermark minus the overlap and adds nothing", async () => {
    const before = { sums: await checksums(), counts: await counts() };
    const mark = jira.requests.length;
    const second = await syncJira({ store, config: boardConfig(jira.url, "cloud"), env: CLOUD_ENV });
    const search = jira.requests.slice(mark).find((r) => r.path === "/rest/api/3/search/jql")!;
    // FP-8 has the newest update, 2024-03-07 09:00 UTC = 04:00 in New York; minus 10 minutes.
    expect(search.query.jql).toBe('(project in ("FP")) AND updated >= "2024-03-07 03:50" ORDER BY created ASC, key ASC');
    expect(second).toMatchObject({ mode: "incremental", pages: 1, issues: 1, rejected: 0 });
    expect({ sums: await checksums(), counts: await counts() }).toEqual(before);
  });

  it("a full sync marks issues gone from Jira deleted and follows a moved issue to its new key", async () => {
    const issues = jira.options.issues as Record<string, unknown>[];
    issues.splice(issues.findIndex((issue) => issue.key === "FP-2"), 1);
    const fp3 = issues.find((issue) => issue.key === "FP-3")!;
    fp3.key = "FP-30";
    (fp3.fields as Record<string, string>).updated = "2024-03-08T09:00:00.000+0000";
    const result = await syncJira({ store, config: boardConfig(jira.url, "cloud"), env: CLOUD_ENV, full: true });
    expect(result).toMatchObject({ mode: "full", markedDeleted: 1 });
    const keys = (await flowItems()).map((row) => row.key);
    expect(keys).toEqual(["FP-1", "FP-30", "FP-4", "FP-5", "FP-7", "FP-8"]);
    const [moved] = await store.query<{ item_id: string; url: string }>("SELECT item_id, url FROM work_items FINAL WHERE key = 'FP-30'");
    expect(moved).toEqual({ item_id: `${prefix}10103`, url: `${jira.url}/browse/FP-30` });
    const [gone] = await store.query<{ deleted: number }>("SELECT deleted FROM work_items FINAL WHERE item_id = {id:String}", { id: `${prefix}10102` });
    expect(gone).toEqual({ deleted: 1 });
  });
});
