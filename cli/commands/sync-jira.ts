// `flowpulse sync jira [--full]` and `flowpulse remap jira`, on the shared command (api-sync.ts).
import { JiraHttpError } from "../../connectors/jira/collect.ts";
import { JiraConfigError } from "../../connectors/jira/config.ts";
import { remapJira, syncJira, type JiraSyncProgress } from "../../connectors/jira/sync.ts";
import type { CommandContext } from "../context.ts";
import { remapCommand, syncCommand, type ApiSource } from "./api-sync.ts";

export const SYNC_JIRA_USAGE = "flowpulse sync jira [--full]   (credentials: JIRA_API_TOKEN with auth.email, or JIRA_PAT)";
export const REMAP_JIRA_USAGE = "flowpulse remap jira   (re-map stored raw Jira issues with the current config, no API calls)";

const JIRA: ApiSource<JiraSyncProgress> = {
  name: "jira",
  sync: syncJira,
  remap: remapJira,
  progressLine: (p) =>
    `${p.pages} pages, ${p.issues} issues, ${p.transitions} status changes, ${p.rejected} rejected, ` +
    `${p.changelogPages} changelog pages, ${p.rateLimitWaits} rate-limit waits (${(p.waitedMs / 1000).toFixed(0)} s)`,
  rejectedLine: (rejected) => `${rejected} issue(s) or change(s) rejected`,
  remappedLine: (r) => `Re-mapped ${r.items} Jira items and ${r.transitions} status changes; rejected ${r.rejected}.`,
  // Credentials, site, JQL.
  isUserError: (error): error is Error => error instanceof JiraConfigError || error instanceof JiraHttpError,
};

export const syncJiraCommand = (context: CommandContext, options: { full?: boolean } = {}) => syncCommand(context, JIRA, options);
export const remapJiraCommand = (context: CommandContext) => remapCommand(context, JIRA);
