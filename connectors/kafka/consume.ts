// Consumes event topics into the store. Delivery is at least once; the store is idempotent (stable
// event ids, tables that collapse repeats), so metrics count every event exactly once:
//  - offsets are committed (by hand, autoCommit off) only after the store holds and has derived
//    the events of a flush unit; flush units are committed strictly in order;
//  - a crash or rebalance before that replays the events, which collapse onto the stored rows.
// Three things run side by side, each in order: decoding (JSON, validation, mapping, row encoding)
// on a decode thread (decoder.ts), storing unit N+1 (lookup + insert) and deriving unit N (the store
// runs statements in flight together in parallel). The event loop only fetches, copies message
// values to the decode thread and drives the store, so store steps do not queue behind JSON work.
// Handlers hand chunks to the decode thread and return (their offsets are resolved so kafkajs fetches
// on) while earlier units are written. A unit is sealed at max_rows, after max_wait_ms, or as soon
// as the store is idle (low latency when traffic is light, big units when the store is the
// bottleneck). max_pending_rows and UNITS_IN_FLIGHT bound what waits in memory.
import { performance } from "node:perf_hooks";
import { Kafka, logLevel, Partitioners, type Consumer, type EachBatchPayload, type KafkaMessage, type Producer } from "kafkajs";
import { fromClickHouseTime } from "../../core/time.ts";
import type { Rejection } from "../../core/model.ts";
import { FlowSink } from "../../pipeline/sink.ts";
import { sqlFile } from "../../store/sql.ts";
import type { Store } from "../../store/store.ts";
import { dlqTopicOf, resolveBrokers, type KafkaConfig, type TopicConfig } from "./config.ts";
import { DeadLetterWriter, REFERENCE_PREFIX_BYTES, type DeadLetter } from "./dead-letters.ts";
import { Decoder, type KnownRow } from "./decoder.ts";
import { writeLifecycleRanks } from "./lifecycle.ts";
import { MAX_EVENT_BYTES, type RejectReason } from "./map.ts";

/** Upper bounds (seconds) of the flush latency histogram. */
export const FLUSH_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30] as const;
/**
 * Where the time goes. parse, validate, map (incl. merging an item's events) and encode are busy
 * time of the decode thread; lookup, insert, derive and dlq are store steps as the pipeline waits
 * for them; decode_wait is a sealed unit waiting for its last chunks to be decoded; store_wait is
 * handlers held back because UNITS_IN_FLIGHT units already wait for the store.
 */
export const STAGES = ["parse", "validate", "map", "encode", "lookup", "insert", "derive", "dlq", "decode_wait", "store_wait"] as const;
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
  readonly stageSeconds = Object.fromEntries(STAGES.map((stage) => [stage, 0])) as Record<Stage, number>;
  readonly flushHistogram = { buckets: FLUSH_BUCKETS.map(() => 0), count: 0, sum: 0 };
  /** Per assigned partition: committed offset, high watermark last fetched, and since when it has waited for a commit. */
  readonly partitions = new Map<string, PartitionProgress>();

  /**
   * A fetch returned events of the partition, [firstOffset, lastOffset]. A partition that had
   * committed all it read starts waiting for its next commit now.
   */
  fetched(topic: string, partition: number, highWatermark: string, firstOffset: string, lastOffset: string, now = Date.now()) {
    const key = `${topic}|${partition}`;
    const end = Number(lastOffset) + 1;
    const entry = this.partitions.get(key);
    if (!entry) {
      this.partitions.set(key, { topic, partition, committed: Number(firstOffset), read: end, high: Number(highWatermark), progressAt: now });
      return;
    }
    if (entry.read <= entry.committed) entry.progressAt = now;
    entry.read = Math.max(entry.read, end);
    entry.high = Math.max(entry.high, Number(highWatermark));
  }

  committed(topic: string, partition: number, offset: string, highWatermark: string, now = Date.now()) {
    const key = `${topic}|${partition}`;
    const entry = this.partitions.get(key) ?? { topic, partition, committed: 0, read: 0, high: 0, progressAt: now };
    entry.committed = Number(offset);
    entry.high = Math.max(entry.high, Number(highWatermark));
    entry.progressAt = now;
    this.partitions.set(key, entry);
  }

  /**
   * Partitions holding events read but not committed whose committed offset has not moved for
   * afterMs. Judged by what was read, not by the high watermark: a transaction's commit marker
   * takes an offset no event is read from, so such a partition's lag never reaches zero.
   */
  stuck(afterMs: number, now = Date.now()): { topic: string; partition: number; lag: number; since: string }[] {
    const out = [];
    for (const p of this.partitions.values()) {
      if (p.read > p.committed && now - p.progressAt > afterMs) {
        out.push({ topic: p.topic, partition: p.partition, lag: p.high - p.committed, since: new Date(p.progressAt).toISOString() });
      }
    }
    return out;
  }

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

