// Consumes event topics into the store. Delivery is at least once; the store is idempotent (stable
// event ids, tables that collapse repeats), so metrics count every event exactly once:
//  - offsets are resolved and committed only after the store holds (and has derived) the events;
//  - a crash or rebalance before that replays the events, which collapse onto the stored rows.
// Partition batches decoded at the same time share one flush (group commit), so inserts carry
// thousands of rows; a flush also happens at max_rows and after max_wait_ms.
import { performance } from "node:perf_hooks";
import { Kafka, logLevel, type Consumer, type EachBatchPayload, type KafkaMessage, type Message, type Producer } from "kafkajs";
import { fromClickHouseTime } from "../../core/time.ts";
import type { Rejection, Transition, WorkItem } from "../../core/model.ts";
import { FlowSink } from "../../pipeline/sink.ts";
import { sqlFile } from "../../store/sql.ts";
import type { Store } from "../../store/store.ts";
import { dlqTopicOf, resolveBrokers, type KafkaConfig, type TopicConfig } from "./config.ts";
import { mapEvent, mergeItem, parseEvent, validateEvent, withDefaultTitle, type Mapped, type Parsed, type RejectReason, type Validated } from "./map.ts";

/** Upper bounds (seconds) of the flush latency histogram. */
export const FLUSH_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30] as const;
export const STAGES = ["parse", "validate", "map", "lookup", "insert", "derive", "dlq"] as const;
export type Stage = (typeof STAGES)[number];

/** Counters and gauges the HTTP endpoint exposes; plain numbers so reading them is free. */
export class StreamStats {
  state: "starting" | "running" | "stopping" | "stopped" | "crashed" = "starting";
  lastError = "";
  joinedAt = 0;
  lastFlushAt = 0;
  readonly eventsIn = new Map<string, number>();
  readonly dlq = new Map<string, number>();
  readonly lag = new Map<string, number>();
  rowsWritten = { items: 0, transitions: 0, rejected: 0 };
  flushes = 0;
  flushFailures = 0;
  rebalances = 0;
  pauses = 0;
  paused = false;
  readonly stageSeconds: Record<Stage, number> = { parse: 0, validate: 0, map: 0, lookup: 0, insert: 0, derive: 0, dlq: 0 };
  readonly flushHistogram = { buckets: FLUSH_BUCKETS.map(() => 0), count: 0, sum: 0 };

  add(map: Map<string, number>, key: string, by = 1) {
    map.set(key, (map.get(key) ?? 0) + by);
  }

  observeFlush(seconds: number) {
    FLUSH_BUCKETS.forEach((bound, i) => {
      if (seconds <= bound) this.flushHistogram.buckets[i]! += 1;
    });
    this.flushHistogram.count += 1;
    this.flushHistogram.sum += seconds;
  }

  totalEventsIn(): number {
    let total = 0;
    for (const n of this.eventsIn.values()) total += n;
    return total;
  }

  totalDlq(): number {
    let total = 0;
    for (const n of this.dlq.values()) total += n;
    return total;
  }
}

/** Serializes store work of consumers that share one store (one chDB session per process). */
export class StoreLock {
  private tail: Promise<unknown> = Promise.resolve();
  run<T>(work: () => Promise<T>): Promise<T> {
    const next = this.tail.then(work, work);
    this.tail = next.catch(() => undefined);
    return next;
  }
}

export interface FlushInfo {
  events: number;
  items: number;
  transitions: number;
  rejected: number;
  /** Producer timestamps (ms) of the flushed events, for event-to-queryable latency. */
  timestamps: number[];
  /** When the events became queryable (derived rows written). */
  doneAt: number;
}

export interface StreamConsumerOptions {
  config: KafkaConfig;
  store: Store;
  brokers?: string[];
  lock?: StoreLock;
  log?: (line: string) => void;
  onFlush?: (info: FlushInfo) => void;
}

interface Pending {
  items: Map<string, WorkItem>;
  /** Items whose created_at is the earliest event seen (order/incident topics). */
  derivedCreated: Set<string>;
  /** Items whose creation event is in this unit: their stored row has nothing earlier to add. */
  created: Set<string>;
  transitions: Transition[];
  rejections: Rejection[];
  dead: Map<string, Message[]>;
  events: number;
  timestamps: number[];
  sealed: boolean;
  timer: NodeJS.Timeout | null;
  done: Promise<void>;
  resolve: () => void;
  reject: (error: unknown) => void;
}

