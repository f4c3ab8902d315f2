// Pure parts of the stream pipeline: config defaults and errors, contract validation, mapping.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { KafkaConfigSchema, TopicConfigSchema } from "../connectors/kafka/config.ts";
import { fastIncidentEvent, fastOrderEvent, IncidentEventSchema, OrderEventSchema } from "../connectors/kafka/contracts.ts";
import { decodeEvent, deriveEventId, mergeItem, UNKNOWN_FROM_STATE, validateEvent, withDefaultTitle } from "../connectors/kafka/map.ts";

const fixture = (name: string) => readFileSync(new URL(`./fixtures/kafka/${name}`, import.meta.url), "utf8").split("\n").filter(Boolean);
const orders = TopicConfigSchema.parse({ topic: "orders", contract: "order" });
const incidents = TopicConfigSchema.parse({ topic: "incidents", contract: "incident" });
const canonical = TopicConfigSchema.parse({ topic: "flowpulse.events", contract: "canonical" });

describe("kafka config", () => {
  it("defaults to orders, incidents and a canonical topic with a shared DLQ", () => {
    const config = KafkaConfigSchema.parse({});
    expect(config.topics.map((t) => [t.topic, t.contract, t.stream, t.flow_type])).toEqual([
      ["orders", "order", "orders", "order"],
      ["incidents", "incident", "incidents", "incident"],
      ["flowpulse.events", "canonical", undefined, undefined],
    ]);
    expect(config.dlq_topic).toBe("flowpulse.dlq");
    expect(config.topics[0]!.states.shipped).toBe("waiting");
    expect(config.topics[1]!.states.on_hold).toBe("waiting");
  });

  it("refuses mistakes with a message naming the key", () => {
    const bad = KafkaConfigSchema.safeParse({
      brokers: ["localhost"],
      topics: [{ topic: "orders", contract: "orders" }],
      batch: { max_rows: 10, max_pending_rows: 5 },
    });
    expect(bad.success).toBe(false);
    const paths = bad.error!.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("\n");
    expect(paths).toMatch(/brokers\.0: a broker address host:port/);
    expect(paths).toMatch(/topics\.0\.contract/);
    expect(paths).toMatch(/max_pending_rows must be at least max_rows/);
    const loop = KafkaConfigSchema.safeParse({ topics: [{ topic: "orders", contract: "order" }], dlq_topic: "orders" });
    expect(loop.error?.issues[0]?.message).toMatch(/also a source topic/);
  });
});

