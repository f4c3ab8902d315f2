// What flowpulse serve runs for GitHub: the incremental sync on a schedule and, when configured,
// the webhook listener. Both write through the same mapper; the listener reads items the store
// does not know yet through the same client the sync uses.
import cron from "node-cron";
import { registerSecret } from "../../core/secrets.ts";
import type { Store } from "../../store/store.ts";
import { GitHubClient } from "./collect.ts";
import { GitHubConfigError, resolveGitHubAuth } from "./config.ts";
import { githubMapContext } from "./map.ts";
import { githubSection, githubWorkflow, syncGitHub, type GitHubSourceConfig } from "./sync.ts";
import { startGitHubWebhooks } from "./webhook.ts";

export interface GitHubServices {
  parts: string[];
  stop(): Promise<void>;
}

export async function startGitHubServices(options: {
  store: Store;
  config: GitHubSourceConfig;
  log: (line: string) => void;
  schedule: string;
  timezone: string;
  env?: NodeJS.ProcessEnv;
}): Promise<GitHubServices> {
  const { store, config, log } = options;
  const env = options.env ?? process.env;
  const github = githubSection(config);
  // Credentials are checked at start, not at the first scheduled run a quarter of an hour later.
  const auth = resolveGitHubAuth(github, env);
  const parts: string[] = [];
  const stops: (() => Promise<void>)[] = [];

  const abort = new AbortController();
  let running: Promise<unknown> = Promise.resolve();
  const task = cron.schedule(
    options.schedule,
    () => {
      running = syncGitHub({ store, config, env, signal: abort.signal, log }).catch((error: Error) => log(`[github] sync failed: ${error.message}`));
      return running;
    },
    { timezone: options.timezone, noOverlap: true, name: "github-sync" },
  );
  stops.push(async () => {
    await task.stop();
    abort.abort();
    await running;
  });
  parts.push(`GitHub sync (${options.schedule})`);

  if (github.webhook) {
    const secret = env[github.webhook.secret_env];
    if (!secret) throw new GitHubConfigError(`sources.github.webhook is set but ${github.webhook.secret_env} is empty: export ${github.webhook.secret_env}=<the secret set on the GitHub webhook>`);
    registerSecret(secret);
    const client = new GitHubClient(github, auth, { onEvent: () => {} });
    const hooks = await startGitHubWebhooks({ store, config: github, ctx: githubMapContext(github, githubWorkflow(config)), secret, client, log });
    stops.push(() => hooks.close());
    parts.push(`GitHub webhooks on :${hooks.port}${hooks.path}`);
  }
  return {
    parts,
    async stop() {
      for (const stop of stops.reverse()) await stop();
    },
  };
}
