// The canonical flow model: every source (Jira, GitHub, Kafka, file import) is mapped to these two
// record kinds before it reaches the store. Names match the ClickHouse columns one to one.
import { z } from "zod";
import { parseTimestamp } from "./time.ts";

/** The five flow states of the Flow Framework's reference product. */
export const FLOW_STATES = ["new", "active", "waiting", "done", "canceled"] as const;
export type FlowState = (typeof FLOW_STATES)[number];
export const FlowStateSchema = z.enum(FLOW_STATES);

/** The four flow item types of software delivery; operational streams may add their own kinds. */
export const SOFTWARE_FLOW_TYPES = ["feature", "defect", "risk", "debt"] as const;

// Any input reaches the parser, so a missing or mistyped timestamp gets its own reason.
const Timestamp = z.unknown().transform((value, ctx) => {
  const parsed = parseTimestamp(value);
  if (!parsed.ok) {
    ctx.addIssue({ code: "custom", message: parsed.reason });
    return z.NEVER;
  }
  return parsed.ms;
});

/**
 * A lone UTF-16 surrogate (JSON's `"\ud800"` without its pair) is not text: the store refuses it,
 * and with it the whole insert it arrives in. So every text field refuses it here, on its own record.
 */
const LONE_SURROGATE = /\p{Cs}/u;
export const isWellFormedText = (text: string) => !LONE_SURROGATE.test(text);
const Text = z.string().refine(isWellFormedText, { message: "holds a lone UTF-16 surrogate (a broken \\u escape), which is not text" });
const Name = Text.trim().min(1);

export const WorkItemSchema = z.object({
  /** Globally unique and stable: `<source>:<key>` unless the source has a better id. */
  item_id: Name,
  source: Name,
  stream: Name,
  key: Name,
  title: Text.default(""),
  url: Text.default(""),
  /** feature | defect | risk | debt for software; operational kinds (order, incident, ...) otherwise. */
  flow_type: Name,
  team: Text.default(""),
  labels: z.array(Text).default([]),
  created_at: Timestamp,
  /** The source's own type: Jira issue type, "pull_request", "order", "incident", ... */
  source_type: Text.default(""),
  /** Deleted at the source: kept for history, left out of every metric. */
  deleted: z.boolean().default(false),
});
export type WorkItem = z.output<typeof WorkItemSchema>;
export type WorkItemInput = z.input<typeof WorkItemSchema>;

export const TransitionSchema = z.object({
  /** Stable per change at the source, so the same change delivered twice is stored once. */
  event_id: Name,
  item_id: Name,
  /** Empty for the creation event (entering the first state). */
  from_state: Text.default(""),
  to_state: Name,
  to_flow_state: FlowStateSchema,
  at: Timestamp,
});
export type Transition = z.output<typeof TransitionSchema>;
export type TransitionInput = z.input<typeof TransitionSchema>;

/** A record that could not be accepted, with enough context to find and fix it. */
export interface Rejection {
  source: string;
  /** Where it came from: `file.jsonl:12`, `PROJ-7`, `orders/2@1043`. */
  reference: string;
  reason: string;
  payload: string;
}

/** zod issues as one sentence a person can act on: `at: timestamp "x" has no UTC offset`. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => (issue.path.length ? `${issue.path.join(".")}: ${issue.message}` : issue.message))
    .join("; ");
}
