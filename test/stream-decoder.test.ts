// The stream's decode thread on its own (a real worker thread, no broker): what it refuses and why,
// how an item's events merge within a flush unit and with what the store knows, and that the rows
// it encodes are the ones the sink would have encoded.
import { afterAll, describe, expect, it } from "vitest";
import type { KafkaMessage } from "kafkajs";
import { KafkaConfigSchema } from "../connectors/kafka/config.ts";
import { Decoder } from "../connectors/kafka/decoder.ts";
import { decodeEvent, MAX_EVENT_BYTES } from "../connectors/kafka/map.ts";

const config = KafkaConfigSchema.parse({
  topics: [
    { topic: "shop-orders", contract: "order", source: "shop" },
    { topic: "ops-incidents", contract: "incident", source: "ops" },
  ],
});
const ORDERS = 0;
const INCIDENTS = 1;
const decoder = new Decoder(config.topics);
afterAll(() => decoder.close());

let offset = 0;
function message(value: string | null): KafkaMessage {
  offset += 1;
  return { key: null, value: value === null ? null : Buffer.from(value), offset: String(offset), timestamp: "0", attributes: 0, headers: {} } as KafkaMessage;
}
const order = (id: string, status: string, at: string, extra: object = {}) =>
  message(JSON.stringify({ schema: "order.v1", order_id: id, status, event_time: at, ...extra }));

/** The rows of JSONCompactEachRow text, whose rows are separated by newlines or commas. */
function lines(bytes: Uint8Array): unknown[][] {
  const pieces = new TextDecoder().decode(bytes).split("\n").filter(Boolean);
  return JSON.parse(`[${pieces.join(",")}]`) as unknown[][];
}

