// Runs the stream pipeline as a service: the Kafka consumer, plus one small HTTP server with a
// health check (/healthz) and Prometheus text metrics (/metrics). SIGTERM/SIGINT finish the batch in
// hand, commit it and leave the consumer group before the process exits.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { ConfigError, type StoreConfig } from "../../core/config.ts";
import { KafkaConfigSchema, type KafkaConfig } from "./config.ts";
import { FLUSH_BUCKETS, STAGES, StreamConsumer, type StreamConsumerOptions, type StreamStats } from "./consume.ts";
import { openStore } from "../../store/open.ts";
import type { Store } from "../../store/store.ts";

export interface StreamHandle {
  consumer: StreamConsumer;
  /** Port of the health/metrics server, or null when disabled. */
  port: number | null;
  /** Graceful stop: finish and commit the batch in hand, leave the group, close the store. */
  stop(): Promise<void>;
  /** Resolves once the pipeline has stopped (signal or stop()). */
  stopped: Promise<void>;
}

export interface RunStreamOptions {
  store?: Store;
  log?: (line: string) => void;
  handleSignals?: boolean;
  onFlush?: StreamConsumerOptions["onFlush"];
}

/** The slice of the product config the stream reads (the whole config, cli/config.ts, fits it). */
export interface StreamConfig {
  store: StoreConfig;
  sources: { kafka?: KafkaConfig };
}

export function kafkaSection(config: Pick<StreamConfig, "sources">): KafkaConfig {
  if (config.sources.kafka) return config.sources.kafka;
  // No section: every default (topics orders, incidents, flowpulse.events on localhost:9092).
  const parsed = KafkaConfigSchema.safeParse({});
  if (!parsed.success) throw new ConfigError("sources.kafka: the default Kafka config is invalid");
  return parsed.data;
}

export async function runStream(config: StreamConfig, options: RunStreamOptions = {}): Promise<StreamHandle> {
  const log = options.log ?? ((line: string) => process.stderr.write(line + "\n"));
  const kafka = kafkaSection(config);
  const ownStore = !options.store;
  const store = options.store ?? (await openStore(config.store));
  const consumer = new StreamConsumer({ config: kafka, store, log, onFlush: options.onFlush });

  const server = kafka.http.enabled ? await serve(kafka, consumer.stats) : null;
  const port = server ? (server.address() as AddressInfo).port : null;

  let resolveStopped!: () => void;
  const stopped = new Promise<void>((resolve) => (resolveStopped = resolve));
  let stopping: Promise<void> | null = null;
  const onSignal = (signal: NodeJS.Signals) => {
    log(`[stream] ${signal}: finishing the batch in hand and leaving the group`);
    void stop();
  };
  const stop = () => {
    stopping ??= (async () => {
      try {
        await consumer.stop();
      } finally {
        if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
        if (ownStore) await store.close();
        if (options.handleSignals !== false) {
          process.off("SIGTERM", onSignal);
          process.off("SIGINT", onSignal);
        }
        resolveStopped();
      }
    })();
    return stopping;
  };
  if (options.handleSignals !== false) {
    process.on("SIGTERM", onSignal);
    process.on("SIGINT", onSignal);
  }

  try {
    await consumer.start();
  } catch (error) {
    await stop();
    throw error;
  }
  log(`[stream] consuming ${kafka.topics.map((t) => t.topic).join(", ")} as group ${kafka.group_id}${port !== null ? `; metrics on :${port}/metrics` : ""}`);
  return { consumer, port, stop, stopped };
}

function serve(kafka: KafkaConfig, stats: StreamStats): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    const url = (req.url ?? "/").split("?")[0];
    if (url === "/metrics") {
      res.writeHead(200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" });
      res.end(renderMetrics(stats, kafka.http.stuck_after_ms));
    } else if (url === "/healthz" || url === "/health") {
      const up = stats.state === "running" || stats.state === "starting";
      // Up is not enough: a flush that fails on every retry leaves the process running while a
      // partition never moves again.
      const stuck = stats.stuck(kafka.http.stuck_after_ms);
      const healthy = up && stuck.length === 0;
      res.writeHead(healthy ? 200 : 503, { "content-type": "application/json" });
      res.end(
        JSON.stringify({
          status: healthy ? "ok" : up ? "stuck" : "unavailable",
          stuck_partitions: stuck,
          state: stats.state,
          joined_at: stats.joinedAt ? new Date(stats.joinedAt).toISOString() : null,
          last_flush_at: stats.lastFlushAt ? new Date(stats.lastFlushAt).toISOString() : null,
          paused: stats.paused,
          last_error: stats.lastError || null,
        }),
      );
    } else {
      res.writeHead(404, { "content-type": "text/plain" });
      res.end("not found: try /healthz or /metrics\n");
    }
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(kafka.http.port, kafka.http.host, () => resolve(server));
  });
}

