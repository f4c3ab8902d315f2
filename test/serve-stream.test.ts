// End to end on the real local broker: `flowpulse serve` runs the stream, an order's events are
// produced to Kafka, and `flowpulse metrics time --stream orders` (answered through serve's share
// of the store) shows the order's hand-checked flow time within seconds.
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { Kafka, logLevel } from "kafkajs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { kafkaUnavailableReason, startKafka, type KafkaBroker } from "./helpers/kafka-broker.ts";

const run = promisify(execFile);
const ROOT = path.join(import.meta.dirname, "..");
const CLI = path.join(ROOT, "bin", "flowpulse.js");
const unavailable = kafkaUnavailableReason();
const DAY = 86_400_000;

describe.skipIf(unavailable !== null)(
  unavailable === null ? "flowpulse serve with the stream (real Kafka broker)" : `SKIPPED: serve with the stream — ${unavailable}`,
  () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "flowpulse-serve-stream-"));
    const config = path.join(dir, "flowpulse.yaml");
    let broker: KafkaBroker | null = null;
    let serve: ChildProcess | undefined;

    beforeAll(async () => {
      broker = await startKafka();
      writeFileSync(
        config,
        [
          "store: { kind: embedded, path: " + JSON.stringify(path.join(dir, "data")) + " }",
          "sources:",
          "  kafka:",
          `    brokers: [${broker!.brokers.join(", ")}]`,
          `    group_id: serve-stream-${process.pid}`,
          "    http: { port: 0, host: 127.0.0.1 }",
          "",
        ].join("\n"),
      );
    });
    afterAll(async () => {
      serve?.kill("SIGKILL");
      await broker?.stop();
      rmSync(dir, { recursive: true, force: true });
    });

    const env = { ...process.env, KAFKA_BROKERS: "" };
    const flowTime = async () =>
      JSON.parse((await run(process.execPath, [CLI, "--config", config, "metrics", "time", "--stream", "orders", "--format", "json"], { cwd: ROOT, env })).stdout) as {
        flow_type: string; items: number; p50_days: number;
      }[];

    it("shows a produced order's flow time within seconds", async () => {
      serve = spawn(process.execPath, [CLI, "--config", config, "serve"], { cwd: ROOT, env, stdio: ["ignore", "ignore", "pipe"] });
      let log = "";
      await new Promise<void>((resolve, reject) => {
        serve!.stderr!.on("data", (chunk: Buffer) => {
          log += chunk.toString();
          if (log.includes("[serve] running")) resolve();
        });
        serve!.once("exit", (code) => reject(new Error(`serve exited (${code}): ${log}`)));
      });
      expect(log).toMatch(/running: store shared at http:\/\/127\.0\.0\.1:\d+; stream/);
      expect(await flowTime()).toEqual([]);

      // Purchased 5 days ago, approved 4 days ago (the start: first active state), shipped 3 days
      // ago (waiting), delivered a day ago (done): flow time 4 - 1 = 3 days.
      const now = Date.now();
      const at = (daysAgo: number) => new Date(now - daysAgo * DAY).toISOString();
      const events = [
        ["purchased", 5], ["approved", 4], ["invoiced", 3.5], ["shipped", 3], ["delivered", 1],
      ].map(([status, daysAgo]) => ({ key: "O-1", value: JSON.stringify({ schema: "order.v1", order_id: "O-1", status, event_time: at(daysAgo as number) }) }));
      const producer = new Kafka({ brokers: broker!.brokers, logLevel: logLevel.NOTHING }).producer();
      await producer.connect();
      await producer.send({ topic: "orders", messages: events });
      await producer.disconnect();

      const deadline = Date.now() + 20_000;
      let rows = await flowTime();
      while (rows.length === 0 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 250));
        rows = await flowTime();
      }
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({ flow_type: "order", items: 1, p50_days: 3 });

      const exited = new Promise<number | null>((resolve) => serve!.once("exit", resolve));
      serve.kill("SIGTERM");
      expect(await exited).toBe(0);
    }, 120_000);
  },
);
