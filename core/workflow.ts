// Per-source workflow: which flow state each source state means, and which flow item type an item
// is. Pure functions only, so every connector maps records the same, testable way.
import { z } from "zod";
import { FlowStateSchema, type FlowState } from "./model.ts";

export const TypeRuleSchema = z
  .strictObject({
    flow_type: z.string().min(1).describe("flow item type assigned when the rule matches: feature, defect, risk, debt, ..."),
    source_types: z.array(z.string()).optional().describe("matches the source's own type (Jira issue type, 'pull_request', ...), case-insensitive"),
    labels: z.array(z.string()).optional().describe("matches when the item carries any of these labels, case-insensitive"),
    components: z.array(z.string()).optional().describe("matches when the item has any of these components"),
    topics: z.array(z.string()).optional().describe("matches events read from any of these Kafka topics"),
  })
  .refine((rule) => rule.source_types || rule.labels || rule.components || rule.topics, {
    message: "a type rule needs at least one of source_types, labels, components, topics",
  });
export type TypeRule = z.infer<typeof TypeRuleSchema>;

export const WorkflowSchema = z.strictObject({
  states: z
    .record(z.string(), FlowStateSchema)
    .default({})
    .describe("source state name -> flow state (new | active | waiting | done | canceled); listed in workflow order"),
  type_rules: z.array(TypeRuleSchema).default([]).describe("first matching rule wins"),
  default_flow_type: z.string().min(1).default("feature").describe("flow item type when no rule matches"),
});
export type Workflow = z.infer<typeof WorkflowSchema>;

export interface ItemFacts {
  sourceType?: string;
  labels?: readonly string[];
  components?: readonly string[];
  topic?: string;
}

const anyMatch = (wanted: readonly string[] | undefined, have: readonly string[] | undefined) =>
  !!wanted && !!have && have.some((h) => wanted.some((w) => w.toLowerCase() === h.toLowerCase()));

/** The flow item type for an item: the first rule any of whose conditions matches. */
export function classifyFlowType(workflow: Workflow, facts: ItemFacts): string {
  for (const rule of workflow.type_rules) {
    if (
      anyMatch(rule.source_types, facts.sourceType ? [facts.sourceType] : undefined) ||
      anyMatch(rule.labels, facts.labels) ||
      anyMatch(rule.components, facts.components) ||
      anyMatch(rule.topics, facts.topic ? [facts.topic] : undefined)
    ) {
      return rule.flow_type;
    }
  }
  return workflow.default_flow_type;
}

/** The configured flow state of a source state, matched case-insensitively; undefined when unmapped. */
export function configuredFlowState(workflow: Workflow, state: string): FlowState | undefined {
  const exact = workflow.states[state];
  if (exact) return exact;
  const lower = state.toLowerCase();
  for (const [name, flowState] of Object.entries(workflow.states)) {
    if (name.toLowerCase() === lower) return flowState;
  }
  return undefined;
}
