import { mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError } from "../core/config.ts";
import { loadConfig, parseConfig } from "../cli/config.ts";
import { classifyFlowType, configuredFlowState, WorkflowSchema } from "../core/workflow.ts";

describe("config", () => {
  it("applies every default when there is no file", () => {
    const config = parseConfig({}, "test", {});
    expect(config.store).toEqual({ kind: "embedded", path: "./data/flowpulse" });
    expect(config.metrics).toMatchObject({ timezone: "UTC", flow_time_start: "first_active", aging_percentile: 0.85 });
  });

  it("names the wrong key and what is allowed", () => {
    const attempt = () =>
      parseConfig({ metrics: { flow_time_start: "yesterday", timezone: "Mars/Olympus" }, workflows: { jira: { states: { Done: "finished" } } } }, "flowpulse.yaml", {});
    expect(attempt).toThrow(ConfigError);
    const message = (() => { try { attempt(); } catch (error) { return (error as Error).message; } return ""; })();
    expect(message).toContain("invalid config (flowpulse.yaml)");
    expect(message).toMatch(/metrics\.flow_time_start: .*first_active.*created/);
    expect(message).toMatch(/metrics\.timezone: unknown time zone/);
    expect(message).toMatch(/workflows\.jira\.states\.Done: .*new.*active.*waiting.*done.*canceled/);
  });

  it("reads YAML files and lets FLOWPULSE_DATA move the embedded store", () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "flowpulse-config-"));
    const file = path.join(dir, "flowpulse.yaml");
    writeFileSync(file, "metrics:\n  timezone: America/New_York\n");
    const config = loadConfig(file, { FLOWPULSE_DATA: "/tmp/elsewhere" });
    expect(config.metrics.timezone).toBe("America/New_York");
    expect(config.store).toEqual({ kind: "embedded", path: "/tmp/elsewhere" });
    writeFileSync(file, "metrics: [unclosed\n");
    expect(() => loadConfig(file, {})).toThrow(/not valid YAML/);
    expect(() => loadConfig(path.join(dir, "missing.yaml"), {})).toThrow(/does not exist/);
  });
});

const problems = (raw: unknown): string => {
  try {
    parseConfig(raw, "flowpulse.yaml", {});
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error("the config was accepted");
};

describe("unknown keys", () => {
  it.each([
    [{ metrics: { timezon: "UTC" } }, 'metrics.timezon: unknown key in metrics; allowed here: timezone, flow_time_start, aging_percentile, aging_baseline_days, forecast; did you mean "timezone"?'],
    [{ store: { pathh: "./x" } }, 'store.pathh: unknown key in store; allowed here: kind, path; did you mean "path"?'],
    [{ sourcez: { jira: {} } }, 'sourcez: unknown key at the top level; allowed here: store, metrics, workflows, sources, slack, serve, dashboard, analysts; did you mean "sources"?'],
    [
      { sources: { kafka: { topics: [{ topic: "orders", contract: "order", dlq_topik: "x" }] } } },
      'sources.kafka.topics.0.dlq_topik: unknown key in sources.kafka.topics.0; allowed here: topic, contract, stream, flow_type, source, states, dlq_topic; did you mean "dlq_topic"?',
    ],
  ])("names %j, where it is, what is allowed there and the closest key", (raw, line) => {
    expect(problems(raw)).toBe(`invalid config (flowpulse.yaml): ${line}`);
  });

  it("is checked in every section, one line per problem, with no guess when nothing is close", () => {
    const message = problems({
      store: { kind: "server", url: "http://localhost:8123", path: "./x" },
      serve: { share_prot: 1 },
      workflows: { jira: { states: { Done: "done" }, type_rule: [] } },
      sources: { jira: { site: "https://acme.atlassian.net", projects: ["FP"], team: { by_projects: {} } } },
      slack: { alerts: { rules: [{ name: "w", kind: "wip", limit: 3, channel: "C0AAA", treshold: 2 }] }, zzzzzz: 1 },
    });
    const lines = message.split("\n");
    expect(lines[0]).toBe("invalid config (flowpulse.yaml), 6 problems:");
    expect(lines.slice(1).map((line) => line.trim().split(":")[0]).sort()).toEqual([
      "serve.share_prot",
      "slack.alerts.rules.0.treshold",
      "slack.zzzzzz",
      "sources.jira.team.by_projects",
      "store.path",
      "workflows.jira.type_rule",
    ]);
    expect(message).toContain("store.path: unknown key in store; allowed here: kind, url, username, database, password_env");
    expect(message).toContain('sources.jira.team.by_projects: unknown key in sources.jira.team; allowed here: by_project, by_component, field, default; did you mean "by_project"?');
    expect(message).toMatch(/slack\.zzzzzz: unknown key in slack; allowed here: mode, [^"]*$/m);
  });

  it("takes a store section without kind as the embedded store", () => {
    expect(parseConfig({ store: { path: "/srv/flow" } }, "test", {}).store).toEqual({ kind: "embedded", path: "/srv/flow" });
  });

  it("reports a directory given as the config file in one line", () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "flowpulse-config-"));
    expect(() => loadConfig(dir, {})).toThrow(ConfigError);
    expect(() => loadConfig(dir, {})).toThrow(new RegExp(`^config file ${dir} is a directory: name a YAML or JSON file`));
  });
});

