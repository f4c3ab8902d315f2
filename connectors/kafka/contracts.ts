// Event contracts of the stream pipeline: what producers publish on each kind of topic. Every event
// is a JSON object naming its contract version in `schema`, so a v2 can live beside v1 on one topic.
// Documented with examples in docs/events.md.
import { z } from "zod";
import { TransitionSchema, WorkItemSchema } from "../../core/model.ts";
import { parseTimestamp } from "../../core/time.ts";

/** An ISO 8601 timestamp with a UTC offset (or epoch ms), parsed to epoch milliseconds. */
const EventTime = z.union([z.string(), z.number()]).transform((value, ctx) => {
  const parsed = parseTimestamp(value);
  if (!parsed.ok) {
    ctx.addIssue({ code: "custom", message: parsed.reason });
    return z.NEVER;
  }
  return parsed.ms;
});

/** A calendar date (`2018-01-15`) or a timestamp: an estimate, kept as given. */
const DateOrTime = z.union([
  z.string().regex(/^\d{4}-\d{2}-\d{2}$/, { message: "a date YYYY-MM-DD or a timestamp with an offset" }),
  EventTime,
]);

const Id = z.union([z.string().trim().min(1), z.number().int().nonnegative()]).transform(String);
const Label = z.string().trim().min(1);

export const ORDER_STATUSES = ["purchased", "approved", "invoiced", "shipped", "delivered", "canceled"] as const;
export const INCIDENT_STATUSES = ["new", "in_progress", "on_hold", "resolved", "closed", "canceled"] as const;
/**
 * Hold reasons seen in incident tools (ServiceNow's "Awaiting Caller", "Awaiting Change", "Awaiting
 * Evidence", ...). Not a closed list: tools and instances add their own, and every hold is waiting
 * whatever the reason, so any other reason is kept too, in the same normalised form.
 */
export const HOLD_REASONS = ["awaiting_user", "awaiting_caller", "awaiting_vendor", "awaiting_problem", "awaiting_change", "awaiting_evidence"] as const;
const HOLD_REASON_MAX = 64;
/** The stored form of a hold reason: "Awaiting Evidence" and "awaiting-evidence" both read awaiting_evidence. */
const NORMAL_HOLD_REASON = /^[a-z0-9_]{1,64}$/;
export function normaliseHoldReason(reason: string): string {
  return reason.trim().toLowerCase().replace(/[\s-]+/g, "_");
}
const HoldReason = z
  .string()
  .trim()
  .min(1)
  .max(HOLD_REASON_MAX, { message: `at most ${HOLD_REASON_MAX} characters` })
  .transform(normaliseHoldReason)

// Statuses are free strings at this layer: which ones are known is the topic's state map (config),
// so an unmapped status is told apart from a malformed event and dead-lettered as `unknown_status`.
const Status = z.string().trim().min(1).toLowerCase();

export const OrderEventSchema = z.object({
  schema: z.literal("order.v1"),
  event_id: Id.optional().describe("unique per change; when absent it is derived from (order_id, status, event_time)"),
  order_id: Id,
  status: Status.describe(ORDER_STATUSES.join(" | ")),
  event_time: EventTime.describe("when the order entered the status, with a UTC offset"),
  created_at: EventTime.optional().describe("when the order was placed; default: the earliest event seen"),
  estimated_delivery_date: DateOrTime.optional(),
  seller_id: Id.optional(),
  channel: Label.optional(),
});
export type OrderEvent = z.output<typeof OrderEventSchema>;

export const IncidentEventSchema = z
  .object({
    schema: z.literal("incident.v1"),
    event_id: Id.optional(),
    number: Id.describe("incident number, e.g. INC0010001"),
    state: Status.describe(INCIDENT_STATUSES.join(" | ")),
    hold_reason: HoldReason.optional().describe(`required when state is on_hold; e.g. ${HOLD_REASONS.join(" | ")}, any other is kept normalised`),
    event_time: EventTime,
    created_at: EventTime.optional().describe("when the incident was opened; default: the earliest event seen"),
    priority: z.union([z.string().trim().min(1), z.number().int()]).transform(String).optional(),
    category: Label.optional(),
    assignment_group: Label.optional(),
    short_description: z.string().optional(),
    reopen_count: z.number().int().nonnegative().optional().describe("informational: reopens are counted from the history"),
  })
  .superRefine((event, ctx) => {
    if (event.state === "on_hold" && !event.hold_reason) {
      ctx.addIssue({ code: "custom", path: ["hold_reason"], message: `required when state is on_hold (e.g. ${HOLD_REASONS.join(" | ")})` });
    }
    if (event.state !== "on_hold" && event.hold_reason) {
      ctx.addIssue({ code: "custom", path: ["hold_reason"], message: "only allowed when state is on_hold" });
    }
  });
export type IncidentEvent = z.output<typeof IncidentEventSchema>;

