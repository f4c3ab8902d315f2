// `flowpulse sync jira [--full]` and `flowpulse remap jira`. Ctrl-C stops after the request in
// flight; the next `sync jira` resumes at the page after the last one stored.
import { JiraHttpError } from "../../connectors/jira/collect.ts";
import { JiraConfigError } from "../../connectors/jira/config.ts";
import { remapJira, syncJira, type JiraSyncProgress } from "../../connectors/jira/sync.ts";
import { withStore, type CommandContext } from "../context.ts";
import { UsageError } from "../errors.ts";

export const SYNC_JIRA_USAGE = "flowpulse sync jira [--full]   (credentials: JIRA_API_TOKEN with auth.email, or JIRA_PAT)";
export const REMAP_JIRA_USAGE = "flowpulse remap jira   (re-map stored raw Jira issues with the current config, no API calls)";

export async function syncJiraCommand(context: CommandContext, options: { full?: boolean } = {}): Promise<number> {
  const controller = new AbortController();
  const stop = () => controller.abort(new UsageError("stopped; run `flowpulse sync jira` again to resume"));
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  let lastLine = 0;
  const progress = (p: JiraSyncProgress) => {
    // A line every few seconds on long syncs: alive, how far, and how much the server slowed us.
    if (Date.now() - lastLine < 5_000) return;
    lastLine = Date.now();
    context.err(
      `jira: ${p.pages} pages, ${p.issues} issues, ${p.transitions} status changes, ${p.rejected} rejected, ` +
        `${p.changelogPages} changelog pages, ${p.rateLimitWaits} rate-limit waits (${(p.waitedMs / 1000).toFixed(0)} s)\n`,
    );
  };
  try {
    const result = await withStore(
      context,
      (store) => syncJira({ store, config: context.config, full: options.full, signal: controller.signal, log: (line) => context.err(line + "\n"), onProgress: progress }),
      "write",
    );
    if (result.rejected > 0) context.out(`${result.rejected} issue(s) or change(s) rejected: flowpulse rejected --source jira\n`);
    // The exit status contract (docs/cli.md): 1 when this run refused something, the rest stored.
    return result.rejected > 0 ? 1 : 0;
  } catch (error) {
    throw asUserError(error);
  } finally {
    process.off("SIGINT", stop);
    process.off("SIGTERM", stop);
  }
}

export async function remapJiraCommand(context: CommandContext): Promise<number> {
  try {
    const result = await withStore(context, (store) => remapJira({ store, config: context.config, log: (line) => context.err(line + "\n") }));
    context.out(`Re-mapped ${result.items} Jira items and ${result.transitions} status changes; rejected ${result.rejected}.\n`);
    return result.rejected > 0 ? 1 : 0;
  } catch (error) {
    throw asUserError(error);
  }
}

// Config and HTTP problems are the user's to fix (credentials, site, JQL): one line, exit 2.
function asUserError(error: unknown): unknown {
  if (error instanceof JiraConfigError || error instanceof JiraHttpError) return new UsageError(error.message);
  return error;
}
