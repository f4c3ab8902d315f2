// The Jira connector's config section (sources.jira). Secrets never live in the file: the file
// names the environment variables that hold them, and resolveJiraAuth reads those at run time
// (a token written in the file is refused by the product config's one secret check, core/secrets.ts).
import { z } from "zod";
import { registerSecret } from "../../core/secrets.ts";

const isHttpUrl = (text: string) => {
  try {
    const url = new URL(text);
    return url.protocol === "https:" || url.protocol === "http:";
  } catch {
    return false;
  }
};

export const JiraAuthSchema = z
  .strictObject({
    email: z
      .string()
      .trim()
      .min(1)
      .optional()
      .describe("Jira Cloud: the account's email; the API token comes from the env var named by token_env"),
    token_env: z.string().min(1).default("JIRA_API_TOKEN").describe("environment variable holding the Cloud API token"),
    pat_env: z
      .string()
      .min(1)
      .default("JIRA_PAT")
      .describe("environment variable holding a Data Center/Server personal access token (used when no email is set)"),
  })
  .default({ token_env: "JIRA_API_TOKEN", pat_env: "JIRA_PAT" });

export const JiraTeamSchema = z
  .strictObject({
    by_project: z.record(z.string(), z.string()).default({}).describe("project key -> team"),
    by_component: z.record(z.string(), z.string()).default({}).describe("component name -> team (first component that maps wins)"),
    field: z
      .string()
      .regex(/^customfield_\d+$/, { message: 'a custom field id such as "customfield_10001"' })
      .optional()
      .describe("custom field whose value names the team; wins over by_component and by_project when set on the issue"),
    default: z.string().default("").describe("team when nothing above matches"),
  })
  .default({ by_project: {}, by_component: {}, default: "" });

export const JiraConfigSchema = z
  .strictObject({
    site: z
      .string()
      .trim()
      .refine(isHttpUrl, { message: "the site's base URL, e.g. https://acme.atlassian.net or https://jira.example.com/jira" })
      .transform((text) => text.replace(/\/+$/, ""))
      .describe("base URL of the Jira site"),
    flavor: z
      .enum(["cloud", "datacenter"], { error: 'flavor must be "cloud" (Atlassian-hosted) or "datacenter" (Data Center/Server)' })
      .default("cloud"),
    auth: JiraAuthSchema,
    projects: z.array(z.string().trim().regex(/^[A-Z][A-Z0-9_]*$/i, { message: "a project key such as FP" })).optional(),
    jql: z.string().trim().min(1).optional().describe("a JQL filter used instead of projects (no ORDER BY: the connector orders)"),
    page_size: z.number().int().min(1).max(100).default(50).describe("issues per search page (Jira caps this at 100)"),
    changelog_page_size: z.number().int().min(1).max(100).default(100),
    concurrency: z.number().int().min(1).max(16).default(4).describe("parallel changelog page fetches"),
    commit_issues: z
      .number()
      .int()
      .min(1)
      .max(10_000)
      .default(2500)
      .describe("issues stored per commit; the resume cursor is saved after each commit, so a killed run re-reads at most this many (plus the pages fetched ahead)"),
    stream: z.string().trim().min(1).default("software").describe("value stream the issues belong to"),
    team: JiraTeamSchema,
    overlap_minutes: z
      .number()
      .min(0)
      .default(10)
      .describe("incremental syncs re-read issues updated this long before the stored watermark"),
    max_retries: z.number().int().min(0).max(20).default(6).describe("retries of a request after a 429, a 5xx or a dropped connection"),
    backoff_ms: z.number().int().min(1).default(1000).describe("first retry delay; doubles each retry, with jitter"),
    timeout_ms: z.number().int().min(1000).default(60_000).describe("per-request timeout"),
  })
  .superRefine((value, ctx) => {
    if (!value.projects?.length && !value.jql) {
      ctx.addIssue({ code: "custom", path: ["projects"], message: "set projects (e.g. [FP, OPS]) or jql to choose which issues to sync" });
    }
    if (value.jql && /\border\s+by\b/i.test(value.jql)) {
      ctx.addIssue({ code: "custom", path: ["jql"], message: "remove ORDER BY from jql: the connector orders by creation so paging stays stable" });
    }
  });
export type JiraConfig = z.infer<typeof JiraConfigSchema>;

export type JiraAuth =
  | { kind: "basic"; username: string; password: string }
  | { kind: "bearer"; token: string };

export class JiraConfigError extends Error {
  override name = "JiraConfigError";
}

/** Reads the credentials named by the config from the environment. Never logs or returns them in messages. */
export function resolveJiraAuth(config: JiraConfig, env: NodeJS.ProcessEnv = process.env): JiraAuth {
  const { email, token_env, pat_env } = config.auth;
  if (email) {
    const token = env[token_env];
    if (!token) throw new JiraConfigError(`sources.jira.auth.email is set but ${token_env} is empty: export ${token_env}=<API token of ${email}>`);
    // Basic auth sends base64(email:token), which an error body may echo: both forms are redacted.
    registerSecret(token, email);
    return { kind: "basic", username: email, password: token };
  }
  const pat = env[pat_env];
  if (pat) {
    registerSecret(pat);
    return { kind: "bearer", token: pat };
  }
  throw new JiraConfigError(
    `no Jira credentials: set sources.jira.auth.email and export ${token_env} (Cloud API token), or export ${pat_env} (Data Center personal access token)`,
  );
}
