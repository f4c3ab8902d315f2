// The `slack:` config section: defaults, messages a person can act on, secrets only from the env.
import { describe, expect, it } from "vitest";
import { slackSecrets, SlackConfigSchema } from "../bot/config.ts";
import { ConfigError } from "../core/config.ts";
import { parseConfig } from "../cli/config.ts";

describe("slack config", () => {
  it("has working defaults", () => {
    const config = SlackConfigSchema.parse({});
    expect(config).toMatchObject({ mode: "http", port: 3000, command: "/flow", digests: [], allowed_teams: [], channel_teams: {} });
    expect(config.alerts.rules).toEqual([]);
  });

  it("reads digests and every alert kind through the product config", () => {
    const config = parseConfig({
      slack: {
        digests: [{ name: "weekly", channel: "C0AAA", cron: "0 9 * * 1", timezone: "Europe/Berlin", team: "checkout" }],
        alerts: {
          rules: [
            { name: "a", kind: "wip", limit: 5, channel: "C0AAA" },
            { name: "b", kind: "aging", channel: "C0AAA" },
            { name: "c", kind: "queue_growth", channel: "C0AAA" },
            { name: "d", kind: "efficiency", floor: 0.2, channel: "C0AAA" },
          ],
        },
      },
    });
    expect(config.slack?.digests[0]).toMatchObject({ window_days: 7, timezone: "Europe/Berlin" });
    expect(config.slack?.alerts.rules.map((rule) => rule.kind)).toEqual(["wip", "aging", "queue_growth", "efficiency"]);
  });

  it.each([
    [{ digests: [{ name: "x", channel: "C0AAA", cron: "every monday" }] }, "slack.digests.0.cron: not a cron expression"],
    [{ digests: [{ name: "x", channel: "#general", cron: "0 9 * * 1" }] }, "slack.digests.0.channel: a Slack channel id"],
    [{ digests: [{ name: "x", channel: "C0AAA", cron: "0 9 * * 1", timezone: "Mars/Base" }] }, "unknown time zone"],
    [{ alerts: { rules: [{ name: "x", kind: "wip", limit: 1, channel: "C0AAA" }, { name: "x", kind: "aging", channel: "C0AAA" }] } }, 'duplicate alert name "x"'],
    [{ alerts: { rules: [{ name: "x", kind: "efficiency", floor: 20, channel: "C0AAA" }] } }, "slack.alerts.rules.0.floor"],
    [{ mode: "webhook" }, "slack.mode"],
    [{ allowed_teams: ["acme"] }, "a workspace id"],
  ])("refuses %j with a message naming the key", (slack, message) => {
    expect(() => parseConfig({ slack })).toThrow(ConfigError);
    expect(() => parseConfig({ slack })).toThrow(message);
  });
});

describe("slack secrets", () => {
  it("come from the environment", () => {
    expect(slackSecrets("http", { SLACK_BOT_TOKEN: "xoxb-1", SLACK_SIGNING_SECRET: "s" })).toEqual({ botToken: "xoxb-1", signingSecret: "s" });
    expect(slackSecrets("socket", { SLACK_BOT_TOKEN: "xoxb-1", SLACK_APP_TOKEN: "xapp-1" })).toMatchObject({ appToken: "xapp-1" });
  });

  it("name what is missing for the mode, without echoing any value", () => {
    expect(() => slackSecrets("http", { SLACK_BOT_TOKEN: "xoxb-secret-value" })).toThrow(/SLACK_SIGNING_SECRET/);
    expect(() => slackSecrets("socket", { SLACK_BOT_TOKEN: "xoxb-secret-value" })).toThrow(/SLACK_APP_TOKEN/);
    try {
      slackSecrets("socket", { SLACK_BOT_TOKEN: "xoxb-secret-value" });
    } catch (error) {
      expect((error as Error).message).not.toContain("xoxb-secret-value");
    }
  });
});
