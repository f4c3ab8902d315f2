// `flowpulse stream`: runs the Kafka stream pipeline from config until SIGTERM/SIGINT, then stops
// cleanly (batch in hand stored and committed, consumer group left).
import type { CommandContext } from "../context.ts";
import { UsageError } from "../errors.ts";
import { kafkaSection, runStream } from "../../connectors/kafka/run.ts";

export interface StreamCommandOptions {
  /** Comma-separated host:port list; overrides config and $KAFKA_BROKERS. */
  brokers?: string;
  group?: string;
  /** Port of /healthz and /metrics (0 = any free port). */
  port?: string;
}

export const STREAM_USAGE = "flowpulse stream [--brokers HOST:PORT,...] [--group ID] [--port N]";

export async function streamCommand(context: CommandContext, options: StreamCommandOptions = {}): Promise<number> {
  const kafka = kafkaSection(context.config);
  if (options.brokers !== undefined) {
    const brokers = options.brokers.split(",").map((b) => b.trim()).filter(Boolean);
    if (brokers.length === 0 || brokers.some((b) => !/^[^\s:]+:\d{1,5}$/.test(b))) {
      throw new UsageError(`--brokers must be host:port[,host:port...] (got "${options.brokers}")`);
    }
    kafka.brokers = brokers;
    // An explicit option beats the environment.
    kafka.brokers_env = "";
  }
  if (options.group !== undefined) {
    if (!options.group.trim()) throw new UsageError("--group must not be empty");
    kafka.group_id = options.group;
  }
  if (options.port !== undefined) {
    const port = Number(options.port);
    if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new UsageError(`--port must be 0-65535 (got "${options.port}")`);
    kafka.http.port = port;
  }
  const config = { ...context.config, sources: { ...context.config.sources, kafka } };
  const handle = await runStream(config, { log: (line) => context.err(line + "\n") });
  await handle.stopped;
  const stats = handle.consumer.stats;
  context.err(
    `[stream] stopped: ${stats.totalEventsIn()} events read, ${stats.rowsWritten.transitions} transitions stored, ` +
      `${stats.totalDlq()} dead-lettered\n`,
  );
  return stats.state === "crashed" ? 1 : 0;
}
