// The stream pipeline against a real Kafka broker and the embedded store: lifecycles land as the
// exact transitions and flow figures, bad events go to the dead-letter topic with their reason,
// and a rebalance between two consumers of one group neither loses nor doubles an event.
import { readFileSync } from "node:fs";
import { Kafka, logLevel, type Admin, type Producer } from "kafkajs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseConfig, type Config } from "../cli/config.ts";
import { KafkaConfigSchema, type KafkaConfig } from "../connectors/kafka/config.ts";
import { StoreLock, StreamConsumer } from "../connectors/kafka/consume.ts";
import { runStream, type StreamHandle } from "../connectors/kafka/run.ts";
import type { Store } from "../store/store.ts";
import { kafkaUnavailableReason, startKafka, type KafkaBroker } from "./helpers/kafka-broker.ts";
import { freshStore } from "./helpers/store.ts";
import { waitFor } from "./helpers/wait.ts";

const unavailable = kafkaUnavailableReason();
const suiteName = unavailable ? `stream pipeline (SKIPPED: ${unavailable})` : "stream pipeline (real Kafka broker + embedded store)";

const lines = (name: string) => readFileSync(new URL(`./fixtures/kafka/${name}`, import.meta.url), "utf8").split("\n").filter(Boolean);
const keyOf = (line: string): string | null => {
  try {
    const event = JSON.parse(line) as Record<string, unknown>;
    return String(event.order_id ?? event.number ?? event.item_id ?? "");
  } catch {
    return null;
  }
};

