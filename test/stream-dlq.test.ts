// Dead letters that the dead-letter topic cannot take whole, on a real broker: the source topic
// accepts 32 MB, the dead-letter topic is created by Flowpulse with the broker's 1 MB default. Every
// valid event is stored exactly once, each oversized one is recorded with its coordinates, the
// group's lag reaches zero, and /healthz tells a partition that cannot move from one that can.
import { ConfigResourceTypes, Kafka, logLevel, Partitioners, type Admin, type Producer } from "kafkajs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseConfig } from "../cli/config.ts";
import { REFERENCE_PREFIX_BYTES } from "../connectors/kafka/dead-letters.ts";
import { runStream, type StreamHandle } from "../connectors/kafka/run.ts";
import type { Store } from "../store/store.ts";
import { kafkaUnavailableReason, startKafka, type KafkaBroker } from "./helpers/kafka-broker.ts";
import { freshStore } from "./helpers/store.ts";
import { waitFor } from "./helpers/wait.ts";

const unavailable = kafkaUnavailableReason();
const suiteName = unavailable ? `stream dead letters (SKIPPED: ${unavailable})` : "stream dead letters (real Kafka broker + embedded store)";

const MB = 1024 * 1024;
/** The dead-letter cases wait on the broker's topic config changes too: more time than the stream suite. */
const DLQ_WAIT_MS = 90_000;

