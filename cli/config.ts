// One config schema for the whole product, assembled here at the top layer from each part's own
// section (store and metrics from core, sources from the connectors, slack from the bot). Every
// object is strict and every key has a default or a description, so the schema documents itself;
// loadConfig reads a YAML/JSON file, and an invalid one stops start-up with one line per problem.
import { existsSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { ConfigError, configErrorMap, configIssueLines, MetricsConfigSchema, StoreConfigSchema } from "../core/config.ts";
import { findSecrets, isSecretKey } from "../core/secrets.ts";
import { WorkflowSchema } from "../core/workflow.ts";
import { GitHubConfigSchema } from "../connectors/github/config.ts";
import { JiraConfigSchema } from "../connectors/jira/config.ts";
import { KafkaConfigSchema } from "../connectors/kafka/config.ts";
import { SlackConfigSchema } from "../bot/config.ts";
import { DashboardConfigSchema } from "../dashboard/config.ts";
import { AnalystsConfigSchema } from "../analysts/config.ts";

export const ServeConfigSchema = z.strictObject({
  share_port: z
    .number()
    .int()
    .min(0)
    .max(65_535)
    .default(0)
    .describe("loopback port on which serve shares the embedded store with other local commands (0: any free port)"),
  jira_sync_cron: z
    .string()
    .default("*/15 * * * *")
    .describe("when serve runs the incremental Jira sync (cron, in metrics.timezone), if sources.jira is set"),
  github_sync_cron: z
    .string()
    .default("*/15 * * * *")
    .describe("when serve runs the incremental GitHub sync (cron, in metrics.timezone), if sources.github is set"),
  compact_cron: z
    .string()
    .default("*/5 * * * *")
    .describe("when serve compacts the derived tables, so reads under live updates get back to their speed right after an import (cron, in metrics.timezone); empty turns it off"),
});
export type ServeConfig = z.infer<typeof ServeConfigSchema>;

export const ConfigSchema = z.strictObject({
  store: StoreConfigSchema.default({ kind: "embedded", path: "./data/flowpulse" }),
  metrics: MetricsConfigSchema.default(MetricsConfigSchema.parse({})),
  workflows: z
    .record(z.string(), WorkflowSchema)
    .default({})
    .describe("per source (jira, github, kafka, import): state -> flow state and type rules"),
  sources: z
    .strictObject({
      jira: JiraConfigSchema.optional(),
      github: GitHubConfigSchema.optional(),
      kafka: KafkaConfigSchema.optional(),
    })
    .default({}),
  slack: SlackConfigSchema.optional(),
  serve: ServeConfigSchema.default(ServeConfigSchema.parse({})),
  dashboard: DashboardConfigSchema.default(DashboardConfigSchema.parse({})),
  analysts: AnalystsConfigSchema.default(AnalystsConfigSchema.parse({})).describe("serve's ClickHouse HTTP endpoint for analysts' SQL tools (docs/analysts.md)"),
});
export type Config = z.infer<typeof ConfigSchema>;

type Tree = Record<string, unknown>;
const child = (tree: unknown, key: string): Tree | undefined => {
  const value = tree && typeof tree === "object" ? (tree as Tree)[key] : undefined;
  return value && typeof value === "object" ? (value as Tree) : undefined;
};
const named = (value: unknown, fallback: string) => (typeof value === "string" && value ? value : fallback);

/** Where a secret found at `path` belongs instead: the environment variable Flowpulse reads it from. */
function secretHome(raw: unknown, path: readonly (string | number)[]): string {
  const [section, second] = path;
  const key = String(path[path.length - 1]).toLowerCase();
  if (section === "store") return `put the password in $${named(child(raw, "store")?.password_env, "CLICKHOUSE_PASSWORD")} (named by store.password_env)`;
  if (section === "slack") {
    if (key.includes("signing")) return "put it in $SLACK_SIGNING_SECRET";
    if (key.includes("app")) return "put it in $SLACK_APP_TOKEN";
    return "put the bot token in $SLACK_BOT_TOKEN (and the signing secret in $SLACK_SIGNING_SECRET)";
  }
  if (section === "sources" && second === "jira") {
    const auth = child(child(child(raw, "sources"), "jira"), "auth");
    if (key === "pat") return `put the personal access token in $${named(auth?.pat_env, "JIRA_PAT")} (named by auth.pat_env)`;
    return `put the API token in $${named(auth?.token_env, "JIRA_API_TOKEN")} (named by auth.token_env), or a personal access token in $${named(auth?.pat_env, "JIRA_PAT")}`;
  }
  if (section === "sources" && second === "github") {
    return "put the token in $GITHUB_TOKEN (named by auth.token_env), the App's private key in $GITHUB_APP_PRIVATE_KEY, the webhook secret in $GITHUB_WEBHOOK_SECRET";
  }
  return "this section reads no secret; remove the key (Flowpulse takes secrets only from environment variables)";
}

/** Secret-named keys and credentials in URLs, refused wherever they stand in the tree. */
function secretLines(raw: unknown): string[] {
  return findSecrets(raw).map(({ path, kind }) => {
    const at = path.map(String).join(".");
    return kind === "secret_key"
      ? `${at}: do not put secrets in the config file (it is meant to be shared): ${secretHome(raw, path)}`
      : `${at}: remove the user name and password from the URL: credentials come only from environment variables`;
  });
}

/** Reads and validates the config; `file` may be absent, in which case every default applies. */
export function loadConfig(file?: string, env: NodeJS.ProcessEnv = process.env): Config {
  const chosen = file ?? env.FLOWPULSE_CONFIG ?? (existsSync("flowpulse.yaml") ? "flowpulse.yaml" : undefined);
  let raw: unknown = {};
  if (chosen) {
    const stat = statSync(chosen, { throwIfNoEntry: false });
    if (!stat) throw new ConfigError(`config file ${chosen} does not exist`);
    if (stat.isDirectory()) throw new ConfigError(`config file ${chosen} is a directory: name a YAML or JSON file (e.g. ${path.join(chosen, "flowpulse.yaml")})`);
    let text: string;
    try {
      text = readFileSync(chosen, "utf8");
    } catch (error) {
      throw new ConfigError(`cannot read config file ${chosen} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`, { cause: error });
    }
    try {
      raw = (chosen.endsWith(".json") ? JSON.parse(text) : parseYaml(text)) ?? {};
    } catch (error) {
      throw new ConfigError(`config file ${chosen} is not valid ${chosen.endsWith(".json") ? "JSON" : "YAML"}: ${(error as Error).message}`, { cause: error });
    }
  }
  return parseConfig(raw, chosen ? path.basename(chosen) : "defaults", env);
}

export function parseConfig(raw: unknown, origin = "config", env: NodeJS.ProcessEnv = process.env): Config {
  const lines = secretLines(raw);
  const result = ConfigSchema.safeParse(raw, { error: configErrorMap });
  // A secret-named key is also unknown to the schema: say once where the secret goes instead.
  if (!result.success) lines.push(...configIssueLines(result.error.issues, isSecretKey));
  if (lines.length === 1) throw new ConfigError(`invalid config (${origin}): ${lines[0]}`);
  if (lines.length > 1) throw new ConfigError(`invalid config (${origin}), ${lines.length} problems:\n${lines.map((line) => `  ${line}`).join("\n")}`);
  const config = result.data!;
  if (config.store.kind === "embedded" && env.FLOWPULSE_DATA) config.store.path = env.FLOWPULSE_DATA;
  return config;
}
