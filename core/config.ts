// One config schema for the whole product. Every key has a default or a description, so the schema
// documents itself; loadConfig reads a YAML/JSON file plus secrets from the environment, and an
// invalid file stops start-up with one line per wrong key saying what is allowed.
import { readFileSync, existsSync } from "node:fs";
import path from "node:path";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { isTimeZone } from "./time.ts";
import { WorkflowSchema } from "./workflow.ts";
import { JiraConfigSchema } from "../connectors/jira/config.ts";
import { KafkaConfigSchema } from "../connectors/kafka/config.ts";
import { SlackConfigSchema } from "../bot/config.ts";

export const StoreConfigSchema = z.discriminatedUnion("kind", [
  z.object({
    kind: z.literal("embedded").describe("chDB in this process (default)"),
    path: z.string().min(1).default("./data/flowpulse").describe("data directory of the embedded store"),
  }),
  z.object({
    kind: z.literal("server").describe("a ClickHouse server over HTTP"),
    url: z.url().describe("e.g. http://localhost:8123"),
    username: z.string().default("default"),
    database: z.string().default("default"),
    password_env: z.string().default("CLICKHOUSE_PASSWORD").describe("environment variable holding the password"),
  }),
]);
export type StoreConfig = z.infer<typeof StoreConfigSchema>;

export const MetricsConfigSchema = z.object({
  timezone: z
    .string()
    .default("UTC")
    .refine(isTimeZone, { message: "unknown time zone (use an IANA name such as UTC or America/New_York)" })
    .describe("zone whose calendar days, weeks and months bucket the metrics"),
  flow_time_start: z
    .enum(["first_active", "created"])
    .default("first_active")
    .describe("first_active: flow time starts at the first move into active or waiting; created: at creation"),
  aging_percentile: z.number().gt(0).lt(1).default(0.85).describe("WIP older than this percentile of its type's flow time is aging"),
  aging_baseline_days: z.number().int().positive().default(90).describe("completed items of this many days set the aging threshold"),
});
export type MetricsConfig = z.infer<typeof MetricsConfigSchema>;

export const ServeConfigSchema = z.object({
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
  compact_cron: z
    .string()
    .default("*/5 * * * *")
    .describe("when serve compacts the derived tables, so reads under live updates get back to their speed right after an import (cron, in metrics.timezone); empty turns it off"),
});
export type ServeConfig = z.infer<typeof ServeConfigSchema>;

export const ConfigSchema = z.object({
  store: StoreConfigSchema.default({ kind: "embedded", path: "./data/flowpulse" }),
  metrics: MetricsConfigSchema.default(MetricsConfigSchema.parse({})),
  workflows: z
    .record(z.string(), WorkflowSchema)
    .default({})
    .describe("per source (jira, github, kafka, import): state -> flow state and type rules"),
  sources: z
    .object({
      jira: JiraConfigSchema.optional(),
      kafka: KafkaConfigSchema.optional(),
    })
    .default({}),
  slack: SlackConfigSchema.optional(),
  serve: ServeConfigSchema.default(ServeConfigSchema.parse({})),
});
export type Config = z.infer<typeof ConfigSchema>;

export class ConfigError extends Error {
  override name = "ConfigError";
}

/** Reads and validates the config; `file` may be absent, in which case every default applies. */
export function loadConfig(file?: string, env: NodeJS.ProcessEnv = process.env): Config {
  const chosen = file ?? env.FLOWPULSE_CONFIG ?? (existsSync("flowpulse.yaml") ? "flowpulse.yaml" : undefined);
  let raw: unknown = {};
  if (chosen) {
    if (!existsSync(chosen)) throw new ConfigError(`config file ${chosen} does not exist`);
    const text = readFileSync(chosen, "utf8");
    try {
      raw = (chosen.endsWith(".json") ? JSON.parse(text) : parseYaml(text)) ?? {};
    } catch (error) {
      throw new ConfigError(`config file ${chosen} is not valid ${chosen.endsWith(".json") ? "JSON" : "YAML"}: ${(error as Error).message}`);
    }
  }
  return parseConfig(raw, chosen ? path.basename(chosen) : "defaults", env);
}

export function parseConfig(raw: unknown, origin = "config", env: NodeJS.ProcessEnv = process.env): Config {
  const result = ConfigSchema.safeParse(raw);
  if (!result.success) {
    const lines = result.error.issues.map((issue) => `  ${issue.path.join(".") || "(top level)"}: ${issue.message}`);
    throw new ConfigError(`invalid config (${origin}):\n${lines.join("\n")}`);
  }
  const config = result.data;
  if (config.store.kind === "embedded" && env.FLOWPULSE_DATA) config.store.path = env.FLOWPULSE_DATA;
  return config;
}