describe.skipIf(unavailable !== null)(suiteName, () => {
  const run = `${Date.now().toString(36)}-${process.pid}`;
  const source = `big-orders-${run}`;
  const dlq = `big-dlq-${run}`;
  const group = `dlq-test-${run}`;
  let broker: KafkaBroker | null = null;
  let kafka: Kafka;
  let admin: Admin;
  let producer: Producer;
  let store: Store;
  let dispose: () => Promise<void>;
  let handle: StreamHandle | null = null;
  const logs: string[] = [];

  const health = async () => {
    const res = await fetch(`http://127.0.0.1:${handle!.port}/healthz`);
    return { status: res.status, body: (await res.json()) as { stuck_partitions: { topic: string; partition: number; lag: number }[]; last_error: string | null } };
  };
  const lagZero = async () => {
    const [high, [committed]] = await Promise.all([admin.fetchTopicOffsets(source), admin.fetchOffsets({ groupId: group, topics: [source] })]);
    return high.every((p) => committed!.partitions.find((c) => c.partition === p.partition)?.offset === p.high);
  };
  const order = (id: string, status: string, at: string, extra: object = {}) =>
    JSON.stringify({ schema: "order.v1", order_id: id, status, event_time: at, ...extra });
  const send = async (key: string, value: string | Buffer) => {
    const [meta] = await producer.send({ topic: source, messages: [{ key, value }] });
    return { partition: meta!.partition, offset: meta!.baseOffset! };
  };

  beforeAll(async () => {
    broker = await startKafka();
    if (!broker) throw new Error("startKafka() returned null although java/mvn were found");
    kafka = new Kafka({ clientId: "dlq-test", brokers: broker.brokers, logLevel: logLevel.NOTHING });
    admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({
      waitForLeaders: true,
      topics: [{ topic: source, numPartitions: 2, configEntries: [{ name: "max.message.bytes", value: String(32 * MB) }] }],
    });
    ({ store, dispose } = await freshStore());
    const config = parseConfig({
      sources: {
        kafka: {
          brokers: broker.brokers,
          brokers_env: "FLOWPULSE_TEST_NO_SUCH_VAR",
          group_id: group,
          topics: [{ topic: source, contract: "order", source: "orders" }],
          dlq_topic: dlq,
          batch: { max_rows: 500, max_wait_ms: 200 },
          http: { port: 0, host: "127.0.0.1", stuck_after_ms: 1_500 },
        },
      },
    });
    // Started before this file creates any producer of its own: kafkajs warns once per process.
    handle = await runStream(config, { store, handleSignals: false, log: (line) => logs.push(line) });
    producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
  }, 300_000);

  afterAll(async () => {
    await handle?.stop();
    await producer?.disconnect().catch(() => undefined);
    await admin?.disconnect().catch(() => undefined);
    await dispose?.();
    await broker?.stop();
  }, 120_000);

  it("starts without kafkajs's partitioner warning", () => {
    expect(logs.join("\n")).not.toMatch(/partitioner/i);
  });

  it("keeps 2 MB and 20 MB messages as references and every valid event exactly once; the lag reaches zero", async () => {
    const statuses: [string, string][] = [
      ["purchased", "2024-03-01T09:00:00Z"],
      ["approved", "2024-03-01T10:00:00Z"],
      ["delivered", "2024-03-03T10:00:00Z"],
    ];
    const oversized: { partition: number; offset: string; size: number }[] = [];
    for (let n = 1; n <= 10; n++) {
      const id = `o-${n}`;
      for (const [status, at] of statuses) await send(id, order(id, status, at));
      // Oversized events of items that also have valid ones, so they share partitions with them.
      if (n === 3) {
        const value = order(id, "shipped", "2024-03-02T10:00:00Z", { notes: "x".repeat(2 * MB) });
        oversized.push({ ...(await send(id, value)), size: Buffer.byteLength(value) });
      }
      if (n === 7) {
        const value = Buffer.alloc(20 * MB, "y");
        oversized.push({ ...(await send(id, value)), size: value.length });
      }
    }
    await waitFor("the group's lag to reach zero", lagZero, DLQ_WAIT_MS, 200);

    const [counts] = await store.query<{ transitions: string; distinct_events: string; items: string; done: string }>(
      `SELECT (SELECT count() FROM transitions FINAL WHERE startsWith(item_id, 'orders:')) AS transitions,
              (SELECT uniqExact(item_id, event_id) FROM transitions WHERE startsWith(item_id, 'orders:')) AS distinct_events,
              (SELECT count() FROM item_flow FINAL WHERE startsWith(item_id, 'orders:')) AS items,
              (SELECT countIf(outcome = 'done') FROM item_flow FINAL WHERE startsWith(item_id, 'orders:')) AS done`,
    );
    expect(Object.fromEntries(Object.entries(counts!).map(([k, v]) => [k, Number(v)]))).toEqual({ transitions: 30, distinct_events: 30, items: 10, done: 10 });

    const rejected = await store.query<{ reference: string; reason: string; bytes: string }>(
      "SELECT reference, reason, length(payload) AS bytes FROM rejected_records WHERE source = 'kafka' ORDER BY reference",
    );
    expect(rejected.map((r) => r.reference).sort()).toEqual(oversized.map((o) => `${source}/${o.partition}@${o.offset}`).sort());
    for (const row of rejected) {
      expect(row.reason).toMatch(/^too_large: message value is \d+ bytes/);
      expect(row.reason).toMatch(/the dead-letter topic holds a reference only/);
      expect(Number(row.bytes)).toBeLessThanOrEqual(REFERENCE_PREFIX_BYTES);
    }

    // The dead-letter topic holds one reference per oversized event, each within its 1 MB.
    const letters: { headers: Record<string, string>; size: number; body: Record<string, unknown> }[] = [];
    const reader = kafka.consumer({ groupId: `dlq-reader-${run}` });
    await reader.connect();
    await reader.subscribe({ topic: dlq, fromBeginning: true });
    await reader.run({
      eachMessage: async ({ message }) => {
        const headers = Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)]));
        letters.push({ headers, size: message.value?.length ?? 0, body: JSON.parse(message.value!.toString()) as Record<string, unknown> });
      },
    });
    await waitFor("2 dead letters", async () => letters.length >= 2, DLQ_WAIT_MS, 200);
    await reader.disconnect();
    const byOffset = new Map(letters.map((l) => [`${l.headers.source_partition}@${l.headers.source_offset}`, l]));
    for (const o of oversized) {
      const letter = byOffset.get(`${o.partition}@${o.offset}`)!;
      expect(letter.headers).toMatchObject({ dead_letter: "reference", reason: "too_large", source_topic: source, original_size: String(o.size) });
      expect(letter.body).toMatchObject({ dead_letter: "reference", source_topic: source, source_partition: o.partition, source_offset: o.offset, size: o.size, reason: "too_large" });
      expect(letter.size).toBeLessThan(MB);
    }
    expect(handle!.consumer.stats.flushFailures).toBe(0);
    expect((await health()).status).toBe(200);
  }, 240_000);

  it("answers 503 while a partition cannot move, naming it, and 200 once it moves again", async () => {
    // The dead-letter topic now refuses even a reference: the flush holding the bad event fails on
    // every retry and its partition stops.
    const setDlqLimit = (bytes: number) =>
      admin.alterConfigs({
        validateOnly: false,
        resources: [{ type: ConfigResourceTypes.TOPIC, name: dlq, configEntries: [{ name: "max.message.bytes", value: String(bytes) }] }],
      });
    await setDlqLimit(200);
    const bad = await send("o-100", "{not json at all, and long enough not to fit in 200 bytes with its headers ".repeat(3));
    await send("o-100", order("o-100", "purchased", "2024-03-05T09:00:00Z"));

    const stuck = await waitFor("/healthz to report the stuck partition", async () => {
      const h = await health();
      return h.status === 503 ? h : undefined;
    }, DLQ_WAIT_MS, 200);
    expect(stuck.body.stuck_partitions).toEqual([expect.objectContaining({ topic: source, partition: bad.partition })]);
    expect(stuck.body.last_error).toMatch(/refuses even a reference .* raise its max\.message\.bytes/);

    await setDlqLimit(1_048_588); // back to Kafka's default
    await waitFor("/healthz to answer 200 again", async () => (await health()).status === 200, DLQ_WAIT_MS, 200);
    await waitFor("the group's lag to reach zero", lagZero, DLQ_WAIT_MS, 200);
    const [row] = await store.query<{ n: string }>("SELECT count() AS n FROM transitions FINAL WHERE item_id = 'orders:o-100'");
    expect(Number(row!.n)).toBe(1);
    const kept = await store.query<{ n: string }>("SELECT count() AS n FROM rejected_records WHERE reference = {ref:String}", {
      ref: `${source}/${bad.partition}@${bad.offset}`,
    });
    expect(Number(kept[0]!.n)).toBe(1);
  }, 240_000);
});
