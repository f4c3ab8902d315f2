// A sync that dies midway and is run again must end with the same tables as one that never
// stopped. Each flavor runs twice on the same board: once straight through (site A), once killed
// after page 2 and resumed (site B). Sites differ only by port, so checksums (which leave the
// site prefix out) must match exactly. Cloud is killed through an AbortSignal, Data Center by the
// server dropping every connection until the retries run out.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { syncJira } from "../connectors/jira/sync.ts";
import { sqlFile } from "../store/sql.ts";
import type { Store } from "../store/store.ts";
import { board, boardConfig, boardIssues, CLOUD_AUTH, CLOUD_ENV, DC_AUTH, DC_ENV, sitePrefix } from "./helpers/jira-board.ts";
import { startJiraReplay, type JiraReplay, type ReplayOptions } from "./helpers/jira-replay.ts";
import { freshStore } from "./helpers/store.ts";

let store: Store;
let dispose: () => Promise<void>;
const servers: JiraReplay[] = [];

beforeAll(async () => {
  ({ store, dispose } = await freshStore());
});
afterAll(async () => {
  for (const server of servers) await server.close();
  await dispose?.();
});

async function replay(options: Omit<ReplayOptions, "issues" | "statuses">): Promise<JiraReplay> {
  const server = await startJiraReplay({ issues: boardIssues(), statuses: board.statuses, embeddedChangelog: 3, timeZone: "Europe/Berlin", ...options });
  servers.push(server);
  return server;
}
const checksums = (url: string) => store.query(sqlFile("queries/jira_checksums.sql"), { prefix: sitePrefix(url) });

describe("a killed sync resumes where it stopped", () => {
  it("Cloud: aborted after page 2, resumed from the stored nextPageToken", async () => {
    const straight = await replay({ flavor: "cloud", authorization: CLOUD_AUTH });
    await syncJira({ store, config: boardConfig(straight.url, "cloud"), env: CLOUD_ENV });

    const controller = new AbortController();
    const killed = await replay({
      flavor: "cloud",
      authorization: CLOUD_AUTH,
      onRequest: (request) => {
        if (request.path === "/rest/api/3/search/jql" && request.query.nextPageToken && killedPages() === 3) controller.abort(new Error("killed"));
      },
    });
    const killedPages = () => killed.requests.filter((r) => r.path === "/rest/api/3/search/jql").length;
    const config = boardConfig(killed.url, "cloud");
    await expect(syncJira({ store, config, env: CLOUD_ENV, signal: controller.signal })).rejects.toThrow("killed");
    const partial = await checksums(killed.url);
    expect(partial).not.toEqual(await checksums(straight.url));

    const lines: string[] = [];
    const mark = killed.requests.length;
    const resumed = await syncJira({ store, config, env: CLOUD_ENV, log: (line) => lines.push(line) });
    expect(resumed).toMatchObject({ mode: "backfill", resumed: true, pages: 3, issues: 9 });
    expect(lines[0]).toMatch(/resuming the backfill run .* after page 2/);
    const searches = killed.requests.slice(mark).filter((r) => r.path === "/rest/api/3/search/jql");
    expect(searches).toHaveLength(1);
    expect(searches[0]!.query.nextPageToken).toBeTruthy();
    expect(await checksums(killed.url)).toEqual(await checksums(straight.url));
  });

  it("Data Center: connection dropped on page 3 until retries ran out, resumed at startAt=6", async () => {
    const straight = await replay({ flavor: "datacenter", authorization: DC_AUTH });
    const straightRun = await syncJira({ store, config: boardConfig(straight.url, "datacenter"), env: DC_ENV });
    expect(straightRun).toMatchObject({ pages: 3, issues: 9, items: 8, rejected: 2 });
    expect(straight.requests.filter((r) => r.path === "/rest/api/2/search").map((r) => r.query.startAt)).toEqual(["0", "3", "6"]);

    const killed = await replay({ flavor: "datacenter", authorization: DC_AUTH, faults: [{ path: /^\/search$/, skip: 2, times: Infinity, respond: "drop" }] });
    const config = boardConfig(killed.url, "datacenter", { max_retries: 1 });
    await expect(syncJira({ store, config, env: DC_ENV })).rejects.toThrow(/GET \/rest\/api\/2\/search failed after 2 attempts: connection failed/);

    killed.options.faults = [];
    const mark = killed.requests.length;
    await syncJira({ store, config, env: DC_ENV });
    expect(killed.requests.slice(mark).filter((r) => r.path === "/rest/api/2/search").map((r) => r.query.startAt)).toEqual(["6"]);
    expect(await checksums(killed.url)).toEqual(await checksums(straight.url));
    // Both flavors read the same board into the same rows.
    expect(await checksums(straight.url)).toEqual(await checksums(servers[0]!.url));
  });
});