function newPending(): Pending {
  let resolve!: () => void;
  let reject!: (error: unknown) => void;
  const done = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // A failed flush is reported to the handlers that wait on it; never an unhandled rejection.
  done.catch(() => undefined);
  return {
    items: new Map(),
    derivedCreated: new Set(),
    created: new Set(),
    transitions: [],
    rejections: [],
    dead: new Map(),
    events: 0,
    timestamps: [],
    sealed: false,
    timer: null,
    done,
    resolve,
    reject,
  };
}

const DECODE_CHUNK = 2_000;
const MAX_DETAIL = 1_000;

export class StreamConsumer {
  readonly stats = new StreamStats();
  private readonly kafka: Kafka;
  private readonly topics: Map<string, TopicConfig>;
  private readonly sink: FlowSink;
  private readonly lock: StoreLock;
  private readonly log: (line: string) => void;
  private consumer: Consumer | null = null;
  private producer: Producer | null = null;
  private current = newPending();
  private flushChain: Promise<void> = Promise.resolve();
  private inFlightEvents = 0;
  private active = 0;
  private waiting = 0;

  constructor(private readonly options: StreamConsumerOptions) {
    const { config } = options;
    this.log = options.log ?? ((line) => process.stderr.write(line + "\n"));
    this.topics = new Map(config.topics.map((t) => [t.topic, t]));
    this.sink = new FlowSink(options.store);
    this.lock = options.lock ?? new StoreLock();
    this.kafka = new Kafka({
      clientId: config.client_id,
      brokers: options.brokers ?? resolveBrokers(config),
      logLevel: logLevel.WARN,
      logCreator: () => (entry) => {
        const { message, error } = entry.log as { message: string; error?: string };
        // Rebalances are routine; they are counted, not shouted about.
        if (/rebalanc/i.test(`${message} ${error ?? ""}`)) return;
        this.log(`[kafka] ${entry.namespace}: ${message}${error ? ` (${error})` : ""}`);
      },
    });
  }

  async start(): Promise<void> {
    const { config } = this.options;
    this.producer = this.kafka.producer({ allowAutoTopicCreation: true });
    await this.producer.connect();
    const consumer = this.kafka.consumer({
      groupId: config.group_id,
      sessionTimeout: config.session_timeout_ms,
      maxBytesPerPartition: config.fetch.max_bytes_per_partition,
      maxBytes: config.fetch.max_bytes,
      maxWaitTimeInMs: config.fetch.max_wait_ms,
      allowAutoTopicCreation: true,
    });
    this.consumer = consumer;
    consumer.on(consumer.events.GROUP_JOIN, () => {
      this.stats.rebalances += 1;
      this.stats.joinedAt = Date.now();
      if (this.stats.state === "starting") this.stats.state = "running";
    });
    consumer.on(consumer.events.CRASH, (event) => {
      const { error, restart } = event.payload as { error: Error; restart: boolean };
      this.stats.lastError = error.message;
      this.log(`[stream] consumer error: ${error.message}${restart ? " (restarting)" : ""}`);
      if (!restart) this.stats.state = "crashed";
    });
    await consumer.connect();
    await consumer.subscribe({ topics: [...this.topics.keys()], fromBeginning: config.from_beginning });
    await consumer.run({
      autoCommit: true,
      // commitOffsetsIfNecessary commits whenever an offset was resolved, i.e. after every flush.
      autoCommitThreshold: 1,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: config.batch.partitions_concurrently,
      eachBatch: (payload) => this.handleBatch(payload),
    });
  }

  /** Finishes the batches in hand, stores and commits them, then leaves the group. */
  async stop(): Promise<void> {
    if (this.stats.state === "stopped") return;
    this.stats.state = "stopping";
    try {
      await this.consumer?.disconnect();
    } finally {
      this.seal(this.current);
      await this.flushChain;
      await this.producer?.disconnect();
      this.stats.state = "stopped";
    }
  }

