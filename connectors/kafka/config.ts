// The Kafka stream pipeline's config section (`sources.kafka:` in flowpulse.yaml). Which topics to
// read, which event contract each carries, and how its statuses map to value streams and flow states.
import { z } from "zod";
import { FlowStateSchema } from "../../core/model.ts";

export const CONTRACTS = ["order", "incident", "canonical"] as const;
export type ContractName = (typeof CONTRACTS)[number];

/**
 * Default status -> flow state maps, per contract. Why these:
 * - order: `purchased` is a placed order nobody has acted on yet (backlog: new). Approving the
 *   payment and invoicing/picking are the seller's own work (active). `shipped` means handed to
 *   the carrier: the order is out of the seller's hands until delivery, so it is waiting, which is
 *   exactly the part flow efficiency should expose. `delivered` is done.
 * - incident: `on_hold` is waiting whatever the hold reason (user, vendor, problem): someone else
 *   has the ball. `resolved` is done (the service is restored; `closed` only confirms it), so the
 *   trailing done run starts at `resolved` and flow time ends there.
 */
export const DEFAULT_STATES: Record<Exclude<ContractName, "canonical">, Record<string, z.infer<typeof FlowStateSchema>>> = {
  order: { purchased: "new", approved: "active", invoiced: "active", shipped: "waiting", delivered: "done", canceled: "canceled" },
  incident: { new: "new", in_progress: "active", on_hold: "waiting", resolved: "done", closed: "done", canceled: "canceled" },
};

const DEFAULT_STREAM: Record<Exclude<ContractName, "canonical">, { stream: string; flow_type: string }> = {
  order: { stream: "orders", flow_type: "order" },
  incident: { stream: "incidents", flow_type: "incident" },
};

const TopicName = z
  .string()
  .regex(/^[A-Za-z0-9._-]{1,249}$/, { message: "a Kafka topic name: letters, digits, '.', '_' or '-', at most 249 characters" });

export const TopicConfigSchema = z
  .strictObject({
    topic: TopicName,
    contract: z.enum(CONTRACTS).describe("event contract the topic carries: order | incident | canonical (see docs/events.md)"),
    stream: z.string().min(1).optional().describe("value stream of its items (default: orders / incidents; canonical events name their own)"),
    flow_type: z.string().min(1).optional().describe("flow item type of its items (default: order / incident)"),
    source: z.string().min(1).optional().describe("item ids are <source>:<key>; default: the topic name"),
    states: z
      .record(z.string(), FlowStateSchema)
      .optional()
      .describe("status -> flow state; replaces the contract's default map (an unmapped status goes to the dead-letter topic)"),
    dlq_topic: TopicName.optional().describe("dead-letter topic for this topic's bad events (default: sources.kafka.dlq_topic)"),
  })
  .transform((topic) => {
    if (topic.contract === "canonical") return { ...topic, source: topic.source ?? topic.topic, states: topic.states ?? {} };
    return {
      ...topic,
      stream: topic.stream ?? DEFAULT_STREAM[topic.contract].stream,
      flow_type: topic.flow_type ?? DEFAULT_STREAM[topic.contract].flow_type,
      source: topic.source ?? topic.topic,
      states: topic.states ?? DEFAULT_STATES[topic.contract],
    };
  });
export type TopicConfig = z.output<typeof TopicConfigSchema>;

export const DEFAULT_TOPICS = [
  { topic: "orders", contract: "order" },
  { topic: "incidents", contract: "incident" },
  { topic: "flowpulse.events", contract: "canonical" },
] as const;

export const KafkaConfigSchema = z
  .strictObject({
    brokers: z
      .array(z.string().regex(/^[^\s:]+:\d{1,5}$/, { message: "a broker address host:port, e.g. localhost:9092" }))
      .min(1, { message: "list at least one broker, e.g. [localhost:9092]" })
      .default(["localhost:9092"]),
    brokers_env: z
      .string()
      .default("KAFKA_BROKERS")
      .describe("environment variable that, when set, overrides brokers (comma-separated host:port)"),
    client_id: z.string().min(1).default("flowpulse"),
    group_id: z.string().min(1).default("flowpulse-stream").describe("consumer group; run more processes with the same id to share partitions"),
    from_beginning: z.boolean().default(true).describe("a new group starts at the earliest retained event (true) or only new ones"),
    topics: z
      .array(TopicConfigSchema)
      .min(1, { message: "list at least one topic" })
      .default(() => DEFAULT_TOPICS.map((t) => TopicConfigSchema.parse(t)))
      .refine((topics) => new Set(topics.map((t) => t.topic)).size === topics.length, { message: "a topic is listed twice" }),
    dlq_topic: TopicName.default("flowpulse.dlq").describe("dead-letter topic for events that cannot be read"),
    create_missing_topics: z
      .boolean()
      .default(true)
      .describe("create source and dead-letter topics the broker lacks at start (false: stop with their names instead)"),
    batch: z
      .strictObject({
        max_rows: z.number().int().positive().default(100_000).describe("flush to the store at this many events"),
        max_wait_ms: z.number().int().positive().default(1_000).describe("flush at least this often while a batch is open"),
        max_pending_rows: z
          .number()
          .int()
          .positive()
          .default(400_000)
          .describe("pause fetching while this many events wait for the store (back-pressure)"),
        partitions_concurrently: z.number().int().positive().default(4).describe("partition batches decoded at once; they share a flush"),
      })
      .prefault({})
      .refine((b) => b.max_pending_rows >= b.max_rows, { message: "max_pending_rows must be at least max_rows" }),
    fetch: z
      .strictObject({
        // kafkajs decodes a whole fetch response in one synchronous stretch, which delays every
        // store step waiting on the event loop: ~1 MB per partition kept the stream fastest.
        max_bytes_per_partition: z.number().int().positive().default(1024 * 1024),
        max_bytes: z.number().int().positive().default(4 * 1024 * 1024),
        max_wait_ms: z.number().int().nonnegative().default(200).describe("how long the broker may hold a fetch to fill it"),
      })
      .prefault({}),
    session_timeout_ms: z.number().int().min(6_000).default(30_000),
    http: z
      .strictObject({
        port: z.number().int().min(0).max(65_535).default(9464).describe("health and Prometheus metrics; 0 picks a free port"),
        host: z.string().default("0.0.0.0"),
        enabled: z.boolean().default(true),
        stuck_after_ms: z
          .number()
          .int()
          .positive()
          .default(120_000)
          .describe("/healthz answers 503 while a partition holding events read but not committed has committed nothing for this long"),
      })
      .prefault({}),
  })
  .superRefine((config, ctx) => {
    const names = new Set(config.topics.map((t) => t.topic));
    for (const dlq of [config.dlq_topic, ...config.topics.map((t) => t.dlq_topic)]) {
      if (dlq && names.has(dlq)) ctx.addIssue({ code: "custom", path: ["dlq_topic"], message: `dead-letter topic ${dlq} is also a source topic` });
    }
  });
export type KafkaConfig = z.output<typeof KafkaConfigSchema>;

/** Brokers from the environment variable named by brokers_env, else from the file. */
export function resolveBrokers(config: KafkaConfig, env: NodeJS.ProcessEnv = process.env): string[] {
  const fromEnv = env[config.brokers_env];
  if (fromEnv && fromEnv.trim()) return fromEnv.split(",").map((b) => b.trim()).filter(Boolean);
  return config.brokers;
}

export function dlqTopicOf(config: KafkaConfig, topic: TopicConfig): string {
  return topic.dlq_topic ?? config.dlq_topic;
}
