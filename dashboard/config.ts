// The dashboard's config section (`dashboard:` in flowpulse.yaml). The access token and the basic
// auth password never live here: they come from environment variables, named by *_env keys.
import { isIP } from "node:net";
import { z } from "zod";
import { registerSecret } from "../core/secrets.ts";

export const DashboardConfigSchema = z.strictObject({
  enabled: z.boolean().default(true).describe("whether flowpulse serve serves the dashboard"),
  host: z
    .string()
    .min(1)
    .default("127.0.0.1")
    .describe("address to listen on; anything but a loopback address needs auth (token or basic)"),
  port: z.number().int().min(0).max(65_535).default(8737).describe("port to listen on (0: any free port)"),
  public_url: z
    .url({ protocol: /^https?$/, error: "an http(s) URL such as https://flow.example.com/" })
    .optional()
    .describe("the address people open the dashboard at (behind a proxy, say); when set, Slack answers and digests link to the matching view"),
  auth: z
    .enum(["none", "token", "basic"])
    .default("none")
    .describe("none (loopback only), token (a link with ?token=..., or an Authorization: Bearer header) or basic (user and password)"),
  user: z.string().min(1).default("flowpulse").describe("basic auth user name"),
  token_env: z.string().min(1).default("FLOWPULSE_DASHBOARD_TOKEN").describe("environment variable holding the access token (auth: token)"),
  password_env: z.string().min(1).default("FLOWPULSE_DASHBOARD_PASSWORD").describe("environment variable holding the basic auth password (auth: basic)"),
  poll_ms: z
    .number()
    .int()
    .min(250)
    .max(60_000)
    .default(2_000)
    .describe("while a page is open, how often the store's newest data mark is read to push updates (ms)"),
});
export type DashboardConfig = z.infer<typeof DashboardConfigSchema>;

/** What the server checks a request against; built from the config and the environment. */
export type DashboardAuth = { kind: "none" } | { kind: "token"; token: string } | { kind: "basic"; user: string; password: string };

/** True for 127.0.0.0/8, ::1 and localhost: a bind only this host can reach. */
export function isLoopback(host: string): boolean {
  if (host === "localhost") return true;
  if (isIP(host) === 4) return host.startsWith("127.");
  return host === "::1" || host === "[::1]";
}

/**
 * The auth the config asks for, its secret read from the environment. Throws a one-line message a
 * person can act on: an open bind without auth, a missing or too-short secret.
 */
export function dashboardAuth(config: DashboardConfig, env: NodeJS.ProcessEnv = process.env): DashboardAuth {
  if (config.auth === "none") {
    if (!isLoopback(config.host)) {
      throw new Error(
        `dashboard.host ${config.host} can be reached from other hosts: set dashboard.auth to token (secret in $${config.token_env}) or basic (password in $${config.password_env}), or bind to 127.0.0.1`,
      );
    }
    return { kind: "none" };
  }
  const name = config.auth === "token" ? config.token_env : config.password_env;
  const value = env[name] ?? "";
  // A short secret is guessable over the network; 16 characters is what `openssl rand -hex 8` gives.
  if (value.trim().length < 16) {
    throw new Error(`dashboard.auth is ${config.auth}: set $${name} to a secret of at least 16 characters (e.g. openssl rand -hex 16)`);
  }
  registerSecret(value, config.auth === "basic" ? config.user : undefined);
  return config.auth === "token" ? { kind: "token", token: value } : { kind: "basic", user: config.user, password: value };
}