const escapeLabel = (value: string) => value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");

/** Prometheus text exposition (format 0.0.4). */
export function renderMetrics(stats: StreamStats, stuckAfterMs: number): string {
  const out: string[] = [];
  const metric = (name: string, type: string, help: string, samples: [string, number][]) => {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, value] of samples) out.push(`${name}${labels} ${value}`);
  };
  const labels = (pairs: Record<string, string>) =>
    `{${Object.entries(pairs)
      .map(([k, v]) => `${k}="${escapeLabel(v)}"`)
      .join(",")}}`;

  metric(
    "flowpulse_stream_events_in_total",
    "counter",
    "Events read from Kafka, valid or not.",
    [...stats.eventsIn].map(([topic, n]) => [labels({ topic }), n]),
  );
  metric("flowpulse_stream_rows_written_total", "counter", "Rows handed to the store, by table.", [
    [labels({ table: "work_items" }), stats.rowsWritten.items],
    [labels({ table: "transitions" }), stats.rowsWritten.transitions],
    [labels({ table: "rejected_records" }), stats.rowsWritten.rejected],
  ]);
  metric(
    "flowpulse_stream_dlq_total",
    "counter",
    "Events sent to a dead-letter topic, by reason.",
    [...stats.dlq].map(([key, n]) => {
      const [dlq = "", topic = "", reason = ""] = key.split("|");
      return [labels({ dlq_topic: dlq, topic, reason }), n];
    }),
  );
  metric(
    "flowpulse_stream_consumer_lag",
    "gauge",
    "Events in the partition not yet stored, as of the last flush.",
    [...stats.lag].map(([key, n]) => {
      const [topic = "", partition = ""] = key.split("|");
      return [labels({ topic, partition }), n];
    }),
  );
  out.push("# HELP flowpulse_stream_flush_seconds Time to store and derive one flush.", "# TYPE flowpulse_stream_flush_seconds histogram");
  FLUSH_BUCKETS.forEach((bound, i) => out.push(`flowpulse_stream_flush_seconds_bucket{le="${bound}"} ${stats.flushHistogram.buckets[i]}`));
  out.push(`flowpulse_stream_flush_seconds_bucket{le="+Inf"} ${stats.flushHistogram.count}`);
  out.push(`flowpulse_stream_flush_seconds_sum ${stats.flushHistogram.sum}`, `flowpulse_stream_flush_seconds_count ${stats.flushHistogram.count}`);
  metric(
    "flowpulse_stream_stage_seconds_total",
    "counter",
    `Where the time goes: ${STAGES.join(", ")} (parse..encode on the decode thread; see docs/events.md).`,
    STAGES.map((stage) => [labels({ stage }), stats.stageSeconds[stage]]),
  );
  metric("flowpulse_stream_flush_failures_total", "counter", "Flushes the store refused (their events are read again).", [["", stats.flushFailures]]);
  metric("flowpulse_stream_rebalances_total", "counter", "Consumer group joins.", [["", stats.rebalances]]);
  metric("flowpulse_stream_pauses_total", "counter", "Times fetching paused because the store fell behind.", [["", stats.pauses]]);
  metric("flowpulse_stream_paused", "gauge", "1 while fetching is paused for back-pressure.", [["", stats.paused ? 1 : 0]]);
  metric("flowpulse_stream_stuck_partitions", "gauge", "Partitions with events to read that have committed nothing for http.stuck_after_ms.", [
    ["", stats.stuck(stuckAfterMs).length],
  ]);
  metric("flowpulse_stream_up", "gauge", "1 while the consumer is running.", [["", stats.state === "running" ? 1 : 0]]);
  metric("process_resident_memory_bytes", "gauge", "Resident set size.", [["", process.memoryUsage.rss()]]);
  return out.join("\n") + "\n";
}