export interface PartitionProgress {
  topic: string;
  partition: number;
  committed: number;
  /** One past the last offset a fetch returned. */
  read: number;
  high: number;
  progressAt: number;
}

/**
 * Orders store work of consumers that share one store: inserts one unit at a time, derives one
 * unit at a time. An insert and a derive may run together (the store runs them in parallel).
 */
export class StoreLock {
  private readonly tails = { insert: Promise.resolve() as Promise<unknown>, derive: Promise.resolve() as Promise<unknown> };
  run<T>(lane: "insert" | "derive", work: () => Promise<T>): Promise<T> {
    const next = this.tails[lane].then(work, work);
    this.tails[lane] = next.catch(() => undefined);
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
  /** Names the unit's decode state on the decode thread. */
  id: number;
  /** Consumer epoch the unit was decoded in; a failed flush starts a new one (see finish). */
  epoch: number;
  /** Next offset to commit per partition once the unit is stored: `topic|partition` -> offset. */
  offsets: Map<string, { topic: string; partition: number; offset: string; highWatermark: string }>;
  /** Chunks handed to the decode thread; the unit is stored once all have come back. */
  decoding: Promise<void>[];
  rejections: Rejection[];
  dead: Map<string, DeadLetter[]>;
  events: number;
  timestamps: number[];
  sealed: boolean;
  timer: NodeJS.Timeout | null;
  /** Its own unit of work: unit N+1 is written while unit N derives. */
  sink: FlowSink | null;
}

interface Stored {
  items: number;
  transitions: number;
  started: number;
}

/** Messages per decode request (the benchmark decodes in the same chunks). */
export const DECODE_CHUNK = 2_000;
const MAX_DETAIL = 1_000;
/**
 * Sealed units that may wait for the store: one deriving, one being written, one ready. Decoding
 * further ahead gains nothing (the store is the bottleneck then) and only costs memory and latency,
 * so a handler waits here, which also stops kafkajs from fetching more (it fetches after handlers).
 */
const UNITS_IN_FLIGHT = 3;
/** The longest pause before events of a failed flush are read again. */
const MAX_RETRY_PAUSE_MS = 10_000;

export class StreamConsumer {
  readonly stats = new StreamStats();
  private readonly kafka: Kafka;
  private readonly topics: Map<string, { config: TopicConfig; index: number }>;
  private readonly decoder: Decoder;
  private readonly lock: StoreLock;
  private readonly log: (line: string) => void;
  private consumer: Consumer | null = null;
  private producer: Producer | null = null;
  private deadLetters: DeadLetterWriter | null = null;
  private epoch = 0;
  private units = 0;
  private current: Pending;
  /** Stage one, in unit order: dead letters, lookup, insert. */
  private storeChain: Promise<unknown> = Promise.resolve();
  /** Stage two, in unit order: derive, commit. */
  private flushChain: Promise<void> = Promise.resolve();
  private inFlightEvents = 0;
  private flushesInFlight = 0;
  private active = 0;
  private stopping = false;
  /** First offset not yet committed per partition: where to seek back after a failed flush. */
  private readonly uncommitted = new Map<string, { topic: string; partition: number; offset: string }>();
  private roomWaiters: (() => void)[] = [];
  /** Failed flushes since the last commit, and when reading may start again after the last one. */
  private failures = 0;
  private retryAt = 0;

