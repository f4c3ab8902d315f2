// The Slack bot's config section (`slack:` in flowpulse.yaml). Tokens never live here: they come from
// the environment (SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET, SLACK_APP_TOKEN) so a config file can be
// committed and shared.
import cron from "node-cron";
import { z } from "zod";
import { registerSecret } from "../core/secrets.ts";
import { isTimeZone } from "../core/time.ts";

const CronExpression = z
  .string()
  .refine((expression) => cron.validate(expression), {
    message: "not a cron expression (five or six fields, e.g. \"0 9 * * 1\" for Mondays 09:00)",
  });

const TimeZone = z
  .string()
  .refine(isTimeZone, { message: "unknown time zone (use an IANA name such as UTC or Europe/Berlin)" });

const ChannelId = z.string().regex(/^[CGD][A-Z0-9]+$/, { message: "a Slack channel id such as C0123ABCD (not the #name)" });

/** Narrows what a digest or alert looks at; empty = everything. */
const Scope = {
  stream: z.string().optional().describe("value stream, e.g. software or orders"),
  team: z.string().optional(),
};

export const DigestSchema = z.strictObject({
  name: z.string().min(1).describe("shown in the digest header"),
  channel: ChannelId,
  cron: CronExpression.describe("when to post, e.g. \"0 9 * * 1\""),
  timezone: TimeZone.default("UTC"),
  window_days: z.number().int().positive().default(7).describe("length of 'this period'; compared with the same length before"),
  ...Scope,
});
export type DigestConfig = z.infer<typeof DigestSchema>;

const RuleBase = {
  name: z.string().min(1).describe("unique; the alert state is kept under this name"),
  channel: ChannelId,
  ...Scope,
};

export const AlertRuleSchema = z.discriminatedUnion("kind", [
  z.strictObject({
    kind: z.literal("wip").describe("work in progress above a limit"),
    limit: z.number().int().nonnegative(),
    flow_type: z.string().optional().describe("count only this item type"),
    ...RuleBase,
  }),
  z.strictObject({
    kind: z.literal("aging").describe("a WIP item older than its type's flow-time percentile (metrics.aging_percentile)"),
    flow_type: z.string().optional(),
    ...RuleBase,
  }),
  z.strictObject({
    kind: z.literal("queue_growth").describe("a state whose queue grew this many weeks running"),
    periods: z.number().int().min(2).default(3),
    state: z.string().optional().describe("watch only this state"),
    ...RuleBase,
  }),
  z.strictObject({
    kind: z.literal("efficiency").describe("flow efficiency of items finished in the window below a floor"),
    floor: z.number().gt(0).lt(1).describe("e.g. 0.2 for 20%"),
    window_days: z.number().int().positive().default(14),
    flow_type: z.string().optional(),
    ...RuleBase,
  }),
]);
export type AlertRule = z.infer<typeof AlertRuleSchema>;

export const SlackConfigSchema = z
  .strictObject({
    mode: z.enum(["http", "socket"]).default("http").describe("http: Slack calls us (needs a public URL); socket: we dial Slack (needs SLACK_APP_TOKEN)"),
    host: z.string().default("0.0.0.0"),
    port: z.number().int().min(0).max(65535).default(3000),
    api_url: z.string().url().regex(/^https?:\/\/.+\/$/, { message: "an http(s) URL ending in /, e.g. https://slack-gov.com/api/" }).optional()
      .describe("Slack Web API base URL (default https://slack.com/api/): an Enterprise Grid proxy, GovSlack (https://slack-gov.com/api/), a recorder"),
    command: z.string().regex(/^\/[a-z0-9_-]+$/, { message: "a slash command such as /flow" }).default("/flow"),
    public_answers: z.boolean().default(true).describe("true: answers are posted in the channel; false: only the asker sees them"),
    allowed_teams: z.array(z.string().regex(/^[TE][A-Z0-9]+$/, { message: "a workspace id such as T0123ABCD" })).default([])
      .describe("workspace (team) ids allowed to use the bot; empty = any"),
    allowed_channels: z.array(ChannelId).default([]).describe("channel ids allowed to use the bot; empty = any"),
    channel_teams: z.record(ChannelId, z.string().min(1)).default({})
      .describe("channel id -> flow team: queries from that channel only see that team's data"),
    digests: z.array(DigestSchema).default([]),
    alerts: z
      .strictObject({
        cron: CronExpression.default("*/15 * * * *").describe("how often the rules are evaluated"),
        timezone: TimeZone.default("UTC"),
        rules: z.array(AlertRuleSchema).default([]),
      })
      .default({ cron: "*/15 * * * *", timezone: "UTC", rules: [] }),
  })
  .superRefine((config, ctx) => {
    const seen = new Set<string>();
    config.alerts.rules.forEach((rule, index) => {
      if (seen.has(rule.name)) {
        ctx.addIssue({ code: "custom", path: ["alerts", "rules", index, "name"], message: `duplicate alert name "${rule.name}"` });
      }
      seen.add(rule.name);
    });
  });
export type SlackConfig = z.infer<typeof SlackConfigSchema>;

/** Secrets, read only from the environment and never logged. */
export interface SlackSecrets {
  botToken: string;
  signingSecret: string;
  appToken?: string;
}

export function slackSecrets(mode: SlackConfig["mode"], env: NodeJS.ProcessEnv = process.env): SlackSecrets {
  const missing: string[] = [];
  const blank: string[] = [];
  // A secret of only spaces is a paste gone wrong, and an HMAC key anyone can guess: refuse it.
  const read = (name: string, needed: boolean, what: string): string => {
    const value = env[name] ?? "";
    if (value && !value.trim()) blank.push(name);
    else if (needed && !value) missing.push(`${name} (${what})`);
    return value;
  };
  const botToken = read("SLACK_BOT_TOKEN", true, "xoxb-...");
  const signingSecret = read("SLACK_SIGNING_SECRET", mode === "http", "Basic Information > App Credentials");
  const appToken = read("SLACK_APP_TOKEN", mode === "socket", "xapp-..., with connections:write") || undefined;
  if (blank.length) throw new Error(`${blank.join(", ")} ${blank.length > 1 ? "are" : "is"} only whitespace: set the value Slack shows for the app`);
  if (missing.length) throw new Error(`the Slack bot needs these environment variables: ${missing.join(", ")}`);
  for (const secret of [botToken, signingSecret, appToken]) registerSecret(secret);
  return { botToken, signingSecret, ...(appToken ? { appToken } : {}) };
}