describe("decode thread", () => {
  it("refuses bad messages with their index and reason, and keeps the good ones", async () => {
    const messages = [
      order("o-1", "purchased", "2024-03-01T10:00:00Z"),
      message("{not json"),
      message(null),
      order("o-1", "teleported", "2024-03-01T11:00:00Z"),
      message(JSON.stringify({ schema: "order.v1", status: "approved" })),
      order("o-2", "purchased", "2024-03-01T12:00:00Z"),
    ];
    const { refused } = await decoder.decode(101, ORDERS, messages, 0, messages.length);
    expect(refused.map((r) => [r.index, r.reason])).toEqual([
      [1, "invalid_json"],
      [2, "invalid_json"],
      [3, "unknown_status"],
      [4, "schema"],
    ]);
    expect(refused[2]!.detail).toContain("teleported");
    expect(await decoder.prepare(101)).toEqual([]); // both items are created in this unit
    const encoded = await decoder.encode(101, []);
    expect(encoded.transitions.count).toBe(2);
    expect(encoded.items.count).toBe(2);
    expect([...encoded.itemIds].sort()).toEqual(["shop:o-1", "shop:o-2"]);
  });

  it("tells a tombstone from an empty value, and refuses an oversized value without decoding it", async () => {
    const big = Buffer.alloc(MAX_EVENT_BYTES + 1, 0x20);
    const messages = [
      message(null),
      message(""),
      order("o-9", "purchased", "2024-03-01T10:00:00Z"),
      { ...message(null), value: big },
      order("o-9", "approved", "2024-03-01T11:00:00Z"),
    ];
    const { refused } = await decoder.decode(103, ORDERS, messages, 0, messages.length);
    const byIndex = new Map(refused.map((r) => [r.index, r]));
    expect([...byIndex.keys()].sort()).toEqual([0, 1, 3]);
    expect(byIndex.get(0)).toMatchObject({ reason: "invalid_json", detail: expect.stringMatching(/^tombstone \(null value\)/) });
    expect(byIndex.get(1)).toMatchObject({ reason: "invalid_json", detail: expect.stringMatching(/^empty value \(0 bytes\)/) });
    expect(byIndex.get(1)!.detail).not.toMatch(/tombstone/);
    expect(byIndex.get(3)).toMatchObject({ reason: "too_large", detail: expect.stringContaining(`${MAX_EVENT_BYTES + 1} bytes`) });
    // The values around them are decoded, in place.
    const encoded = await decoder.encode(103, []);
    expect(encoded.transitions.count).toBe(2);
  });

  it("merges an item's events across chunks and encodes what the sink would", async () => {
    const messages = [
      order("o-3", "approved", "2024-03-02T09:00:00Z", { channel: "web" }),
      order("o-3", "purchased", "2024-03-02T08:00:00Z", { seller_id: "s-9" }),
    ];
    await decoder.decode(102, ORDERS, messages, 0, 1);
    await decoder.decode(102, ORDERS, messages, 1, 2);
    expect(await decoder.prepare(102)).toEqual([]);
    const encoded = await decoder.encode(102, []);
    const [item] = lines(encoded.items.lines);
    // item_id, source, stream, key, title, url, flow_type, team, labels, created_at, ...
    expect(item!.slice(0, 10)).toEqual(["shop:o-3", "shop", "orders", "o-3", "Order o-3", "", "order", "s-9", ["seller:s-9"], Date.parse("2024-03-02T08:00:00Z")]);
    const transitions = lines(encoded.transitions.lines);
    const topic = config.topics[ORDERS]!;
    const expected = messages.map((m) => {
      const mapped = decodeEvent(topic, m.value);
      if (!mapped.ok || !mapped.transition) throw new Error("fixture should map");
      const t = mapped.transition;
      return [t.event_id, t.item_id, t.from_state, t.to_state, t.to_flow_state, t.at];
    });
    expect(transitions.map((row) => row.slice(0, 6))).toEqual(expected);
    expect(transitions.every((row) => typeof row[6] === "number" && row[6] > 0)).toBe(true); // ingested_at
  });

  it("asks the store only about items it did not write, and forgets them on request", async () => {
    // o-4 was created before this consumer saw it: the store knows its creation and title.
    await decoder.decode(103, ORDERS, [order("o-4", "shipped", "2024-03-05T10:00:00Z")], 0, 1);
    expect(await decoder.prepare(103)).toEqual(["shop:o-4"]);
    const stored = { item_id: "shop:o-4", created_at: Date.parse("2024-03-01T00:00:00Z"), title: "Blue chair", team: "s-1", labels: ["channel:app"] };
    const [item] = lines((await decoder.encode(103, [stored])).items.lines);
    expect(item!.slice(4, 10)).toEqual(["Blue chair", "", "order", "s-1", ["channel:app"], stored.created_at]);

    // Written by this consumer: remembered, no lookup, same merge.
    await decoder.decode(104, ORDERS, [order("o-4", "delivered", "2024-03-06T10:00:00Z")], 0, 1);
    expect(await decoder.prepare(104)).toEqual([]);
    const [again] = lines((await decoder.encode(104, [])).items.lines);
    expect(again!.slice(4, 10)).toEqual(["Blue chair", "", "order", "s-1", ["channel:app"], stored.created_at]);

    // After a rebalance another member may have written it: ask the store again.
    await decoder.forget();
    await decoder.decode(105, ORDERS, [order("o-4", "delivered", "2024-03-06T10:00:00Z")], 0, 1);
    expect(await decoder.prepare(105)).toEqual(["shop:o-4"]);
    await decoder.drop(105);
  });

  it("decodes UTF-8 payloads beside ASCII ones in one chunk", async () => {
    const incident = (n: string, text: string) =>
      message(JSON.stringify({ schema: "incident.v1", number: n, state: "new", event_time: "2024-04-01T08:00:00Z", short_description: text }));
    const messages = [incident("INC1", "plain"), incident("INC2", "Café ☕ down — 東京"), message("{\"broken\": \"é"), incident("INC3", "after")];
    const { refused } = await decoder.decode(106, INCIDENTS, messages, 0, messages.length);
    expect(refused.map((r) => [r.index, r.reason])).toEqual([[2, "invalid_json"]]);
    await decoder.prepare(106);
    const items = lines((await decoder.encode(106, [])).items.lines);
    expect(Object.fromEntries(items.map((row) => [row[0], row[4]]))).toEqual({ "ops:INC1": "plain", "ops:INC2": "Café ☕ down — 東京", "ops:INC3": "after" });
  });

  it("fails a unit whose decode state is gone instead of storing part of it", async () => {
    await expect(decoder.encode(999, [])).rejects.toThrow(/flush unit 999 is gone/);
  });
});