  constructor(private readonly options: StreamConsumerOptions) {
    const { config } = options;
    this.log = options.log ?? ((line) => process.stderr.write(line + "\n"));
    this.topics = new Map(config.topics.map((t, index) => [t.topic, { config: t, index }]));
    this.decoder = new Decoder(config.topics, (message) => this.log(`[stream] ${message}`));
    this.lock = options.lock ?? new StoreLock();
    this.current = this.newPending();
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

  private newPending(): Pending {
    return {
      id: ++this.units,
      epoch: this.epoch,
      offsets: new Map(),
      decoding: [],
      rejections: [],
      dead: new Map(),
      events: 0,
      timestamps: [],
      sealed: false,
      timer: null,
      sink: null,
    };
  }

  /** Busy milliseconds of the decode thread so far (the benchmark's CPU split). */
  decodeThreadActiveMs(): number {
    return this.decoder.activeMs();
  }

  async start(): Promise<void> {
    const { config } = this.options;
    this.decoder.warm();
    // The Java client's partitioner, chosen explicitly: it keeps a dead letter's key on the partition
    // a Java producer would pick, and choosing one is what silences kafkajs's start-up warning.
    this.producer = this.kafka.producer({ allowAutoTopicCreation: true, createPartitioner: Partitioners.DefaultPartitioner });
    await this.producer.connect();
    this.deadLetters = new DeadLetterWriter(this.producer);
    const consumer = this.kafka.consumer({
      groupId: config.group_id,
      sessionTimeout: config.session_timeout_ms,
      maxBytesPerPartition: config.fetch.max_bytes_per_partition,
      maxBytes: config.fetch.max_bytes,
      maxWaitTimeInMs: config.fetch.max_wait_ms,
      allowAutoTopicCreation: true,
    });
    this.consumer = consumer;
    await this.ensureTopics();
    // Before any event of this run is derived: an order's late earlier-stage event must not reopen it.
    await writeLifecycleRanks(this.options.store, config.topics);
    consumer.on(consumer.events.GROUP_JOIN, () => {
      this.stats.rebalances += 1;
      // Partitions this member no longer owns must not be reported as stuck.
      this.stats.partitions.clear();
      // Another member may have written our items meanwhile: look them up again.
      this.decoder.forget().catch(() => undefined);
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
      // Offsets are committed by finish() once a unit is stored and derived; kafkajs only tracks
      // the fetch position (resolved offsets), which runs ahead of the store.
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: config.batch.partitions_concurrently,
      eachBatch: (payload) => this.handleBatch(payload),
    });
  }

  /**
   * Subscribing to a topic the broker is still creating fails the consumer ("does not host this
   * topic-partition"), so missing source and dead-letter topics are created up front, with the
   * broker's default partitions, and their leaders awaited.
   */
  private async ensureTopics(): Promise<void> {
    const { config } = this.options;
    const wanted = new Set<string>();
    const dlqs = new Set<string>();
    for (const { config: topic } of this.topics.values()) {
      wanted.add(topic.topic).add(dlqTopicOf(config, topic));
      dlqs.add(dlqTopicOf(config, topic));
    }
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      const existing = new Set(await admin.listTopics());
      const missing = [...wanted].filter((topic) => !existing.has(topic));
      if (missing.length > 0) {
        if (!config.create_missing_topics) {
          throw new Error(`these topics do not exist: ${missing.join(", ")} (create them, or set sources.kafka.create_missing_topics: true)`);
        }
        await admin.createTopics({ waitForLeaders: true, topics: missing.map((topic) => ({ topic })) });
        this.log(`[stream] created missing topics: ${missing.join(", ")}`);
      }
      try {
        await this.deadLetters?.learnLimits(admin, [...dlqs]);
      } catch (error) {
        // Not fatal: a letter the topic refuses is found when it is sent, and written as a reference.
        this.log(`[stream] cannot read max.message.bytes of the dead-letter topics (assuming Kafka's default): ${(error as Error).message}`);
      }
    } finally {
      await admin.disconnect();
    }
  }

