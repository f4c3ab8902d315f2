// Pure mapping of stream events to the canonical model: raw bytes -> JSON -> validated contract
// event -> WorkItem + Transition. Split in three steps so the consumer can time each one; nothing
// here touches Kafka or the store.
import type { z } from "zod";
import { describeIssues, type FlowState, type Transition, type WorkItem } from "../../core/model.ts";
import { configuredFlowState } from "../../core/workflow.ts";
import type { TopicConfig } from "./config.ts";
import { CONTRACT_SCHEMAS, fastIncidentEvent, fastOrderEvent, type CanonicalEvent, type IncidentEvent, type OrderEvent } from "./contracts.ts";

/** Why an event went to the dead-letter topic; the `reason` header carries this code. */
export type RejectReason = "invalid_json" | "schema" | "unknown_status" | "too_large";

/**
 * The largest message value Flowpulse reads as an event (1 MiB, Kafka's own default message size).
 * Flow events are a few hundred bytes; a bigger value is refused as `too_large` on the main thread
 * without being copied to the decode thread, so one huge message cannot hold up a partition.
 */
export const MAX_EVENT_BYTES = 1024 * 1024;

/** Per-message flags of a decode request (decoder.ts), for what the bytes alone cannot say: a null value. */
export const VALUE_NULL = 1;
/** Refused on the main thread (too large): no bytes were sent for it. */
export const VALUE_REFUSED = 2;

/**
 * zod reports a missing field with the same words as a wrong one ("Invalid input"); the contract
 * promises "missing field". A per-parse error map sees the input, so it can tell the two apart,
 * and it leaves every message a schema words itself untouched.
 */
const missingField = (issue: { input?: unknown }) => (issue.input === undefined ? "missing field" : undefined);

export interface Refusal {
  ok: false;
  reason: RejectReason;
  detail: string;
}

export type Parsed = { ok: true; value: unknown } | Refusal;
export type Validated = { ok: true; event: OrderEvent | IncidentEvent | CanonicalEvent } | Refusal;
export type Mapped = { ok: true; item?: WorkItem; transition?: Transition } | Refusal;

/** Transitions without a known previous state say so; '' is reserved for the creation event. */
export const UNKNOWN_FROM_STATE = "unknown";

export function parseEvent(value: Buffer | string | null): Parsed {
  // Only a null value is a tombstone (Kafka's delete marker); zero bytes is a value, just not an event.
  if (value === null) return { ok: false, reason: "invalid_json", detail: "tombstone (null value): no event to read" };
  if (value.length === 0) return { ok: false, reason: "invalid_json", detail: "empty value (0 bytes): not a JSON object" };
  try {
    const parsed: unknown = JSON.parse(typeof value === "string" ? value : value.toString("utf8"));
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
      return { ok: false, reason: "invalid_json", detail: "not a JSON object" };
    }
    return { ok: true, value: parsed };
  } catch (error) {
    return { ok: false, reason: "invalid_json", detail: (error as Error).message };
  }
}

export function validateEvent(topic: TopicConfig, value: unknown): Validated {
  // The common valid shape skips zod (see fastOrderEvent); zod decides everything else.
  if (typeof value === "object" && value !== null && !Array.isArray(value)) {
    const raw = value as Record<string, unknown>;
    const fast = topic.contract === "order" ? fastOrderEvent(raw) : topic.contract === "incident" ? fastIncidentEvent(raw) : null;
    if (fast) return { ok: true, event: fast };
  }
  const schema: z.ZodType<OrderEvent | IncidentEvent | CanonicalEvent> = CONTRACT_SCHEMAS[topic.contract];
  const result = schema.safeParse(value, { error: missingField });
  if (!result.success) return { ok: false, reason: "schema", detail: describeIssues(result.error) };
  return { ok: true, event: result.data };
}

export function mapEvent(topic: TopicConfig, event: OrderEvent | IncidentEvent | CanonicalEvent): Mapped {
  switch (topic.contract) {
    case "order":
      return mapOrder(topic, event as OrderEvent);
    case "incident":
      return mapIncident(topic, event as IncidentEvent);
    case "canonical":
      return mapCanonical(event as CanonicalEvent);
  }
}

/** All three steps; the consumer runs them separately to time them. */
export function decodeEvent(topic: TopicConfig, value: Buffer | string | null): Mapped {
  const parsed = parseEvent(value);
  if (!parsed.ok) return parsed;
  const validated = validateEvent(topic, parsed.value);
  if (!validated.ok) return validated;
  return mapEvent(topic, validated.event);
}

/**
 * A replayed event must get the same id, so a missing id is derived from what identifies the
 * change: the item, the state it entered and when.
 */
export function deriveEventId(key: string, state: string, atMs: number): string {
  return `${key}:${state}:${atMs}`;
}

interface StateLookup {
  /** status -> flow state for the statuses seen so far (bounded: only mapped ones are kept). */
  known: Map<string, FlowState>;
  /** Lower-cased first status of the map: it opens an item's history. */
  creation: string | undefined;
}
const stateLookups = new WeakMap<TopicConfig["states"], StateLookup>();