  private async handleBatch(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    const topic = this.topics.get(batch.topic);
    if (!topic) return;
    const { max_rows, max_wait_ms } = this.options.config.batch;
    const mine = new Set<Pending>();
    let decodedUpTo: string | null = null;
    let resolvedUpTo: string | null = null;
    let lastBarrier = Date.now();
    const settle = async (force: boolean) => {
      if (decodedUpTo === null || decodedUpTo === resolvedUpTo) return;
      await this.barrier(mine, force);
      lastBarrier = Date.now();
      // A revoked partition belongs to another member now; its offsets are not ours to commit.
      if (payload.isStale()) return;
      payload.resolveOffset(decodedUpTo);
      resolvedUpTo = decodedUpTo;
      this.stats.lag.set(`${batch.topic}|${batch.partition}`, Math.max(0, Number(batch.highWatermark) - Number(decodedUpTo) - 1));
      await payload.commitOffsetsIfNecessary();
    };
    this.active += 1;
    try {
      const messages = batch.messages;
      for (let start = 0; start < messages.length; start += DECODE_CHUNK) {
        if (!payload.isRunning() || payload.isStale()) break;
        const end = Math.min(messages.length, start + DECODE_CHUNK);
        this.decode(topic, batch.partition, messages, start, end, mine);
        decodedUpTo = messages[end - 1]!.offset;
        if (this.current.events >= max_rows || Date.now() - lastBarrier >= max_wait_ms) await settle(true);
        await payload.heartbeat();
      }
      await settle(false);
    } finally {
      this.active -= 1;
      this.maybeSeal();
    }
  }

  private decode(topic: TopicConfig, partition: number, messages: KafkaMessage[], start: number, end: number, mine: Set<Pending>) {
    const t0 = performance.now();
    const parsed: Parsed[] = [];
    for (let i = start; i < end; i++) parsed.push(parseEvent(messages[i]!.value));
    const t1 = performance.now();
    const validated: (Validated | null)[] = parsed.map((p) => (p.ok ? validateEvent(topic, p.value) : null));
    const t2 = performance.now();
    const mapped: Mapped[] = validated.map((v, i) => (v === null ? (parsed[i] as Mapped) : v.ok ? mapEvent(topic, v.event) : v));
    const t3 = performance.now();
    this.stats.stageSeconds.parse += (t1 - t0) / 1000;
    this.stats.stageSeconds.validate += (t2 - t1) / 1000;
    this.stats.stageSeconds.map += (t3 - t2) / 1000;

    const pending = this.current;
    if (pending.events === 0) this.startTimer(pending);
    mine.add(pending);
    for (let i = 0; i < mapped.length; i++) {
      const result = mapped[i]!;
      const message = messages[start + i]!;
      pending.events += 1;
      pending.timestamps.push(Number(message.timestamp));
      if (result.ok) {
        if (result.item) {
          const known = pending.items.get(result.item.item_id);
          pending.items.set(result.item.item_id, known ? mergeItem(known, result.item) : result.item);
          if (topic.contract !== "canonical") {
            pending.derivedCreated.add(result.item.item_id);
            if (result.transition?.from_state === "") pending.created.add(result.item.item_id);
          }
        }
        if (result.transition) pending.transitions.push(result.transition);
      } else {
        this.addDeadLetter(pending, topic, partition, message, result.reason, result.detail);
      }
    }
    this.stats.add(this.stats.eventsIn, topic.topic, end - start);
    this.applyBackPressure();
  }

  private addDeadLetter(pending: Pending, topic: TopicConfig, partition: number, message: KafkaMessage, reason: RejectReason, detail: string) {
    const dlq = dlqTopicOf(this.options.config, topic);
    const text = message.value ? message.value.toString("utf8") : "";
    const list = pending.dead.get(dlq) ?? [];
    list.push({
      key: message.key,
      value: message.value,
      headers: {
        reason,
        detail: detail.slice(0, MAX_DETAIL),
        source_topic: topic.topic,
        source_partition: String(partition),
        source_offset: message.offset,
        source_timestamp: message.timestamp,
      },
    });
    pending.dead.set(dlq, list);
    pending.rejections.push({
      source: "kafka",
      reference: `${topic.topic}/${partition}@${message.offset}`,
      reason: `${reason}: ${detail}`,
      payload: text,
    });
  }

  /** Waits until every pending unit this handler added to is stored. */
  private async barrier(mine: Set<Pending>, force: boolean): Promise<void> {
    this.waiting += 1;
    try {
      if (force && mine.has(this.current)) this.seal(this.current);
      else this.maybeSeal();
      const waits = [...mine].map((p) => p.done);
      mine.clear();
      await Promise.all(waits);
    } finally {
      this.waiting -= 1;
    }
  }

