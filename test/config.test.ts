import { mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig, parseConfig } from "../core/config.ts";
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