describe.skipIf(unavailable !== null)(suiteName, () => {
  const run = `${Date.now().toString(36)}-${process.pid}`;
  const topics = { orders: `orders-${run}`, incidents: `incidents-${run}`, events: `events-${run}`, dlq: `dlq-${run}` };
  let broker: KafkaBroker | null = null;
  let kafka: Kafka;
  let admin: Admin;
  let producer: Producer;
  let store: Store;
  let dispose: () => Promise<void>;
  let handle: StreamHandle | null = null;
  let config: Config;

  const send = async (topic: string, values: string[]) => {
    await producer.send({ topic, messages: values.map((value) => ({ key: keyOf(value), value })) });
  };

  beforeAll(async () => {
    broker = await startKafka();
    if (!broker) throw new Error("startKafka() returned null although java/mvn were found");
    kafka = new Kafka({ clientId: "stream-test", brokers: broker.brokers, logLevel: logLevel.NOTHING });
    admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({
      topics: [topics.orders, topics.incidents, topics.events, topics.dlq].map((topic) => ({ topic, numPartitions: 3 })),
    });
    producer = kafka.producer();
    await producer.connect();
    ({ store, dispose } = await freshStore());
    config = parseConfig({
      sources: {
        kafka: {
          brokers: broker.brokers,
          brokers_env: "FLOWPULSE_TEST_NO_SUCH_VAR",
          group_id: `stream-test-${run}`,
          topics: [
            { topic: topics.orders, contract: "order", source: "orders" },
            { topic: topics.incidents, contract: "incident", source: "incidents" },
            { topic: topics.events, contract: "canonical" },
          ],
          dlq_topic: topics.dlq,
          batch: { max_rows: 500, max_wait_ms: 200 },
          http: { port: 0, host: "127.0.0.1" },
        },
      },
    });
    handle = await runStream(config, { store, handleSignals: false, log: () => undefined });
  }, 300_000);

  afterAll(async () => {
    await handle?.stop();
    await producer?.disconnect().catch(() => undefined);
    await admin?.disconnect().catch(() => undefined);
    await dispose?.();
    await broker?.stop();
  }, 120_000);

  it("stores an order lifecycle (out of order, one replayed event) as its exact flow", async () => {
    await send(topics.orders, lines("order-lifecycle.jsonl"));
    await waitFor("order transitions", async () => {
      const [row] = await store.query<{ n: string }>("SELECT count() AS n FROM item_flow FINAL WHERE item_id IN ('orders:o-1001','orders:o-1002') AND outcome != 'open'");
      return Number(row?.n) === 2;
    });
    const transitions = await store.query<{ to_state: string; to_flow_state: string; at: string }>(
      "SELECT to_state, to_flow_state, at FROM transitions FINAL WHERE item_id = 'orders:o-1001' ORDER BY at",
    );
    expect(transitions).toEqual([
      { to_state: "purchased", to_flow_state: "new", at: "2024-03-01 09:00:00.000" },
      { to_state: "approved", to_flow_state: "active", at: "2024-03-01 09:30:00.000" },
      { to_state: "invoiced", to_flow_state: "active", at: "2024-03-01 12:00:00.000" },
      { to_state: "shipped", to_flow_state: "waiting", at: "2024-03-02 08:00:00.000" },
      { to_state: "delivered", to_flow_state: "done", at: "2024-03-05 08:00:00.000" },
    ]);
    const [order] = await store.query<Record<string, unknown>>(
      "SELECT stream, flow_type, team, title, created_at, started_at, finished_at, status, current_state, flow_seconds, active_seconds, wait_seconds, flow_seconds_from_created, round(efficiency, 6) AS efficiency, transition_count FROM flow_items WHERE item_id = 'orders:o-1001'",
    );
    // Approved 03-01 09:30 -> shipped 03-02 08:00 is the seller's work; shipped -> delivered waits on the carrier.
    expect(order).toEqual({
      stream: "orders",
      flow_type: "order",
      team: "s-17",
      title: "Order o-1001",
      created_at: "2024-03-01 09:00:00.000",
      started_at: "2024-03-01 09:30:00.000",
      finished_at: "2024-03-05 08:00:00.000",
      status: "done",
      current_state: "delivered",
      flow_seconds: 340200,
      active_seconds: 81000,
      wait_seconds: 259200,
      flow_seconds_from_created: 342000,
      efficiency: Math.round((81000 / 340200) * 1e6) / 1e6,
      transition_count: 5,
    });
    const [canceled] = await store.query<Record<string, unknown>>(
      "SELECT status, finished_at, flow_seconds FROM flow_items WHERE item_id = 'orders:o-1002'",
    );
    expect(canceled).toEqual({ status: "canceled", finished_at: "2024-03-01 15:20:00.000", flow_seconds: 14400 });
  });

  it("stores an incident lifecycle with an on-hold stretch and a reopen", async () => {
    await send(topics.incidents, lines("incident-lifecycle.jsonl"));
    await waitFor("incident closed", async () => {
      const [row] = await store.query<{ s: string }>("SELECT current_state AS s FROM item_flow FINAL WHERE item_id = 'incidents:INC0010001'");
      return row?.s === "closed";
    });
    const [incident] = await store.query<Record<string, unknown>>(
      "SELECT stream, flow_type, team, title, started_at, finished_at, status, reopen_count, transition_count, flow_seconds, active_seconds, wait_seconds FROM flow_items WHERE item_id = 'incidents:INC0010001'",
    );
    // Active 08:30-10:00, 14:00-16:00 and (reopened) 09:00-11:00; on hold 10:00-14:00; the
    // resolved night in between is a pause; it finishes at the last resolution, not at closing.
    expect(incident).toEqual({
      stream: "incidents",
      flow_type: "incident",
      team: "netops",
      title: "VPN drops every hour",
      started_at: "2024-03-04 08:30:00.000",
      finished_at: "2024-03-05 11:00:00.000",
      status: "done",
      reopen_count: 1,
      transition_count: 8,
      flow_seconds: 34200,
      active_seconds: 19800,
      wait_seconds: 14400,
    });
    const holds = await store.query<{ state: string }>(
      "SELECT state FROM state_intervals FINAL WHERE item_id = 'incidents:INC0010001' AND flow_state = 'waiting'",
    );
    expect(holds).toEqual([{ state: "on_hold:awaiting_vendor" }]);
  });

  it("stores canonical items and transitions from the generic topic", async () => {
    await send(topics.events, lines("canonical.jsonl"));
    const row = await waitFor("canonical item", async () => {
      const [r] = await store.query<Record<string, unknown>>(
        "SELECT stream, flow_type, status, flow_seconds, transition_count FROM flow_items WHERE item_id = 'payments:PAY-7'",
      );
      return r && r.status === "done" ? r : undefined;
    });
    expect(row).toEqual({ stream: "payments", flow_type: "feature", status: "done", flow_seconds: 14400, transition_count: 3 });
  });

  it("dead-letters bad events with reason headers while the valid ones around them land", async () => {
    const dlqBefore = handle!.consumer.stats.totalDlq();
    await send(topics.orders, lines("bad-orders.txt"));
    await waitFor("valid order around the bad ones", async () => {
      const [r] = await store.query<{ n: string }>("SELECT count() AS n FROM transitions FINAL WHERE item_id = 'orders:o-2001'");
      return Number(r?.n) === 2;
    });
    await waitFor("dlq counter", async () => handle!.consumer.stats.totalDlq() - dlqBefore === 4);

    const seen: { reason: string; detail: string; topic: string; partition: string; offset: string; value: string }[] = [];
    const reader = kafka.consumer({ groupId: `dlq-reader-${run}` });
    await reader.connect();
    await reader.subscribe({ topic: topics.dlq, fromBeginning: true });
    await reader.run({
      eachMessage: async ({ message }) => {
        const h = (name: string) => message.headers?.[name]?.toString() ?? "";
        seen.push({ reason: h("reason"), detail: h("detail"), topic: h("source_topic"), partition: h("source_partition"), offset: h("source_offset"), value: message.value?.toString() ?? "" });
      },
    });
    await waitFor("4 dead letters", async () => seen.length >= 4);
    await reader.disconnect();
    const bad = lines("bad-orders.txt");
    const byOrder = Object.fromEntries(seen.map((s) => [s.value, s]));
    expect(seen).toHaveLength(4);
    expect(byOrder[bad[1]!]).toMatchObject({ reason: "invalid_json", topic: topics.orders });
    expect(byOrder[bad[2]!]).toMatchObject({ reason: "schema", detail: expect.stringMatching(/event_time: .*no UTC offset/) });
    expect(byOrder[bad[3]!]).toMatchObject({ reason: "unknown_status", detail: expect.stringMatching(/"returned"/) });
    expect(byOrder[bad[4]!]).toMatchObject({ reason: "schema", detail: expect.stringMatching(/schema/) });
    for (const letter of seen) {
      expect(letter.partition).toMatch(/^[0-2]$/);
      expect(letter.offset).toMatch(/^\d+$/);
    }

    const rejected = await store.query<{ reference: string; reason: string }>(
      "SELECT reference, reason FROM rejected_records WHERE source = 'kafka' ORDER BY reason",
    );
    expect(rejected.map((r) => r.reason.split(":")[0])).toEqual(["invalid_json", "schema", "schema", "unknown_status"]);
    for (const r of rejected) expect(r.reference).toMatch(new RegExp(`^${topics.orders}/\\d@\\d+$`));
    // Nothing of the bad orders reached the flow tables.
    const [leaked] = await store.query<{ n: string }>("SELECT count() AS n FROM transitions WHERE item_id IN ('orders:o-2002','orders:o-2003','orders:o-2004','orders:o-2005')");
    expect(Number(leaked?.n)).toBe(0);
  });

  it("serves health and Prometheus metrics, and commits every stored offset", async () => {
    const base = `http://127.0.0.1:${handle!.port}`;
    const health = await fetch(`${base}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: "ok", state: "running" });
    const text = await (await fetch(`${base}/metrics`)).text();
    const sample = (pattern: RegExp) => Number(pattern.exec(text)?.[1]);
    const ordersIn = sample(new RegExp(`flowpulse_stream_events_in_total\\{topic="${topics.orders}"\\} (\\d+)`));
    expect(ordersIn).toBe(lines("order-lifecycle.jsonl").length + lines("bad-orders.txt").length);
    expect(sample(/flowpulse_stream_dlq_total\{[^}]*reason="schema"\} (\d+)/)).toBe(2);
    expect(sample(/flowpulse_stream_flush_seconds_count (\d+)/)).toBeGreaterThan(0);
    expect(text).toMatch(/flowpulse_stream_consumer_lag\{topic="[^"]+",partition="\d"\} 0/);
    expect(text).toMatch(/flowpulse_stream_stage_seconds_total\{stage="derive"\} [\d.e-]+/);

    // Offsets move only after the store has the events: once idle, the group's committed offsets
    // are the end of every partition.
    await waitFor("committed offsets at the end", async () => {
      for (const topic of [topics.orders, topics.incidents, topics.events]) {
        const end = await admin.fetchTopicOffsets(topic);
        const [committed] = await admin.fetchOffsets({ groupId: config.sources.kafka!.group_id, topics: [topic] });
        for (const p of end) {
          const c = committed!.partitions.find((x) => x.partition === p.partition);
          if (p.high !== "0" && c?.offset !== p.high) return false;
        }
      }
      return true;
    });

    await handle!.stop();
    const down = await fetch(`${base}/healthz`).catch((error: Error) => error);
    expect(down).toBeInstanceOf(Error); // server closed with the pipeline
    handle = null;
  });

  it("loses and doubles nothing when a second consumer joins the group mid-stream", async () => {
    const topic = `rebalance-${run}`;
    await admin.createTopics({ topics: [{ topic, numPartitions: 6 }] });
    // Enough events that the stream is still running after the ~3 s a rebalance takes.
    const ORDERS = 6000;
    const statuses = ["purchased", "approved", "invoiced", "shipped", "delivered"] as const;
    const base = Date.parse("2024-01-01T00:00:00Z");
    let expectedAtSum = 0;
    const values: { key: string; value: string }[] = [];
    for (let o = 0; o < ORDERS; o++) {
      statuses.forEach((status, i) => {
        const at = base + o * 60_000 + i * 3_600_000;
        expectedAtSum += at / 1000;
        values.push({ key: `r-${o}`, value: JSON.stringify({ schema: "order.v1", order_id: `r-${o}`, status, event_time: new Date(at).toISOString() }) });
      });
    }
    for (let i = 0; i < values.length; i += 1000) await producer.send({ topic, messages: values.slice(i, i + 1000) });

    const kafkaConfig: KafkaConfig = KafkaConfigSchema.parse({
      brokers: broker!.brokers,
      group_id: `rebalance-${run}`,
      topics: [{ topic, contract: "order", source: "rb" }],
      dlq_topic: topics.dlq,
      // Small flushes and fetches so the stream is still running when the second member joins.
      batch: { max_rows: 200, max_wait_ms: 100, partitions_concurrently: 3 },
      fetch: { max_bytes_per_partition: 16 * 1024, max_bytes: 64 * 1024 },
      http: { enabled: false },
    });
    const lock = new StoreLock(); // both members share this process's one store
    const first = new StreamConsumer({ config: kafkaConfig, store, lock, brokers: broker!.brokers, log: () => undefined });
    const second = new StreamConsumer({ config: kafkaConfig, store, lock, brokers: broker!.brokers, log: () => undefined });
    await first.start();
    await waitFor("first member storing", async () => first.stats.rowsWritten.transitions >= 1000);
    await second.start();
    const stored = async () => {
      const [r] = await store.query<{ n: string }>("SELECT count() AS n FROM transitions FINAL WHERE startsWith(item_id, 'rb:')");
      return Number(r?.n);
    };
    await waitFor("every event stored", async () => (await stored()) === values.length, 90_000);
    await first.stop();
    await second.stop();

    expect(second.stats.rowsWritten.transitions).toBeGreaterThan(0); // the rebalance really moved partitions
    expect(first.stats.rebalances + second.stats.rebalances).toBeGreaterThanOrEqual(3);
    const [totals] = await store.query<{ n: string; items: string; at_sum: string; done: string; per_item: string }>(
      "SELECT count() AS n, uniqExact(item_id) AS items, sum(toUnixTimestamp64Milli(at)) / 1000 AS at_sum, " +
        "(SELECT count() FROM flow_items WHERE source = 'rb' AND status = 'done') AS done, " +
        "(SELECT sum(transition_count) FROM flow_items WHERE source = 'rb') AS per_item " +
        "FROM transitions FINAL WHERE startsWith(item_id, 'rb:')",
    );
    expect(Number(totals!.n)).toBe(values.length);
    expect(Number(totals!.items)).toBe(ORDERS);
    expect(Number(totals!.at_sum)).toBe(expectedAtSum);
    expect(Number(totals!.done)).toBe(ORDERS);
    expect(Number(totals!.per_item)).toBe(values.length);
  }, 150_000);
});