/** Generic topic: the canonical model itself, so any system can publish flow data. */
export const CanonicalEventSchema = z.discriminatedUnion("kind", [
  WorkItemSchema.extend({ schema: z.literal("flow.v1").optional(), kind: z.literal("item") }),
  TransitionSchema.extend({ schema: z.literal("flow.v1").optional(), kind: z.literal("transition") }),
]);
export type CanonicalEvent = z.output<typeof CanonicalEventSchema>;

export const CONTRACT_SCHEMAS = {
  order: OrderEventSchema,
  incident: IncidentEventSchema,
  canonical: CanonicalEventSchema,
} as const;

// Fast path. zod costs several microseconds per event, which at 100k events/s is most of a core.
// These checks accept only the plain, valid shape and build exactly what the schema would output;
// anything else (a bad or unusual event) returns null and goes through zod, which decides and
// words the reason. So the fast path can only ever accept what zod accepts.
type Raw = Record<string, unknown>;
const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;

/** Id: a non-empty string without surrounding blanks, or a safe non-negative integer. */
function fastId(value: unknown): string | null {
  if (typeof value === "string") return value.length > 0 && value.trim() === value ? value : null;
  if (typeof value === "number" && Number.isSafeInteger(value) && value >= 0) return String(value);
  return null;
}

function fastLabel(value: unknown): string | null {
  return typeof value === "string" && value.length > 0 && value.trim() === value ? value : null;
}

function fastTime(value: unknown): number | null {
  const parsed = parseTimestamp(value);
  return parsed.ok ? parsed.ms : null;
}

function fastStatus(value: unknown): string | null {
  if (typeof value !== "string") return null;
  const text = value.trim();
  return text.length > 0 ? text.toLowerCase() : null;
}

/** OrderEventSchema's output for a plain valid event, or null (then zod decides). */
export function fastOrderEvent(raw: Raw): OrderEvent | null {
  if (raw.schema !== "order.v1") return null;
  const orderId = fastId(raw.order_id);
  const status = fastStatus(raw.status);
  const eventTime = fastTime(raw.event_time);
  if (orderId === null || status === null || eventTime === null) return null;
  const event: OrderEvent = { schema: "order.v1", order_id: orderId, status, event_time: eventTime };
  if (raw.event_id !== undefined) {
    const id = fastId(raw.event_id);
    if (id === null) return null;
    event.event_id = id;
  }
  if (raw.created_at !== undefined) {
    const at = fastTime(raw.created_at);
    if (at === null) return null;
    event.created_at = at;
  }
  const eta = raw.estimated_delivery_date;
  if (eta !== undefined) {
    if (typeof eta === "string" && DATE_ONLY.test(eta)) event.estimated_delivery_date = eta;
    else {
      const at = fastTime(eta);
      if (at === null) return null;
      event.estimated_delivery_date = at;
    }
  }
  if (raw.seller_id !== undefined) {
    const id = fastId(raw.seller_id);
    if (id === null) return null;
    event.seller_id = id;
  }
  if (raw.channel !== undefined) {
    const channel = fastLabel(raw.channel);
    if (channel === null) return null;
    event.channel = channel;
  }
  return event;
}

/** IncidentEventSchema's output for a plain valid event, or null (then zod decides). */
export function fastIncidentEvent(raw: Raw): IncidentEvent | null {
  if (raw.schema !== "incident.v1") return null;
  const number = fastId(raw.number);
  const state = fastStatus(raw.state);
  const eventTime = fastTime(raw.event_time);
  if (number === null || state === null || eventTime === null) return null;
  const event: IncidentEvent = { schema: "incident.v1", number, state, event_time: eventTime };
  const hold = raw.hold_reason;
  if (hold !== undefined) {
    if (typeof hold !== "string" || !NORMAL_HOLD_REASON.test(hold) || state !== "on_hold") return null;
    event.hold_reason = hold;
  } else if (state === "on_hold") return null;
  if (raw.event_id !== undefined) {
    const id = fastId(raw.event_id);
    if (id === null) return null;
    event.event_id = id;
  }
  if (raw.created_at !== undefined) {
    const at = fastTime(raw.created_at);
    if (at === null) return null;
    event.created_at = at;
  }
  const priority = raw.priority;
  if (priority !== undefined) {
    if (typeof priority === "string" && priority.length > 0 && priority.trim() === priority) event.priority = priority;
    else if (typeof priority === "number" && Number.isSafeInteger(priority)) event.priority = String(priority);
    else return null;
  }
  for (const key of ["category", "assignment_group"] as const) {
    if (raw[key] === undefined) continue;
    const label = fastLabel(raw[key]);
    if (label === null) return null;
    event[key] = label;
  }
  if (raw.short_description !== undefined) {
    if (typeof raw.short_description !== "string") return null;
    event.short_description = raw.short_description;
  }
  if (raw.reopen_count !== undefined) {
    const n = raw.reopen_count;
    if (typeof n !== "number" || !Number.isSafeInteger(n) || n < 0) return null;
    event.reopen_count = n;
  }
  return event;
}