describe("secrets in the config file", () => {
  it.each([
    [{ slack: { bot_token: "xoxb-1-2" } }, "slack.bot_token", "$SLACK_BOT_TOKEN"],
    [{ slack: { signing_secret: "abc" } }, "slack.signing_secret", "$SLACK_SIGNING_SECRET"],
    [{ slack: { app_token: "xapp-1" } }, "slack.app_token", "$SLACK_APP_TOKEN"],
    [{ store: { kind: "server", url: "http://ch:8123", password: "pw" } }, "store.password", "$CLICKHOUSE_PASSWORD"],
    [{ store: { kind: "server", url: "http://ch:8123", password_env: "CH_PW", password: "pw" } }, "store.password", "$CH_PW"],
    [{ sources: { jira: { site: "https://a.atlassian.net", projects: ["FP"], auth: { email: "a@b.c", api_token: "t" } } } }, "sources.jira.auth.api_token", "$JIRA_API_TOKEN"],
    [{ sources: { jira: { site: "https://a.atlassian.net", projects: ["FP"], auth: { pat_env: "MY_PAT", pat: "t" } } } }, "sources.jira.auth.pat", "$MY_PAT"],
    [{ sources: { jira: { site: "https://a.atlassian.net", projects: ["FP"], password: "t" } } }, "sources.jira.password", "$JIRA_API_TOKEN"],
    [{ sources: { kafka: { sasl: { password: "t" } } } }, "sources.kafka.sasl.password", "reads no secret"],
  ])("refuses %j and names the environment variable instead", (raw, at, home) => {
    const message = problems(raw);
    expect(message).toContain(`${at}: do not put secrets in the config file`);
    expect(message).toContain(home);
    // The secret key is reported once, as a secret, not again as an unknown key.
    expect(message.split(at + ":").length).toBe(2);
  });

  it("leaves user-named maps alone: a workflow state may be called Token", () => {
    const config = parseConfig({ workflows: { jira: { states: { Token: "active", Secret: "done" } } } }, "test", {});
    expect(config.workflows.jira?.states.Token).toBe("active");
  });

  it.each([
    [{ sources: { jira: { site: "https://bot:s3cret@acme.atlassian.net", projects: ["FP"] } } }, "sources.jira.site"],
    [{ store: { kind: "server", url: "http://default:pw@localhost:8123" } }, "store.url"],
  ])("refuses user info in a URL (%j)", (raw, at) => {
    const message = problems(raw);
    expect(message).toContain(`${at}: remove the user name and password from the URL`);
    expect(message).not.toContain("s3cret");
  });
});

describe("workflow rules", () => {
  const workflow = WorkflowSchema.parse({
    states: { "To Do": "new", "In Progress": "active", Review: "waiting", Done: "done" },
    type_rules: [
      { flow_type: "defect", source_types: ["Bug"] },
      { flow_type: "risk", labels: ["security", "compliance"] },
      { flow_type: "debt", components: ["Refactoring"] },
    ],
  });

  it("classifies by the first matching rule, case-insensitively, with a default", () => {
    expect(classifyFlowType(workflow, { sourceType: "bug", labels: ["security"] })).toBe("defect");
    expect(classifyFlowType(workflow, { sourceType: "Story", labels: ["SECURITY"] })).toBe("risk");
    expect(classifyFlowType(workflow, { sourceType: "Task", components: ["refactoring"] })).toBe("debt");
    expect(classifyFlowType(workflow, { sourceType: "Story" })).toBe("feature");
  });

  it("maps states case-insensitively and leaves unknown ones undefined", () => {
    expect(configuredFlowState(workflow, "in progress")).toBe("active");
    expect(configuredFlowState(workflow, "Review")).toBe("waiting");
    expect(configuredFlowState(workflow, "Blocked")).toBeUndefined();
  });

  it("refuses a type rule without any condition", () => {
    expect(() => WorkflowSchema.parse({ type_rules: [{ flow_type: "defect" }] })).toThrow(/at least one of/);
  });
});

describe("flowpulse.example.yaml", () => {
  it("is a valid config with every section filled", () => {
    const config = loadConfig(path.join(import.meta.dirname, "..", "flowpulse.example.yaml"), {});
    expect(config.metrics.timezone).toBe("Europe/Berlin");
    expect(config.sources.jira?.projects).toEqual(["SHOP", "PAY"]);
    expect(config.sources.kafka?.topics.map((t) => t.topic)).toEqual(["orders", "incidents", "flowpulse.events"]);
    expect(config.slack?.alerts.rules.map((r) => r.kind)).toEqual(["wip", "aging", "efficiency"]);
    expect(config.workflows.jira?.states["Won't Do"]).toBe("canceled");
  });
});