describe("mapping events", () => {
  it("maps an order event to an item and a transition in UTC", () => {
    const [line] = fixture("order-lifecycle.jsonl");
    const mapped = decodeEvent(orders, line!);
    expect(mapped.ok).toBe(true);
    if (!mapped.ok) return;
    expect(mapped.item).toMatchObject({
      item_id: "orders:o-1001",
      stream: "orders",
      flow_type: "order",
      team: "s-17",
      labels: ["channel:web", "seller:s-17"],
      created_at: Date.parse("2024-03-01T09:00:00Z"),
    });
    expect(mapped.transition).toEqual({
      event_id: deriveEventId("o-1001", "purchased", Date.parse("2024-03-01T09:00:00Z")),
      item_id: "orders:o-1001",
      from_state: "",
      to_state: "purchased",
      to_flow_state: "new",
      at: Date.parse("2024-03-01T09:00:00Z"),
    });
  });

  it("derives the same event id for a replayed event and keeps a given one", () => {
    const lines = fixture("order-lifecycle.jsonl");
    const a = decodeEvent(orders, lines[1]!);
    const b = decodeEvent(orders, lines[4]!);
    expect(a.ok && b.ok && a.transition!.event_id === b.transition!.event_id).toBe(true);
    const given = decodeEvent(orders, lines[6]!);
    expect(given.ok && given.transition!.event_id).toBe("evt-o1002-1");
    const later = decodeEvent(orders, lines[2]!);
    expect(later.ok && later.transition!.from_state).toBe(UNKNOWN_FROM_STATE);
  });

  it("keeps the hold reason in the incident state and maps it to waiting", () => {
    const mapped = decodeEvent(incidents, fixture("incident-lifecycle.jsonl")[2]!);
    expect(mapped.ok && mapped.transition).toMatchObject({ to_state: "on_hold:awaiting_vendor", to_flow_state: "waiting" });
    expect(mapped.ok && mapped.item).toMatchObject({ item_id: "incidents:INC0010001", team: "netops", labels: ["priority:2", "category:network"] });
  });

  it("passes canonical items and transitions through", () => {
    const [item, transition] = fixture("canonical.jsonl").map((l) => decodeEvent(canonical, l));
    expect(item!.ok && item!.item).toMatchObject({ item_id: "payments:PAY-7", stream: "payments", created_at: Date.parse("2024-03-01T08:00:00Z") });
    expect(transition!.ok && transition!.transition).toMatchObject({ event_id: "pay-7-1", to_flow_state: "new" });
  });

  it("refuses bad input with a reason code", () => {
    const [valid, broken, noOffset, unknown, v2] = fixture("bad-orders.txt").map((l) => decodeEvent(orders, l));
    expect(valid!.ok).toBe(true);
    expect(broken).toMatchObject({ ok: false, reason: "invalid_json" });
    expect(noOffset).toMatchObject({ ok: false, reason: "schema" });
    expect(!noOffset!.ok && noOffset!.detail).toMatch(/event_time: timestamp .* has no UTC offset/);
    expect(unknown).toMatchObject({ ok: false, reason: "unknown_status" });
    expect(!unknown!.ok && unknown!.detail).toMatch(/"returned" is not mapped/);
    expect(v2).toMatchObject({ ok: false, reason: "schema" });
    expect(decodeEvent(orders, null)).toMatchObject({ ok: false, reason: "invalid_json" });
    expect(decodeEvent(orders, "[1,2]")).toMatchObject({ ok: false, reason: "invalid_json" });
    const hold = decodeEvent(incidents, JSON.stringify({ schema: "incident.v1", number: "INC1", state: "on_hold", event_time: "2024-01-01T00:00:00Z" }));
    expect(hold).toMatchObject({ ok: false, reason: "schema" });
    expect(!hold.ok && hold.detail).toMatch(/hold_reason: required when state is on_hold/);
  });

  it("says \"missing field\" for a missing field, and names what is wrong for a wrong one", () => {
    const order = { schema: "order.v1", order_id: "o-1", status: "approved", event_time: "2024-03-01T10:30:00Z" };
    const detail = (topic: typeof orders, event: object) => {
      const result = decodeEvent(topic, JSON.stringify(event));
      if (result.ok) throw new Error(`should be refused: ${JSON.stringify(event)}`);
      expect(result.reason).toBe("schema");
      return result.detail;
    };
    const { event_time: _t, ...noTime } = order;
    expect(detail(orders, noTime)).toBe("event_time: missing field");
    const { order_id: _o, status: _s, ...noIdNoStatus } = order;
    expect(detail(orders, noIdNoStatus)).toBe("order_id: missing field; status: missing field");
    expect(detail(orders, { ...order, event_time: true })).not.toMatch(/missing/);
    expect(detail(orders, { ...order, event_time: "2024-03-01T10:30:00" })).toMatch(/event_time: timestamp .* has no UTC offset/);
    expect(detail(orders, { ...order, schema: undefined })).toBe("schema: missing field");
    expect(detail(canonical, { kind: "transition", item_id: "x:1", to_state: "Done", to_flow_state: "done", at: "2024-03-01T10:30:00Z" })).toMatch(/event_id: missing field/);
    // A rule the schema words itself keeps its words.
    expect(detail(incidents, { schema: "incident.v1", number: "INC1", state: "on_hold", event_time: "2024-01-01T00:00:00Z" })).toMatch(/hold_reason: required when state is on_hold/);
  });

  it("keeps any hold reason, normalised, as a waiting stay", () => {
    const hold = (reason: unknown) =>
      decodeEvent(incidents, JSON.stringify({ schema: "incident.v1", number: "INC1", state: "on_hold", hold_reason: reason, event_time: "2024-01-01T00:00:00Z" }));
    for (const [given, stored] of [
      ["Awaiting Evidence", "on_hold:awaiting_evidence"],
      ["awaiting-change", "on_hold:awaiting_change"],
      ["awaiting_vendor", "on_hold:awaiting_vendor"],
      ["  Waiting for Godot ", "on_hold:waiting_for_godot"],
    ]) {
      expect(hold(given), given).toMatchObject({ ok: true, transition: { to_state: stored, to_flow_state: "waiting" } });
    }
    expect(hold("x".repeat(65))).toMatchObject({ ok: false, reason: "schema", detail: expect.stringMatching(/hold_reason: at most 64 characters/) });
    expect(hold("")).toMatchObject({ ok: false, reason: "schema" });
  });

  it("honours a configured state map: unmapped statuses are unknown", () => {
    const custom = TopicConfigSchema.parse({ topic: "o", contract: "order", states: { purchased: "new", returned: "active" }, stream: "returns" });
    const line = fixture("bad-orders.txt")[3]!;
    expect(decodeEvent(custom, line)).toMatchObject({ ok: true, item: { stream: "returns" }, transition: { to_flow_state: "active" } });
    expect(decodeEvent(custom, fixture("order-lifecycle.jsonl")[1]!)).toMatchObject({ ok: false, reason: "unknown_status" });
  });

  it("keeps the earliest creation time when merging an item", () => {
    const lines = fixture("order-lifecycle.jsonl");
    const first = decodeEvent(orders, lines[0]!);
    const later = decodeEvent(orders, lines[5]!);
    if (!first.ok || !later.ok) throw new Error("fixture should map");
    expect(mergeItem(later.item!, first.item!).created_at).toBe(Date.parse("2024-03-01T09:00:00Z"));
    expect(mergeItem(first.item!, later.item!).created_at).toBe(Date.parse("2024-03-01T09:00:00Z"));
    // Fields an event leaves out keep what is known; a title nobody gave is made from kind and key.
    const [opened, assigned] = fixture("incident-lifecycle.jsonl").map((l) => decodeEvent(incidents, l));
    if (!opened?.ok || !assigned?.ok) throw new Error("fixture should map");
    expect(assigned.item!.title).toBe("");
    expect(mergeItem(opened.item!, assigned.item!).title).toBe("VPN drops every hour");
    expect(withDefaultTitle(assigned.item!).title).toBe("Incident INC0010001");
  });
});

