// The hand-checked board of test/fixtures/jira/board.json and the config that syncs it.
import { readFileSync } from "node:fs";
import { parseConfig, type Config } from "../../cli/config.ts";

export const board = JSON.parse(readFileSync(new URL("../fixtures/jira/board.json", import.meta.url), "utf8")) as {
  statuses: Record<string, unknown>[];
  issues: Record<string, unknown>[];
};

/** A fresh deep copy, so a test can edit issues without touching the others. */
export const boardIssues = (): Record<string, unknown>[] => structuredClone(board.issues);

export const CLOUD_ENV = { JIRA_API_TOKEN: "cloud-token-7f3a" };
export const CLOUD_AUTH = `Basic ${Buffer.from("sync-bot@acme.test:cloud-token-7f3a").toString("base64")}`;
export const DC_ENV = { JIRA_PAT: "dc-pat-91b2" };
export const DC_AUTH = "Bearer dc-pat-91b2";

export const WORKFLOW = {
  states: {
    Backlog: "new",
    "Selected for Development": "new",
    "In Progress": "active",
    "Code Review": "waiting",
    Done: "done",
    "Won't Do": "canceled",
  },
  type_rules: [
    { flow_type: "defect", source_types: ["Bug"] },
    { flow_type: "debt", labels: ["tech-debt"] },
    { flow_type: "risk", components: ["Security"] },
  ],
  default_flow_type: "feature",
};

export function boardConfig(site: string, flavor: "cloud" | "datacenter", jira: Record<string, unknown> = {}): Config {
  return parseConfig(
    {
      workflows: { jira: WORKFLOW },
      sources: {
        jira: {
          site,
          flavor,
          auth: flavor === "cloud" ? { email: "sync-bot@acme.test" } : {},
          projects: ["FP"],
          page_size: 3,
          changelog_page_size: 3,
          backoff_ms: 20,
          max_retries: 3,
          team: { by_project: { FP: "payments" }, by_component: { Security: "secops" } },
          ...jira,
        },
      },
    },
    "test",
    {},
  );
}

/** `jira:<host>:` for a replay server URL: the prefix of every item id of that site. */
export const sitePrefix = (url: string) => `jira:${new URL(url).host}:`;
