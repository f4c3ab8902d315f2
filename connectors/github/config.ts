// The GitHub connector's config section (sources.github). Credentials never live in the file: it
// names the environment variables that hold them, and resolveGitHubAuth reads those at run time.
import { z } from "zod";
import { registerSecret } from "../../core/secrets.ts";

const REPO = /^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/;

export const GitHubAuthSchema = z
  .strictObject({
    token_env: z.string().min(1).default("GITHUB_TOKEN").describe("environment variable holding a personal access token or an Actions token"),
    app_id_env: z.string().min(1).default("GITHUB_APP_ID").describe("GitHub App: environment variable holding the App id (used when no token is set)"),
    app_key_env: z.string().min(1).default("GITHUB_APP_PRIVATE_KEY").describe("GitHub App: environment variable holding the App's private key (PEM)"),
    installation_env: z
      .string()
      .min(1)
      .default("GITHUB_APP_INSTALLATION_ID")
      .describe("GitHub App: environment variable holding the installation id on the organisation"),
  })
  .default({ token_env: "GITHUB_TOKEN", app_id_env: "GITHUB_APP_ID", app_key_env: "GITHUB_APP_PRIVATE_KEY", installation_env: "GITHUB_APP_INSTALLATION_ID" });

export const GitHubTeamSchema = z
  .strictObject({
    by_repo: z.record(z.string(), z.string()).default({}).describe('"owner/name" -> team'),
    by_label: z.record(z.string(), z.string()).default({}).describe("label -> team (first label that maps wins over by_repo)"),
    default: z.string().default("").describe("team when nothing above matches"),
  })
  .default({ by_repo: {}, by_label: {}, default: "" });

export const GitHubLabelsSchema = z
  .strictObject({
    active: z.array(z.string()).default(["in progress", "in-progress", "wip", "doing"]).describe("labels that mean work has started (issues)"),
    waiting: z
      .array(z.string())
      .default(["blocked", "needs-info", "needs info", "waiting", "on hold"])
      .describe("labels that mean the issue waits (while any is on it)"),
  })
  .default({ active: ["in progress", "in-progress", "wip", "doing"], waiting: ["blocked", "needs-info", "needs info", "waiting", "on hold"] });

export const GitHubWebhookSchema = z.strictObject({
  port: z.number().int().min(0).max(65_535).default(9470).describe("port flowpulse serve listens on for GitHub webhooks (0: any free port)"),
  host: z.string().default("0.0.0.0").describe("address to listen on"),
  path: z.string().startsWith("/").default("/github/webhook").describe("URL path GitHub posts to"),
  secret_env: z.string().min(1).default("GITHUB_WEBHOOK_SECRET").describe("environment variable holding the webhook secret (X-Hub-Signature-256)"),
});

export const GitHubConfigSchema = z
  .strictObject({
    api_url: z.url({ protocol: /^https?$/ }).default("https://api.github.com").describe("REST API root (GitHub Enterprise Server: https://HOST/api/v3)"),
    repos: z.array(z.string().regex(REPO, { message: 'a repository as "owner/name"' })).default([]).describe("repositories to sync"),
    org: z.string().min(1).optional().describe("an organisation whose repositories are synced (with include/exclude)"),
    include: z.array(z.string()).default(["*"]).describe("with org: repository name patterns to sync (* matches any run of characters)"),
    exclude: z.array(z.string()).default([]).describe("with org: repository name patterns to leave out"),
    auth: GitHubAuthSchema,
    page_size: z.number().int().min(1).max(100).default(100).describe("items per list page (GitHub caps this at 100)"),
    concurrency: z
      .number()
      .int()
      .min(1)
      .max(10)
      .default(4)
      .describe("timeline requests in flight at most (GitHub asks integrators not to run many at once; octokit's throttling allows 10 per process)"),
    commit_items: z
      .number()
      .int()
      .min(1)
      .max(10_000)
      .default(1000)
      .describe("items stored per commit; the resume point is saved after each commit"),
    stream: z.string().trim().min(1).default("software").describe("value stream the items belong to"),
    overlap_minutes: z.number().min(0).default(10).describe("incremental syncs re-read items updated this long before the stored watermark"),
    max_retries: z.number().int().min(0).max(10).default(4).describe("retries of a request after a 5xx, a dropped connection, no answer or a rate limit"),
    timeout_ms: z
      .number()
      .int()
      .min(1000)
      .default(60_000)
      .describe("a request GitHub has not begun to answer within this long is given up and asked again (up to max_retries)"),
    labels: GitHubLabelsSchema,
    bots: z.array(z.string()).default([]).describe("logins that never count as a first reviewer or as starting work (logins ending in [bot] never do)"),
    team: GitHubTeamSchema,
    webhook: GitHubWebhookSchema.optional().describe("flowpulse serve accepts GitHub webhooks when set"),
  })
  .superRefine((value, ctx) => {
    if (value.repos.length === 0 && !value.org) {
      ctx.addIssue({ code: "custom", path: ["repos"], message: 'set repos (e.g. ["acme/shop"]) or org to choose what to sync' });
    }
  });
export type GitHubConfig = z.infer<typeof GitHubConfigSchema>;

export type GitHubAuth =
  | { kind: "token"; token: string }
  | { kind: "app"; appId: string; privateKey: string; installationId: string };

export class GitHubConfigError extends Error {
  override name = "GitHubConfigError";
}

/** Reads the credentials named by the config from the environment; messages name variables, never values. */
export function resolveGitHubAuth(config: GitHubConfig, env: NodeJS.ProcessEnv = process.env): GitHubAuth {
  const { token_env, app_id_env, app_key_env, installation_env } = config.auth;
  const token = env[token_env];
  if (token) {
    registerSecret(token);
    return { kind: "token", token };
  }
  const appId = env[app_id_env];
  const privateKey = env[app_key_env];
  const installationId = env[installation_env];
  if (appId && privateKey && installationId) {
    registerSecret(privateKey);
    return { kind: "app", appId, privateKey: privateKey.replace(/\\n/g, "\n"), installationId };
  }
  if (appId || privateKey || installationId) {
    const missing = [[app_id_env, appId], [app_key_env, privateKey], [installation_env, installationId]].filter(([, v]) => !v).map(([k]) => k);
    throw new GitHubConfigError(`GitHub App credentials are incomplete: export ${missing.join(" and ")}`);
  }
  throw new GitHubConfigError(`no GitHub credentials: export ${token_env} (a token that can read the repositories), or ${app_id_env}, ${app_key_env} and ${installation_env} (a GitHub App)`);
}

/** Whether `name` matches a pattern in which * is any run of characters (case-insensitive, as GitHub names are). */
export function matchesPattern(name: string, pattern: string): boolean {
  const regex = new RegExp(`^${pattern.split("*").map((part) => part.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*")}$`, "i");
  return regex.test(name);
}
