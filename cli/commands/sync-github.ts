// `flowpulse sync github [--full]` and `flowpulse remap github`. Ctrl-C stops after the request in
// flight; the next `sync github` resumes at the page after the last one stored.
import { GitHubHttpError } from "../../connectors/github/collect.ts";
import { GitHubConfigError } from "../../connectors/github/config.ts";
import { remapGitHub, syncGitHub, type GitHubSyncProgress } from "../../connectors/github/sync.ts";
import { withStore, type CommandContext } from "../context.ts";
import { UsageError } from "../errors.ts";

export const SYNC_GITHUB_USAGE = "flowpulse sync github [--full]   (credentials: GITHUB_TOKEN, or GITHUB_APP_ID + GITHUB_APP_PRIVATE_KEY + GITHUB_APP_INSTALLATION_ID)";
export const REMAP_GITHUB_USAGE = "flowpulse remap github   (re-map stored raw GitHub items with the current config, no API calls)";

export async function syncGitHubCommand(context: CommandContext, options: { full?: boolean } = {}): Promise<number> {
  const controller = new AbortController();
  const stop = () => controller.abort(new UsageError("stopped; run `flowpulse sync github` again to resume"));
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  let lastLine = 0;
  const progress = (p: GitHubSyncProgress) => {
    if (Date.now() - lastLine < 5_000) return;
    lastLine = Date.now();
    context.err(
      `github: ${p.pages} pages, ${p.records} items, ${p.transitions} state changes, ${p.rejected} rejected, ` +
        `${p.requests} requests (${p.notModified} answered 304), ${p.rateLimitWaits + p.secondaryLimitWaits} rate-limit waits\n`,
    );
  };
  try {
    const result = await withStore(
      context,
      (store) => syncGitHub({ store, config: context.config, full: options.full, signal: controller.signal, log: (line) => context.err(line + "\n"), onProgress: progress }),
      "write",
    );
    if (result.rejected > 0) context.out(`${result.rejected} item(s) or event(s) rejected: flowpulse rejected --source github\n`);
    // The exit status contract (docs/cli.md): 1 when this run refused something, the rest stored.
    return result.rejected > 0 ? 1 : 0;
  } catch (error) {
    throw asUserError(error);
  } finally {
    process.off("SIGINT", stop);
    process.off("SIGTERM", stop);
  }
}

export async function remapGitHubCommand(context: CommandContext): Promise<number> {
  try {
    const result = await withStore(context, (store) => remapGitHub({ store, config: context.config, log: (line) => context.err(line + "\n") }));
    context.out(`Re-mapped ${result.items} GitHub items and ${result.transitions} state changes; rejected ${result.rejected}.\n`);
    return result.rejected > 0 ? 1 : 0;
  } catch (error) {
    throw asUserError(error);
  }
}

// Config and HTTP problems are the user's to fix (token, repositories): one line, exit 2.
function asUserError(error: unknown): unknown {
  if (error instanceof GitHubConfigError || error instanceof GitHubHttpError) return new UsageError(error.message);
  return error;
}
