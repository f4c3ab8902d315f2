// Crash safety of `flowpulse stream`: the real CLI runs as a child process, is killed with SIGKILL
// mid-stream, restarted, and stopped with SIGTERM. The store must end with exactly the produced
// events: none lost, none doubled (count + checksum over transitions and the derived flow rows).
// This file opens the store itself only after the children are gone (one chDB per data dir).
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Kafka, logLevel, type Admin } from "kafkajs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openStore } from "../store/open.ts";
import type { Store } from "../store/store.ts";
import { kafkaUnavailableReason, startKafka, type KafkaBroker } from "./helpers/kafka-broker.ts";

const unavailable = kafkaUnavailableReason();
const suiteName = unavailable ? `stream crash safety (SKIPPED: ${unavailable})` : "stream crash safety (real broker, CLI child killed with SIGKILL)";
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

describe.skipIf(unavailable !== null)(suiteName, () => {
  const run = `${Date.now().toString(36)}-${process.pid}`;
  const topic = `crash-orders-${run}`;
  const groupId = `crash-${run}`;
  const dir = mkdtempSync(path.join(os.tmpdir(), "flowpulse-crash-"));
  const configFile = path.join(dir, "flowpulse.json");
  let broker: KafkaBroker | null = null;
  let admin: Admin;
  let store: Store | null = null;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    broker = await startKafka();
    if (!broker) throw new Error("startKafka() returned null although java/mvn were found");
    const kafka = new Kafka({ clientId: "crash-test", brokers: broker.brokers, logLevel: logLevel.NOTHING });
    admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 3 }] });
    writeFileSync(
      configFile,
      JSON.stringify({
        store: { kind: "embedded", path: path.join(dir, "data") },
        sources: {
          kafka: {
            brokers: broker.brokers,
            brokers_env: "FLOWPULSE_TEST_NO_SUCH_VAR",
            group_id: groupId,
            topics: [{ topic, contract: "order", source: "crash" }],
            dlq_topic: `crash-dlq-${run}`,
            // Many small flushes, so the kill lands between a store write and an offset commit.
            batch: { max_rows: 1000, max_wait_ms: 200, partitions_concurrently: 3 },
            fetch: { max_bytes_per_partition: 64 * 1024 },
            http: { enabled: false },
          },
        },
      }),
    );
  }, 300_000);

  afterAll(async () => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    await store?.close();
    await admin?.disconnect().catch(() => undefined);
    await broker?.stop();
    rmSync(dir, { recursive: true, force: true });
  }, 120_000);

  const startCli = () => {
    const child = spawn(process.execPath, ["--import", "tsx", path.join(ROOT, "cli/main.ts"), "stream", "--config", configFile], {
      cwd: ROOT,
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    children.push(child);
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve) =>
      child.on("exit", (code, signal) => resolve({ code, signal, stderr })),
    );
    return { child, exited };
  };

  /** Offsets the group has committed, summed over partitions (= events stored and acknowledged). */
  const committed = async () => {
    // A fresh broker creates its offsets topic on first use; until then the coordinator is unknown.
    for (let attempt = 0; ; attempt++) {
      try {
        const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] });
        return offsets!.partitions.reduce((sum, p) => sum + Math.max(0, Number(p.offset)), 0);
      } catch (error) {
        if (attempt >= 50 || !(error as { retriable?: boolean }).retriable) throw error;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
  };
  const waitCommitted = async (atLeast: number, timeoutMs: number) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const n = await committed();
      if (n >= atLeast) return n;
      if (Date.now() > deadline) throw new Error(`only ${n} of ${atLeast} offsets committed within ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };

  it("ends with exactly the produced events after a SIGKILL and a restart", async () => {
    const ORDERS = 10_000;
    const statuses = ["purchased", "approved", "invoiced", "shipped", "delivered"] as const;
    const base = Date.parse("2024-02-01T00:00:00Z");
    let atSum = 0n;
    const messages: { key: string; value: string }[] = [];
    for (let o = 0; o < ORDERS; o++) {
      statuses.forEach((status, i) => {
        const at = base + o * 30_000 + i * 7_200_000;
        atSum += BigInt(at);
        messages.push({ key: `c-${o}`, value: JSON.stringify({ schema: "order.v1", order_id: `c-${o}`, status, event_time: new Date(at).toISOString(), channel: "web" }) });
      });
    }
    const kafka = new Kafka({ clientId: "crash-producer", brokers: broker!.brokers, logLevel: logLevel.NOTHING });
    const producer = kafka.producer();
    await producer.connect();
    for (let i = 0; i < messages.length; i += 5_000) await producer.send({ topic, messages: messages.slice(i, i + 5_000) });
    await producer.disconnect();
    const total = messages.length;

    // First run: killed without warning once about a third is stored.
    const first = startCli();
    await waitCommitted(Math.floor(total / 3), 90_000);
    first.child.kill("SIGKILL");
    const killed = await first.exited;
    expect(killed.signal).toBe("SIGKILL");
    const atKill = await committed();
    expect(atKill).toBeLessThan(total); // really mid-stream

    // Second run: picks up from the committed offsets and replays the uncommitted tail.
    const second = startCli();
    await waitCommitted(total, 90_000);
    second.child.kill("SIGTERM");
    const graceful = await second.exited;
    expect(graceful.code, graceful.stderr).toBe(0);
    expect(graceful.stderr).toMatch(/\[stream\] SIGTERM: finishing the batch/);

    store = await openStore({ kind: "embedded", path: path.join(dir, "data") });
    const [t] = await store.query<{ n: string; ids: string; items: string; at_sum: string; delivered: string }>(
      "SELECT count() AS n, uniqExact(event_id) AS ids, uniqExact(item_id) AS items, toString(sum(toUnixTimestamp64Milli(at))) AS at_sum, " +
        "countIf(to_state = 'delivered') AS delivered FROM transitions FINAL WHERE startsWith(item_id, 'crash:')",
    );
    expect(Number(t!.n)).toBe(total);
    expect(Number(t!.ids)).toBe(total);
    expect(Number(t!.items)).toBe(ORDERS);
    expect(BigInt(t!.at_sum)).toBe(atSum);
    expect(Number(t!.delivered)).toBe(ORDERS);
    const [f] = await store.query<{ items: string; done: string; transitions: string; flow: string }>(
      "SELECT count() AS items, countIf(status = 'done') AS done, sum(transition_count) AS transitions, toString(sum(flow_seconds)) AS flow FROM flow_items WHERE source = 'crash'",
    );
    expect(Number(f!.items)).toBe(ORDERS);
    expect(Number(f!.done)).toBe(ORDERS);
    expect(Number(f!.transitions)).toBe(total);
    // approved -> delivered is 3 steps of 2 hours for every order.
    expect(Number(f!.flow)).toBe(ORDERS * 3 * 7_200);
    const [pending] = await store.query<{ n: string }>("SELECT count() AS n FROM refresh_batches FINAL WHERE state = 'queued'");
    expect(Number(pending!.n)).toBe(0);
  }, 240_000);
});
