// The `analysts` config section: serve's ClickHouse HTTP endpoint for analysts' tools. Off by
// default; on loopback when on. Passwords come from environment variables the section names.
import { z } from "zod";

export const AnalystUserSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9_.@-]+$/, "letters, digits and _ . @ - only").describe("the user name a client logs in with"),
  password_env: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "an environment variable name, such as FLOWPULSE_ANALYST_PASSWORD")
    .describe("environment variable holding this user's password"),
});

export const AnalystLimitsSchema = z.strictObject({
  max_execution_time: z.number().int().positive().default(60).describe("seconds a query may run before the engine stops it (TIMEOUT_EXCEEDED)"),
  max_memory_usage: z.number().int().positive().default(2_000_000_000).describe("bytes of memory one query may use"),
  max_result_rows: z.number().int().positive().default(1_000_000).describe("rows one answer may hold"),
  max_result_bytes: z.number().int().positive().default(500_000_000).describe("bytes one answer may hold (answers are built in memory before they are sent)"),
  max_threads: z.number().int().positive().default(1).describe("engine threads one query may use; with 2 cores, 1 leaves room for serve's own work"),
});
export type AnalystLimits = z.infer<typeof AnalystLimitsSchema>;

export const AnalystsConfigSchema = z.strictObject({
  enabled: z.boolean().default(false).describe("serve answers ClickHouse's HTTP interface for analysts' SQL tools (embedded store only)"),
  host: z.string().default("127.0.0.1").describe("address to listen on; anything but loopback exposes the store to the network"),
  port: z.number().int().min(0).max(65_535).default(8124).describe("port of the endpoint (0: any free port); 8123 is left to a real ClickHouse server"),
  users: z.array(AnalystUserSchema).default([]).describe("who may log in: name and the environment variable holding the password"),
  limits: AnalystLimitsSchema.default(AnalystLimitsSchema.parse({})).describe("per-query limits the engine enforces; a query cannot change them"),
  max_concurrent_queries: z
    .number()
    .int()
    .positive()
    .default(1)
    .describe("analysts' queries running at once (each on its own engine session); more wait their turn, user by user. With max_threads 1 on 2 cores, 1 leaves a core to serve's own work"),
  max_queued_queries: z.number().int().nonnegative().default(100).describe("queries waiting beyond which a new one is refused (TOO_MANY_SIMULTANEOUS_QUERIES)"),
});
export type AnalystsConfig = z.infer<typeof AnalystsConfigSchema>;

export class AnalystsConfigError extends Error {
  override name = "AnalystsConfigError";
}

/** The users with their passwords from `env`; a user whose variable is unset or empty stops start-up. */
export function analystPasswords(config: AnalystsConfig, env: NodeJS.ProcessEnv = process.env): Map<string, string> {
  if (config.users.length === 0) throw new AnalystsConfigError("analysts.enabled needs at least one user in analysts.users (name and password_env)");
  const users = new Map<string, string>();
  for (const user of config.users) {
    if (users.has(user.name)) throw new AnalystsConfigError(`analysts.users names "${user.name}" twice`);
    const password = env[user.password_env];
    if (!password) throw new AnalystsConfigError(`analysts user "${user.name}": $${user.password_env} is not set; export the password there (or remove the user)`);
    users.set(user.name, password);
  }
  return users;
}