  /** Group commit: flush once every running handler is waiting, so nobody waits for nothing. */
  private maybeSeal() {
    if (this.current.events > 0 && this.waiting >= this.active) this.seal(this.current);
  }

  private startTimer(pending: Pending) {
    pending.timer = setTimeout(() => this.seal(pending), this.options.config.batch.max_wait_ms);
    pending.timer.unref();
  }

  private seal(pending: Pending) {
    if (pending.sealed) return;
    pending.sealed = true;
    if (pending.timer) clearTimeout(pending.timer);
    if (pending === this.current) this.current = newPending();
    this.inFlightEvents += pending.events;
    this.flushChain = this.flushChain.then(() => this.flush(pending));
  }

  /** Never throws: a failure rejects the unit's promise, so its handlers re-read those events. */
  private async flush(pending: Pending): Promise<void> {
    try {
      if (pending.events > 0) await this.lock.run(() => this.store(pending));
      pending.resolve();
    } catch (error) {
      this.stats.flushFailures += 1;
      this.stats.lastError = (error as Error).message;
      this.log(`[stream] flush of ${pending.events} events failed, they will be read again: ${(error as Error).message}`);
      pending.reject(error);
    } finally {
      this.inFlightEvents -= pending.events;
      this.applyBackPressure();
    }
  }

  private async store(pending: Pending): Promise<void> {
    const started = performance.now();
    const stage = this.stats.stageSeconds;
    let t = started;
    const lap = (name: Stage) => {
      const now = performance.now();
      stage[name] += (now - t) / 1000;
      t = now;
    };
    // Dead letters first: once the offsets move on, the DLQ is the only copy of a bad event.
    if (pending.dead.size > 0 && this.producer) {
      await this.producer.sendBatch({ topicMessages: [...pending.dead].map(([topic, messages]) => ({ topic, messages })) });
      for (const [topic, messages] of pending.dead) {
        for (const m of messages) this.stats.add(this.stats.dlq, `${topic}|${m.headers?.source_topic}|${m.headers?.reason}`);
      }
    }
    await this.sink.reject(pending.rejections);
    lap("dlq");
    // Only items seen before (their creation event is not in this unit) need what the store knows.
    const lookup = [...pending.derivedCreated].filter((id) => !pending.created.has(id));
    if (lookup.length > 0) {
      const known = await this.options.store.query<{ item_id: string; created_at: string; title: string; team: string; labels: string[] }>(
        sqlFile("queries/stream_known_items.sql"),
        { ids: lookup },
      );
      for (const row of known) {
        const item = pending.items.get(row.item_id);
        if (item) pending.items.set(row.item_id, mergeItem({ ...row, created_at: fromClickHouseTime(row.created_at) }, item));
      }
    }
    for (const id of pending.derivedCreated) pending.items.set(id, withDefaultTitle(pending.items.get(id)!));
    lap("lookup");
    const items = [...pending.items.values()];
    await this.sink.write({ items, transitions: pending.transitions });
    lap("insert");
    await this.sink.commit();
    lap("derive");
    const doneAt = Date.now();
    this.stats.rowsWritten.items += items.length;
    this.stats.rowsWritten.transitions += pending.transitions.length;
    this.stats.rowsWritten.rejected += pending.rejections.length;
    this.stats.flushes += 1;
    this.stats.lastFlushAt = doneAt;
    this.stats.observeFlush((performance.now() - started) / 1000);
    this.options.onFlush?.({
      events: pending.events,
      items: items.length,
      transitions: pending.transitions.length,
      rejected: pending.rejections.length,
      timestamps: pending.timestamps,
      doneAt,
    });
  }

  /** Pauses fetching while the store is behind by more than max_pending_rows events. */
  private applyBackPressure() {
    const consumer = this.consumer;
    if (!consumer) return;
    const { max_pending_rows } = this.options.config.batch;
    const pending = this.inFlightEvents + (this.current.sealed ? 0 : this.current.events);
    const topics = [...this.topics.keys()].map((topic) => ({ topic }));
    if (!this.stats.paused && pending > max_pending_rows) {
      consumer.pause(topics);
      this.stats.paused = true;
      this.stats.pauses += 1;
    } else if (this.stats.paused && pending <= max_pending_rows / 2) {
      consumer.resume(topics);
      this.stats.paused = false;
    }
  }
}
