// `flowpulse sync github [--full]` and `flowpulse remap github`, on the shared command (api-sync.ts).
import { GitHubHttpError } from "../../connectors/github/collect.ts";
import { GitHubConfigError } from "../../connectors/github/config.ts";
import { remapGitHub, syncGitHub, type GitHubSyncProgress } from "../../connectors/github/sync.ts";
import type { CommandContext } from "../context.ts";
import { remapCommand, syncCommand, type ApiSource } from "./api-sync.ts";

export const SYNC_GITHUB_USAGE = "flowpulse sync github [--full]   (credentials: GITHUB_TOKEN, or GITHUB_APP_ID + GITHUB_APP_PRIVATE_KEY + GITHUB_APP_INSTALLATION_ID)";
export const REMAP_GITHUB_USAGE = "flowpulse remap github   (re-map stored raw GitHub items with the current config, no API calls)";

const GITHUB: ApiSource<GitHubSyncProgress> = {
  name: "github",
  sync: syncGitHub,
  remap: remapGitHub,
  progressLine: (p) =>
    `${p.pages} pages, ${p.records} items, ${p.transitions} state changes, ${p.rejected} rejected, ` +
    `${p.requests} requests (${p.notModified} answered 304), ${p.rateLimitWaits + p.secondaryLimitWaits} rate-limit waits`,
  rejectedLine: (rejected) => `${rejected} item(s) or event(s) rejected`,
  remappedLine: (r) => `Re-mapped ${r.items} GitHub items and ${r.transitions} state changes; rejected ${r.rejected}.`,
  // Token, repositories.
  isUserError: (error): error is Error => error instanceof GitHubConfigError || error instanceof GitHubHttpError,
};

export const syncGitHubCommand = (context: CommandContext, options: { full?: boolean } = {}) => syncCommand(context, GITHUB, options);
export const remapGitHubCommand = (context: CommandContext) => remapCommand(context, GITHUB);
