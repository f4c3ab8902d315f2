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
export const HOLD_REASONS = ["awaiting_user", "awaiting_vendor", "awaiting_problem"] as const;

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
    hold_reason: z.enum(HOLD_REASONS).optional().describe("required when state is on_hold"),
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
      ctx.addIssue({ code: "custom", path: ["hold_reason"], message: `required when state is on_hold (${HOLD_REASONS.join(" | ")})` });
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
