// End-to-end check that a real Kafka broker (scripts/kafka/start.sh, or $KAFKA_BROKERS) works with
// kafkajs: create a topic, produce 100 messages, consume exactly those 100 back.
import { Kafka, Partitioners, logLevel } from "kafkajs";
import type { Admin, Consumer, Producer } from "kafkajs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { kafkaUnavailableReason, startKafka } from "./helpers/kafka-broker.ts";
import type { KafkaBroker } from "./helpers/kafka-broker.ts";

const unavailable = kafkaUnavailableReason();
const suiteName = unavailable
  ? `kafka broker (SKIPPED: ${unavailable})`
  : "kafka broker (real single-node KRaft via scripts/kafka or $KAFKA_BROKERS)";

describe.skipIf(unavailable !== null)(suiteName, () => {
  const COUNT = 100;
  const runId = `${Date.now()}-${process.pid}`;
  const topic = `flowpulse-test-${runId}`;
  let broker: KafkaBroker | null = null;
  let kafka: Kafka;
  let admin: Admin | undefined;
  let producer: Producer | undefined;
  let consumer: Consumer | undefined;

  beforeAll(async () => {
    broker = await startKafka();
    // kafkaUnavailableReason() said a broker is possible, so null here is a failure, not a skip.
    if (!broker) throw new Error("startKafka() returned null although java/mvn were found");
    kafka = new Kafka({
      clientId: "flowpulse-kafka-broker-test",
      brokers: broker.brokers,
      logLevel: process.env.FLOWPULSE_KAFKA_DEBUG ? logLevel.DEBUG : logLevel.NOTHING,
      retry: { retries: 8, initialRetryTime: 100 },
    });
  }, 300_000);

  afterAll(async () => {
    await consumer?.disconnect().catch(() => undefined);
    await producer?.disconnect().catch(() => undefined);
    if (admin) {
      await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
      await admin.disconnect().catch(() => undefined);
    }
    await broker?.stop();
  }, 120_000);

  it("creates a topic, produces 100 messages and consumes exactly those back", async () => {
    admin = kafka.admin();
    await admin.connect();
    const created = await admin.createTopics({
      topics: [{ topic, numPartitions: 3, replicationFactor: 1 }],
      waitForLeaders: true,
    });
    expect(created).toBe(true);
    expect(await admin.listTopics()).toContain(topic);

    const expected = Array.from({ length: COUNT }, (_, i) => ({
      key: `key-${String(i).padStart(3, "0")}`,
      value: JSON.stringify({ seq: i, run: runId, text: `message ${i} ✓` }),
    }));

    producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, idempotent: true });
    await producer.connect();
    const acks = await producer.send({ topic, acks: -1, messages: expected });
    expect(acks.every((a) => a.errorCode === 0)).toBe(true);

    const offsets = await admin.fetchTopicOffsets(topic);
    expect(offsets).toHaveLength(3);
    expect(offsets.reduce((sum, p) => sum + Number(p.high) - Number(p.low), 0)).toBe(COUNT);

    consumer = kafka.consumer({ groupId: `flowpulse-test-group-${runId}`, maxWaitTimeInMs: 100 });
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });

    const received: { key: string; value: string; partition: number; offset: number }[] = [];
    const c = consumer;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`timed out after 30s with ${received.length}/${COUNT} messages`)),
        30_000,
      );
      c.run({
        eachMessage: async ({ partition, message }) => {
          received.push({
            key: message.key?.toString("utf8") ?? "",
            value: message.value?.toString("utf8") ?? "",
            partition,
            offset: Number(message.offset),
          });
          if (received.length >= COUNT) {
            clearTimeout(timer);
            resolve();
          }
        },
      }).catch((error: unknown) => {
        clearTimeout(timer);
        reject(error instanceof Error ? error : new Error(String(error)));
      });
    });
    // Give a duplicate (if any) a moment to show up before asserting the exact count.
    await new Promise((r) => setTimeout(r, 300));
    await consumer.stop();

    expect(received).toHaveLength(COUNT);
    const byKey = [...received].sort((a, b) => a.key.localeCompare(b.key));
    expect(byKey.map(({ key, value }) => ({ key, value }))).toEqual(expected);

    // Same key -> same partition, and offsets inside each partition are strictly increasing.
    for (const p of [0, 1, 2]) {
      const inPartition = received.filter((m) => m.partition === p).map((m) => m.offset);
      expect(inPartition).toEqual([...inPartition].sort((a, b) => a - b));
      expect(new Set(inPartition).size).toBe(inPartition.length);
    }
    expect(new Set(received.map((m) => m.partition)).size).toBeGreaterThan(1);
  });
});