function lookupOf(topic: TopicConfig): StateLookup {
  let lookup = stateLookups.get(topic.states);
  if (!lookup) {
    lookup = { known: new Map(), creation: Object.keys(topic.states)[0]?.toLowerCase() };
    stateLookups.set(topic.states, lookup);
  }
  return lookup;
}

function flowStateOf(topic: TopicConfig, status: string): FlowState | undefined {
  // Memoized per topic: configuredFlowState scans the map case-insensitively on a miss.
  const lookup = lookupOf(topic);
  const hit = lookup.known.get(status);
  if (hit) return hit;
  const flowState = configuredFlowState({ states: topic.states, type_rules: [], default_flow_type: "" }, status);
  if (flowState) lookup.known.set(status, flowState);
  return flowState;
}

/** The first status of the topic's state map opens an item's history (from_state ''). */
function isCreationStatus(topic: TopicConfig, status: string): boolean {
  const first = lookupOf(topic).creation;
  return first !== undefined && first === status;
}

function unknownStatus(topic: TopicConfig, status: string): Refusal {
  return {
    ok: false,
    reason: "unknown_status",
    detail: `status "${status}" is not mapped for topic ${topic.topic} (known: ${Object.keys(topic.states).join(", ")})`,
  };
}

function mapOrder(topic: TopicConfig, event: OrderEvent): Mapped {
  const flowState = flowStateOf(topic, event.status);
  if (!flowState) return unknownStatus(topic, event.status);
  const itemId = `${topic.source}:${event.order_id}`;
  const labels: string[] = [];
  if (event.channel) labels.push(`channel:${event.channel}`);
  if (event.seller_id) labels.push(`seller:${event.seller_id}`);
  return {
    ok: true,
    item: {
      item_id: itemId,
      source: topic.source,
      stream: topic.stream ?? "orders",
      key: event.order_id,
      title: "",
      url: "",
      flow_type: topic.flow_type ?? "order",
      team: event.seller_id ?? "",
      labels,
      created_at: event.created_at ?? event.event_time,
      source_type: "order",
      deleted: false,
    },
    transition: {
      event_id: event.event_id ?? deriveEventId(event.order_id, event.status, event.event_time),
      item_id: itemId,
      from_state: isCreationStatus(topic, event.status) ? "" : UNKNOWN_FROM_STATE,
      to_state: event.status,
      to_flow_state: flowState,
      at: event.event_time,
    },
  };
}

function mapIncident(topic: TopicConfig, event: IncidentEvent): Mapped {
  const flowState = flowStateOf(topic, event.state);
  if (!flowState) return unknownStatus(topic, event.state);
  const itemId = `${topic.source}:${event.number}`;
  // The hold reason stays in the state name, so wait time can be split by who is awaited.
  const toState = event.hold_reason ? `${event.state}:${event.hold_reason}` : event.state;
  const labels: string[] = [];
  if (event.priority) labels.push(`priority:${event.priority}`);
  if (event.category) labels.push(`category:${event.category}`);
  return {
    ok: true,
    item: {
      item_id: itemId,
      source: topic.source,
      stream: topic.stream ?? "incidents",
      key: event.number,
      title: event.short_description ?? "",
      url: "",
      flow_type: topic.flow_type ?? "incident",
      team: event.assignment_group ?? "",
      labels,
      created_at: event.created_at ?? event.event_time,
      source_type: "incident",
      deleted: false,
    },
    transition: {
      event_id: event.event_id ?? deriveEventId(event.number, toState, event.event_time),
      item_id: itemId,
      from_state: isCreationStatus(topic, event.state) ? "" : UNKNOWN_FROM_STATE,
      to_state: toState,
      to_flow_state: flowState,
      at: event.event_time,
    },
  };
}

function mapCanonical(event: CanonicalEvent): Mapped {
  if (event.kind === "item") {
    const { kind: _kind, schema: _schema, ...item } = event;
    return { ok: true, item };
  }
  const { kind: _kind, schema: _schema, ...transition } = event;
  return { ok: true, transition };
}

/**
 * Events carry only part of an item. Merges what is known of an item (earlier event or stored row)
 * with a newer event's view: the earliest creation wins (items built from events take the event's
 * time unless the event says when the item was created), and fields the event left empty keep
 * their known value.
 */
export function mergeItem(known: Pick<WorkItem, "created_at" | "title" | "team" | "labels">, next: WorkItem): WorkItem {
  return {
    ...next,
    created_at: Math.min(known.created_at, next.created_at),
    title: next.title || known.title,
    team: next.team || known.team,
    labels: next.labels.length > 0 ? next.labels : known.labels,
  };
}

/** An item no event has named yet is called by its kind and key: `Incident INC0010001`. */
export function withDefaultTitle(item: WorkItem): WorkItem {
  if (item.title) return item;
  const kind = item.source_type ? item.source_type[0]!.toUpperCase() + item.source_type.slice(1) : "Item";
  return { ...item, title: `${kind} ${item.key}` };
}