  /** Finishes the batches in hand, stores and commits them, then leaves the group. */
  async stop(): Promise<void> {
    if (this.stats.state === "stopped") return;
    this.stats.state = "stopping";
    this.stopping = true;
    this.wakeWaiters();
    try {
      // Commits need a running consumer, so: stop fetching, let the handlers finish, store and
      // commit what they decoded, and only then leave the group.
      const consumer = this.consumer;
      if (consumer) {
        try {
          consumer.pause([...this.topics.keys()].map((topic) => ({ topic })));
        } catch {
          // not running (start failed): nothing to pause
        }
      }
      while (this.active > 0) await new Promise((resolve) => setTimeout(resolve, 10));
      this.seal(this.current);
      await this.flushChain;
    } finally {
      try {
        await this.consumer?.disconnect();
      } finally {
        await this.decoder.close();
        await this.producer?.disconnect();
        this.stats.state = "stopped";
      }
    }
  }

  private async handleBatch(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    const topic = this.topics.get(batch.topic);
    if (!topic || this.stopping) return;
    // After a failed flush, wait out its pause (heartbeating, so the group keeps this member).
    while (Date.now() < this.retryAt && payload.isRunning() && !payload.isStale() && !this.stopping) {
      await new Promise((resolve) => setTimeout(resolve, Math.min(1_000, this.retryAt - Date.now())));
      await payload.heartbeat();
    }
    if (!payload.isRunning() || this.stopping) return;
    this.active += 1;
    const decoding: Promise<void>[] = [];
    if (batch.messages.length > 0) {
      this.stats.fetched(batch.topic, batch.partition, batch.highWatermark, batch.messages[0]!.offset, batch.messages[batch.messages.length - 1]!.offset);
    }
    try {
      const messages = batch.messages;
      for (let start = 0; start < messages.length; start += DECODE_CHUNK) {
        // Stale: the partition was revoked, or a failed flush sought it back to its last commit.
        if (!payload.isRunning() || payload.isStale() || this.stopping) break;
        if (this.flushesInFlight >= UNITS_IN_FLIGHT) {
          const waitStart = performance.now();
          await this.waitForRoom();
          this.stats.stageSeconds.store_wait += (performance.now() - waitStart) / 1000;
          if (!payload.isRunning() || payload.isStale() || this.stopping) break;
        }
        const end = Math.min(messages.length, start + DECODE_CHUNK);
        decoding.push(this.decode(topic.config, topic.index, batch.partition, batch.highWatermark, messages, start, end));
        // Resolving moves kafkajs's fetch position only; the commit waits for the store.
        payload.resolveOffset(messages[end - 1]!.offset);
        if (this.current.events >= this.options.config.batch.max_rows) this.seal(this.current);
        await payload.heartbeat();
      }
      // Back to kafkajs once the decode thread has the batch: at most one fetch per partition
      // waits there. A failed decode fails its unit's flush, which reads the events again.
      await Promise.allSettled(decoding);
    } finally {
      this.active -= 1;
      this.maybeSeal();
    }
  }

  /** Accounts messages[start, end) to the open unit and hands them to the decode thread. */
  private decode(topic: TopicConfig, topicIndex: number, partition: number, highWatermark: string, messages: KafkaMessage[], start: number, end: number): Promise<void> {
    const pending = this.current;
    if (pending.events === 0) this.startTimer(pending);
    const key = `${topic.topic}|${partition}`;
    if (!this.uncommitted.has(key)) this.uncommitted.set(key, { topic: topic.topic, partition, offset: messages[start]!.offset });
    pending.offsets.set(key, { topic: topic.topic, partition, offset: String(Number(messages[end - 1]!.offset) + 1), highWatermark });
    pending.events += end - start;
    for (let i = start; i < end; i++) pending.timestamps.push(Number(messages[i]!.timestamp));
    this.stats.add(this.stats.eventsIn, topic.topic, end - start);
    const decoded = this.decoder.decode(pending.id, topicIndex, messages, start, end).then(({ refused, seconds }) => {
      const stage = this.stats.stageSeconds;
      stage.parse += seconds.parse;
      stage.validate += seconds.validate;
      stage.map += seconds.map;
      for (const { index, reason, detail } of refused) this.addDeadLetter(pending, topic, partition, messages[start + index]!, reason, detail);
    });
    pending.decoding.push(decoded);
    this.applyBackPressure();
    return decoded;
  }