describe("fast validation path", () => {
  // The hand-written checks skip zod for plain valid events; they must never accept what zod
  // refuses, and must output exactly what zod outputs.
  const order = { schema: "order.v1", order_id: "o-1", status: "approved", event_time: "2024-03-01T10:30:00.000Z" };
  const orderCases: Record<string, unknown>[] = [
    order,
    { ...order, event_time: "2024-03-01T10:30:00+01:00", created_at: 1709285400000, event_id: "e-1", seller_id: 17, channel: "web", estimated_delivery_date: "2024-03-08" },
    { ...order, estimated_delivery_date: "2024-03-08T00:00:00.000Z", extra: "ignored" },
    { ...order, status: " Approved " },
    { ...order, order_id: " o-1 " },
    { ...order, order_id: "" },
    { ...order, order_id: -1 },
    { ...order, order_id: 1.5 },
    { ...order, event_time: "2024-02-30T10:30:00.000Z" },
    { ...order, event_time: "2024-02-29T10:30:00.000Z" },
    { ...order, event_time: "2023-02-29T10:30:00.000Z" },
    { ...order, event_time: "1969-12-31T23:59:59.999Z" },
    { ...order, event_time: "2024-03-01T24:00:00.000Z" },
    { ...order, event_time: "2024-03-01T10:30:00" },
    { ...order, event_time: null },
    { ...order, channel: "" },
    { ...order, channel: null },
    { ...order, schema: "order.v2" },
    { ...order, estimated_delivery_date: "soon" },
  ];
  const incident = { schema: "incident.v1", number: "INC1", state: "in_progress", event_time: "2024-03-04T10:00:00.000Z" };
  const incidentCases: Record<string, unknown>[] = [
    incident,
    { ...incident, state: "on_hold", hold_reason: "awaiting_vendor", priority: 2, category: "network", assignment_group: "netops", short_description: "VPN", reopen_count: 1 },
    { ...incident, state: "on_hold" },
    { ...incident, hold_reason: "awaiting_user" },
    { ...incident, state: "on_hold", hold_reason: "awaiting_godot" },
    { ...incident, state: "on_hold", hold_reason: "Awaiting Evidence" },
    { ...incident, priority: " 2 " },
    { ...incident, reopen_count: -1 },
    { ...incident, short_description: 7 },
  ];

  it("accepts only what zod accepts, with zod's output", () => {
    let fast = 0;
    for (const [cases, check, schema] of [
      [orderCases, fastOrderEvent, OrderEventSchema],
      [incidentCases, fastIncidentEvent, IncidentEventSchema],
    ] as const) {
      for (const raw of cases) {
        const zod = schema.safeParse(raw);
        const quick = check(raw);
        if (quick) {
          fast += 1;
          expect(zod.success, JSON.stringify(raw)).toBe(true);
          expect(quick).toEqual(zod.data);
        }
        const validated = validateEvent(schema === OrderEventSchema ? orders : incidents, raw);
        expect(validated.ok, JSON.stringify(raw)).toBe(zod.success);
        if (validated.ok) expect(validated.event).toEqual(zod.data);
      }
    }
    expect(fast).toBeGreaterThanOrEqual(5); // the common shapes really take the fast path
  });
});