  private addDeadLetter(pending: Pending, topic: TopicConfig, partition: number, message: KafkaMessage, reason: RejectReason, detail: string) {
    const dlq = dlqTopicOf(this.options.config, topic);
    const value = message.value;
    // rejected_records keeps what Flowpulse would read; of a bigger value, the first bytes (the
    // source topic and the dead letter keep the whole).
    const size = value?.length ?? 0;
    const payload = !value ? "" : size <= MAX_EVENT_BYTES ? value.toString("utf8") : value.subarray(0, REFERENCE_PREFIX_BYTES).toString("utf8");
    const rejection: Rejection = {
      source: "kafka",
      reference: `${topic.topic}/${partition}@${message.offset}`,
      reason: `${reason}: ${detail}${size > MAX_EVENT_BYTES ? ` (payload: the first ${REFERENCE_PREFIX_BYTES} bytes)` : ""}`,
      payload,
    };
    const list = pending.dead.get(dlq) ?? [];
    list.push({
      key: message.key,
      value,
      headers: {
        reason,
        detail: detail.slice(0, MAX_DETAIL),
        source_topic: topic.topic,
        source_partition: String(partition),
        source_offset: message.offset,
        source_timestamp: message.timestamp,
      },
      rejection,
    });
    pending.dead.set(dlq, list);
    pending.rejections.push(rejection);
  }

  private async waitForRoom(): Promise<void> {
    while (this.flushesInFlight >= UNITS_IN_FLIGHT && !this.stopping) {
      await new Promise<void>((resolve) => this.roomWaiters.push(resolve));
    }
  }

  private wakeWaiters() {
    const waiters = this.roomWaiters;
    this.roomWaiters = [];
    for (const wake of waiters) wake();
  }

  /** Seals the open unit when it is full, or when nothing would wait for it: the store is idle and no handler is decoding. */
  private maybeSeal() {
    const pending = this.current;
    if (pending.events === 0) return;
    if (pending.events >= this.options.config.batch.max_rows || (this.active === 0 && this.flushesInFlight === 0)) this.seal(pending);
  }

  private startTimer(pending: Pending) {
    pending.timer = setTimeout(() => this.seal(pending), this.options.config.batch.max_wait_ms);
    pending.timer.unref();
  }

  private seal(pending: Pending) {
    if (pending.sealed) return;
    pending.sealed = true;
    if (pending.timer) clearTimeout(pending.timer);
    if (pending === this.current) this.current = this.newPending();
    if (pending.events === 0) return;
    this.inFlightEvents += pending.events;
    this.flushesInFlight += 1;
    const stored = this.storeChain.then(() => this.lock.run("insert", () => this.store(pending)));
    this.storeChain = stored.catch(() => undefined);
    this.flushChain = this.flushChain.then(() => this.finish(pending, stored));
  }

  /**
   * Derives and commits one unit once it is stored. Never throws. A failure must not let a later
   * unit commit offsets past the lost events, so it starts a new epoch (units decoded before it are
   * still stored, idempotently, but never committed) and seeks every partition back to its first
   * uncommitted offset: those events are read again.
   */
  private async finish(pending: Pending, stored: Promise<Stored>): Promise<void> {
    try {
      const result = await stored;
      await this.lock.run("derive", () => this.derive(pending, result));
      if (pending.epoch === this.epoch) await this.commit(pending);
    } catch (error) {
      this.stats.flushFailures += 1;
      this.stats.lastError = (error as Error).message;
      // A failure that repeats (the store refuses writes, a DLQ topic refuses even a reference)
      // is retried with growing pauses, not hundreds of times a minute.
      this.failures += 1;
      const pause = Math.min(MAX_RETRY_PAUSE_MS, 250 * 2 ** Math.min(this.failures - 1, 10));
      this.retryAt = Date.now() + pause;
      this.log(`[stream] flush of ${pending.events} events failed (${this.failures} in a row), they will be read again in ${pause} ms: ${(error as Error).message}`);
      this.decoder.drop(pending.id).catch(() => undefined);
      this.rewind();
    } finally {
      this.inFlightEvents -= pending.events;
      this.flushesInFlight -= 1;
      pending.sink = null;
      this.wakeWaiters();
      this.applyBackPressure();
      this.maybeSeal();
    }
  }

  private async commit(pending: Pending) {
    const offsets = [...pending.offsets.values()];
    for (const { topic, partition, highWatermark, offset } of offsets) {
      this.stats.lag.set(`${topic}|${partition}`, Math.max(0, Number(highWatermark) - Number(offset)));
    }
    try {
      await this.consumer?.commitOffsets(offsets.map(({ topic, partition, offset }) => ({ topic, partition, offset })));
    } catch (error) {
      // The events are stored; a commit lost to a rebalance only means they are read again.
      this.log(`[stream] offset commit failed (events are stored and will collapse when re-read): ${(error as Error).message}`);
      return;
    }
    for (const { topic, partition, highWatermark, offset } of offsets) this.stats.committed(topic, partition, offset, highWatermark);
    this.failures = 0;
    for (const [key, { offset }] of pending.offsets) {
      const entry = this.uncommitted.get(key);
      if (entry && Number(entry.offset) < Number(offset)) entry.offset = offset;
    }
  }

  private rewind() {
    this.epoch += 1;
    this.decoder.forget().catch(() => undefined);
    // The open unit holds events decoded after the lost ones: seal it under the old epoch.
    this.seal(this.current);
    for (const { topic, partition, offset } of this.uncommitted.values()) {
      try {
        this.consumer?.seek({ topic, partition, offset });
      } catch (error) {
        this.log(`[stream] cannot seek ${topic}/${partition} back to ${offset}: ${(error as Error).message}`);
      }
    }
  }

  /** Stage one: dead letters, then the unit's rows (after the previous unit's rows are in). */
  private async store(pending: Pending): Promise<Stored> {
    const started = performance.now();
    const stage = this.stats.stageSeconds;
    let t = started;
    const lap = (name: Stage) => {
      const now = performance.now();
      stage[name] += (now - t) / 1000;
      t = now;
    };
    await Promise.all(pending.decoding);
    lap("decode_wait");
    const sink = new FlowSink(this.options.store);
    pending.sink = sink;
    // Dead letters first: once the offsets move on, the DLQ is the only copy of a bad event.
    if (pending.dead.size > 0 && this.deadLetters) {
      await this.deadLetters.write(pending.dead);
      for (const [topic, letters] of pending.dead) {
        for (const { headers } of letters) this.stats.add(this.stats.dlq, `${topic}|${headers.source_topic}|${headers.reason}`);
      }
    }
    await sink.reject(pending.rejections);
    lap("dlq");
    // Only items seen before (their creation event is not in this unit) need what the store knows;
    // the decode thread remembers the ones this consumer wrote itself, the others are looked up.
    // The previous unit's rows are stored by now (stage one runs in order), so they are found.
    const lookup = await this.decoder.prepare(pending.id);
    let rows: KnownRow[] = [];
    if (lookup.length > 0) {
      const known = await this.options.store.query<{ item_id: string; created_at: string; title: string; team: string; labels: string[] }>(
        sqlFile("queries/stream_known_items.sql"),
        { ids: lookup },
      );
      rows = known.map((row) => ({ ...row, created_at: fromClickHouseTime(row.created_at) }));
    }
    lap("lookup");
    const encoded = await this.decoder.encode(pending.id, rows);
    stage.encode += encoded.seconds.encode;
    t = performance.now();
    await sink.writeEncoded({ itemIds: encoded.itemIds, items: encoded.items, transitions: encoded.transitions });
    lap("insert");
    return { items: encoded.items.count, transitions: encoded.transitions.count, started };
  }

  /** Stage two: the unit's derived rows; then its events are queryable. */
  private async derive(pending: Pending, stored: Stored): Promise<void> {
    const t = performance.now();
    await pending.sink?.commit();
    this.stats.stageSeconds.derive += (performance.now() - t) / 1000;
    const doneAt = Date.now();
    this.stats.rowsWritten.items += stored.items;
    this.stats.rowsWritten.transitions += stored.transitions;
    this.stats.rowsWritten.rejected += pending.rejections.length;
    this.stats.flushes += 1;
    this.stats.lastFlushAt = doneAt;
    this.stats.observeFlush((performance.now() - stored.started) / 1000);
    this.options.onFlush?.({
      events: pending.events,
      items: stored.items,
      transitions: stored.transitions,
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
