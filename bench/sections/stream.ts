// Stream section: a backlog of order events on a real Kafka broker consumed into a fresh embedded
// store. Measures sustained events/s, RSS over time, where the time goes (parse, validate, map,
// lookup, insert, derive), then event-to-queryable latency (producer timestamp -> flush that makes
// the event visible in flow_items is done) while events arrive live at a steady rate. Beside it: the
// ceiling of broker + kafkajs alone (a consumer that only counts), and the process's CPU split into
// event loop, decode thread and (the rest) chDB threads. seconds_parse/validate/map/encode are the
// decode thread's busy time; seconds_insert/derive overlap (unit N+1 inserts while unit N derives).
// Size: FLOWPULSE_BENCH_STREAM_EVENTS, else 5 events per `items`, else 5M, the size the target is
// set at (a shorter run is mostly warm-up, and its RSS growth says little).
// Experiments: FLOWPULSE_BENCH_STREAM_MAX_ROWS (flush size), FLOWPULSE_BENCH_STREAM_FETCH_KB
// (fetch bytes per partition); both default to the config defaults.
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import { monitorEventLoopDelay, performance } from "node:perf_hooks";
import path from "node:path";
import { Kafka, logLevel, type Producer } from "kafkajs";
import { KafkaConfigSchema } from "../../connectors/kafka/config.ts";
import { DECODE_CHUNK, StreamConsumer, type FlushInfo } from "../../connectors/kafka/consume.ts";
import { DecodeState } from "../../connectors/kafka/decode-state.ts";
import { FlowSink } from "../../pipeline/sink.ts";
import { openStore } from "../../store/open.ts";
import type { Store } from "../../store/store.ts";
import { startKafka, type KafkaBroker } from "../../test/helpers/kafka-broker.ts";
import type { BenchOptions, BenchResult } from "../types.ts";
import { percentile } from "../stats.ts";

export const name = "stream";
export const description =
  "Kafka order events -> embedded store: events/s (>= 100k/s) and as a share of a bare consumer's JSON.parse ceiling (>= 60%), flat RSS, event-to-queryable p50/p99";

const STATUSES = ["purchased", "approved", "invoiced", "shipped", "delivered"] as const;
const CHANNELS = ["web", "app", "marketplace"] as const;
const WINDOW = 2_000; // orders in flight at once: their events interleave on the topic
// Events of the path's own ceilings (decode alone, store alone): enough for a steady rate.
const CEILING_EVENTS = Number(process.env.FLOWPULSE_BENCH_STREAM_CEILING_EVENTS ?? 1_000_000);

/** The events of orders [start, end) entering STATUSES[s]: key and JSON value. */
function orderMessages(start: number, end: number, s: number, base: number): { key: string; value: string }[] {
  const messages = [];
  for (let o = start; o < end; o++) {
    const id = `b-${String(o).padStart(9, "0")}`;
    const at = base + o * 20_000 + s * 3_600_000 + (o % 7) * 60_000;
    messages.push({
      key: id,
      value: JSON.stringify({
        schema: "order.v1",
        order_id: id,
        status: STATUSES[s],
        event_time: new Date(at).toISOString(),
        estimated_delivery_date: new Date(base + o * 20_000 + 6 * 86_400_000).toISOString().slice(0, 10),
        seller_id: `s-${o % 500}`,
        channel: CHANNELS[o % 3],
      }),
    });
  }
  return messages;
}

/** Orders in id order; within a window of orders, statuses interleave as they would in time. */
async function produceOrders(producer: Producer, topic: string, firstOrder: number, orders: number, base: number, onSent?: (n: number) => void) {
  for (let start = firstOrder; start < firstOrder + orders; start += WINDOW) {
    const end = Math.min(firstOrder + orders, start + WINDOW);
    for (let s = 0; s < STATUSES.length; s++) {
      const messages = orderMessages(start, end, s, base);
      await producer.send({ topic, messages, acks: 1 });
      onSent?.(messages.length);
    }
  }
}

/** The same events in topic order, as the decode thread receives them: chunks of one buffer plus value ends. */
function orderChunks(orders: number, base: number, chunkSize: number): { data: Uint8Array; ends: Uint32Array; flags: Uint8Array }[] {
  const values: Buffer[] = [];
  for (let start = 0; start < orders; start += WINDOW) {
    for (let s = 0; s < STATUSES.length; s++) for (const m of orderMessages(start, Math.min(orders, start + WINDOW), s, base)) values.push(Buffer.from(m.value));
  }
  const chunks = [];
  for (let from = 0; from < values.length; from += chunkSize) {
    const slice = values.slice(from, from + chunkSize);
    const data = new Uint8Array(slice.reduce((n, v) => n + v.length, 0));
    const ends = new Uint32Array(slice.length);
    let at = 0;
    slice.forEach((v, i) => {
      data.set(v, at);
      at += v.length;
      ends[i] = at;
    });
    chunks.push({ data, ends, flags: new Uint8Array(slice.length) });
  }
  return chunks;
}

/**
 * The two halves of our path alone, on the same events: the decode thread's work on this thread
 * (no Kafka, no store), then the store's (the encoded units inserted and derived, unit N+1 inserted
 * while unit N derives, as the consumer does) into the store the stream just filled, under a
 * source of their own. Whichever is slower bounds the stream on this machine.
 */
async function pathCeilings(
  store: Store,
  orders: number,
  base: number,
  maxRows: number,
): Promise<{ decodePerS: number; storePerS: number; decodeCpuPerEvent: number; storeCpuPerEvent: number; events: number }> {
  const [topic] = KafkaConfigSchema.parse({ topics: [{ topic: "ceiling", contract: "order", source: "ceiling" }] }).topics;
  const chunks = orderChunks(orders, base, DECODE_CHUNK);
  const events = orders * STATUSES.length;
  const state = new DecodeState();
  const units: ReturnType<DecodeState["encode"]>[] = [];
  let cpu = process.cpuUsage();
  let t = performance.now();
  let unit = 1;
  let inUnit = 0;
  for (let i = 0; i < chunks.length; i++) {
    const chunk = chunks[i]!;
    state.decode(unit, topic!, chunk.data, chunk.ends, chunk.flags);
    inUnit += chunk.ends.length;
    if (inUnit >= maxRows || i === chunks.length - 1) {
      state.prepare(unit);
      units.push(state.encode(unit, []));
      unit += 1;
      inUnit = 0;
    }
  }
  const decodePerS = Math.round(events / ((performance.now() - t) / 1000));
  const decodeCpuPerEvent = cpuMicrosPerEvent(process.cpuUsage(cpu), events);
  cpu = process.cpuUsage();
  t = performance.now();
  let deriving: Promise<void> = Promise.resolve();
  for (const encoded of units) {
    if (encoded.op !== "encode") throw new Error("the decode state answered an encode with " + encoded.op);
    const sink = new FlowSink(store);
    await sink.writeEncoded({ itemIds: encoded.itemIds, items: encoded.items, transitions: encoded.transitions });
    await deriving;
    deriving = sink.commit();
  }
  await deriving;
  const storePerS = Math.round(events / ((performance.now() - t) / 1000));
  const storeCpuPerEvent = cpuMicrosPerEvent(process.cpuUsage(cpu), events);
  return { decodePerS, storePerS, decodeCpuPerEvent, storeCpuPerEvent, events };
}

/** Microseconds of this process's CPU (every thread) per event, from a process.cpuUsage() difference. */
function cpuMicrosPerEvent(used: NodeJS.CpuUsage, events: number): number {
  return Math.round(((used.user + used.system) / events) * 10) / 10;
}

export async function run(options: BenchOptions): Promise<BenchResult> {
  const log = options.log ?? (() => undefined);
  const fromEnv = Number(process.env.FLOWPULSE_BENCH_STREAM_EVENTS ?? "");
  const events = Number.isFinite(fromEnv) && fromEnv > 0 ? fromEnv : options.items ? options.items * STATUSES.length : 5_000_000;
  const orders = Math.ceil(events / STATUSES.length);
  const total = orders * STATUSES.length;
  const liveRate = Number(process.env.FLOWPULSE_BENCH_STREAM_LIVE_RATE ?? 20_000);
  const liveSeconds = Number(process.env.FLOWPULSE_BENCH_STREAM_LIVE_SECONDS ?? 10);
  const params: Record<string, number | string> = { events: total, orders, partitions: 3, live_rate_per_s: liveRate, live_seconds: liveSeconds };
  if (process.env.FLOWPULSE_BENCH_STREAM_MAX_ROWS) params.max_rows = Number(process.env.FLOWPULSE_BENCH_STREAM_MAX_ROWS);
  if (process.env.FLOWPULSE_BENCH_STREAM_FETCH_KB) params.fetch_kb_per_partition = Number(process.env.FLOWPULSE_BENCH_STREAM_FETCH_KB);
  const figures: Record<string, number | string | null> = {};

  const broker: KafkaBroker | null = await startKafka();
  if (!broker) {
    return { section: name, params: { ...params, skipped: "no Kafka broker (java/mvn missing; set KAFKA_BROKERS)" }, figures, targets: [] };
  }
  const dir = mkdtempSync(path.join(options.workDir ?? os.tmpdir(), "fp-bench-stream-"));
  const run = `${Date.now().toString(36)}`;
  const topic = `bench-orders-${run}`;
  const kafka = new Kafka({ clientId: "bench-stream", brokers: broker.brokers, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  const producer = kafka.producer();
  let store: Store | undefined;
  let consumer: StreamConsumer | undefined;
  const rss: { t: number; mb: number }[] = [];
  try {
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 3 }] });
    await producer.connect();
    const base = Date.parse("2024-01-01T00:00:00Z");
    let t = performance.now();
    let sent = 0;
    await produceOrders(producer, topic, 0, orders, base, (n) => {
      sent += n;
      if (sent % 200_000 < n) log(`produced ${sent.toLocaleString("en-US")} / ${total.toLocaleString("en-US")}`);
    });
    const produceSeconds = (performance.now() - t) / 1000;
    figures.produce_events_per_s = Math.round(total / produceSeconds);
    log(`backlog of ${total} events produced in ${produceSeconds.toFixed(1)} s`);

    // The ceiling of broker + kafkajs alone on this machine: a consumer that only counts messages
    // over the same backlog with the pipeline's fetch settings. What the pipeline loses beyond this
    // is ours (parse, validate, map, store, derive).
    {
      const defaults = KafkaConfigSchema.parse({});
      const counter = kafka.consumer({
        groupId: `bench-count-${run}`,
        maxBytesPerPartition: defaults.fetch.max_bytes_per_partition,
        maxBytes: defaults.fetch.max_bytes,
        maxWaitTimeInMs: defaults.fetch.max_wait_ms,
      });
      await counter.connect();
      await counter.subscribe({ topics: [topic], fromBeginning: true });
      let counted = 0;
      let parsedToo = 0;
      const countCpu = process.cpuUsage();
      const countStart = performance.now();
      let countDone!: () => void;
      const allCounted = new Promise<void>((resolve) => (countDone = resolve));
      await counter.run({
        partitionsConsumedConcurrently: defaults.batch.partitions_concurrently,
        eachBatch: async ({ batch }) => {
          counted += batch.messages.length;
          if (counted >= total) countDone();
        },
      });
      await allCounted;
      figures.broker_consume_events_per_s = Math.round(total / ((performance.now() - countStart) / 1000));
      // Fetching alone costs our path this much CPU too, whatever it does with the events.
      figures.broker_consume_cpu_us_per_event = cpuMicrosPerEvent(process.cpuUsage(countCpu), total);
      await counter.disconnect();
      // Same again with JSON.parse of every value: the floor of any JSON pipeline in this process.
      const parser = kafka.consumer({
        groupId: `bench-parse-${run}`,
        maxBytesPerPartition: defaults.fetch.max_bytes_per_partition,
        maxBytes: defaults.fetch.max_bytes,
        maxWaitTimeInMs: defaults.fetch.max_wait_ms,
      });
      await parser.connect();
      await parser.subscribe({ topics: [topic], fromBeginning: true });
      const parseStart = performance.now();
      let parseDone!: () => void;
      const allParsed = new Promise<void>((resolve) => (parseDone = resolve));
      await parser.run({
        partitionsConsumedConcurrently: defaults.batch.partitions_concurrently,
        eachBatch: async ({ batch }) => {
          for (const m of batch.messages) if (m.value) JSON.parse(m.value.toString("utf8"));
          parsedToo += batch.messages.length;
          if (parsedToo >= total) parseDone();
        },
      });
      await allParsed;
      figures.broker_consume_parse_events_per_s = Math.round(total / ((performance.now() - parseStart) / 1000));
      await parser.disconnect();
      log(`broker ceiling: ${figures.broker_consume_events_per_s} events/s counting, ${figures.broker_consume_parse_events_per_s} with JSON.parse`);
    }

    store = await openStore({ kind: "embedded", path: path.join(dir, "store") });
    const config = KafkaConfigSchema.parse({
      brokers: broker.brokers,
      group_id: `bench-${run}`,
      topics: [{ topic, contract: "order", source: "bench" }],
      dlq_topic: `bench-dlq-${run}`,
      http: { enabled: false },
      // Defaults unless overridden, so the bench measures what a user gets.
      ...(process.env.FLOWPULSE_BENCH_STREAM_MAX_ROWS
        ? { batch: { max_rows: Number(process.env.FLOWPULSE_BENCH_STREAM_MAX_ROWS), max_pending_rows: 4 * Number(process.env.FLOWPULSE_BENCH_STREAM_MAX_ROWS) } }
        : {}),
      ...(process.env.FLOWPULSE_BENCH_STREAM_FETCH_KB
        ? { fetch: { max_bytes_per_partition: 1024 * Number(process.env.FLOWPULSE_BENCH_STREAM_FETCH_KB), max_bytes: 4 * 1024 * Number(process.env.FLOWPULSE_BENCH_STREAM_FETCH_KB) } }
        : {}),
    });
    let stored = 0;
    let firstFlushAt = 0;
    let latencies: number[] | null = null;
    const onFlush = (info: FlushInfo) => {
      stored += info.events;
      if (!firstFlushAt) firstFlushAt = performance.now();
      if (latencies) for (const ts of info.timestamps) latencies.push(info.doneAt - ts);
    };
    consumer = new StreamConsumer({ config, store, brokers: broker.brokers, onFlush, log: (line) => log(line) });
    const sampler = setInterval(() => rss.push({ t: performance.now(), mb: process.memoryUsage.rss() / 2 ** 20 }), 1_000);
    t = performance.now();
    const cpuBefore = process.cpuUsage();
    const eluBefore = performance.eventLoopUtilization();
    // Long synchronous stretches (kafkajs decoding a whole fetch response, GC) delay every store
    // step's continuation: the store chain waits on the event loop.
    const loopDelay = monitorEventLoopDelay({ resolution: 10 });
    loopDelay.enable();
    await consumer.start();
    let lastLog = 0;
    while (stored < total) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      if (performance.now() - lastLog > 5_000) {
        lastLog = performance.now();
        log(`stored ${stored.toLocaleString("en-US")} / ${total.toLocaleString("en-US")}, rss ${Math.round(process.memoryUsage.rss() / 2 ** 20)} MB`);
      }
    }
    const drained = performance.now();
    const seconds = (drained - t) / 1000;
    // CPU of this process (event loop + chDB's threads) against the event loop's busy time: the
    // difference is what chDB did (inserts, derive, background merges) beside JavaScript.
    const cpu = process.cpuUsage(cpuBefore);
    const elu = performance.eventLoopUtilization(eluBefore);
    loopDelay.disable();
    figures.event_loop_delay_p99_ms = Math.round(loopDelay.percentile(99) / 1e6);
    figures.event_loop_delay_max_ms = Math.round(loopDelay.max / 1e6);
    figures.cpu_seconds_process = Math.round((cpu.user + cpu.system) / 1e4) / 100;
    figures.cpu_seconds_event_loop = Math.round(elu.active / 10) / 100;
    // Busy time of the decode thread (JSON, validation, mapping, row encoding), beside the loop.
    figures.cpu_seconds_decode_thread = Math.round(consumer.decodeThreadActiveMs() / 10) / 100;
    figures.cpu_us_per_event = Math.round(((cpu.user + cpu.system) / total) * 10) / 10;
    figures.backlog_seconds = Math.round(seconds * 10) / 10;
    figures.events_per_s = Math.round(total / seconds);
    figures.events_per_s_after_first_flush = Math.round(total / ((drained - firstFlushAt) / 1000));
    // Our path against the floor of any JSON pipeline in this process, measured minutes earlier on
    // the same topic and machine: the figure that stays comparable when the machine runs slower.
    const ceiling = Number(figures.broker_consume_parse_events_per_s);
    figures.pct_of_parse_ceiling = ceiling > 0 ? Math.round((Number(figures.events_per_s) / ceiling) * 1000) / 10 : null;
    figures.flushes = consumer.stats.flushes;
    figures.rows_per_flush = Math.round(total / Math.max(1, consumer.stats.flushes));
    const stages = consumer.stats.stageSeconds;
    for (const [stage, s] of Object.entries(stages)) figures[`seconds_${stage}`] = Math.round(s * 100) / 100;
    const backlogRss = rss.filter((r) => r.t <= drained);
    if (backlogRss.length >= 4) {
      const quarter = backlogRss[Math.floor(backlogRss.length / 4)]!.mb;
      figures.rss_mb_at_25pct = Math.round(quarter);
      figures.rss_mb_at_end = Math.round(backlogRss[backlogRss.length - 1]!.mb);
      figures.rss_mb_max = Math.round(Math.max(...backlogRss.map((r) => r.mb)));
    }

    // Live phase: a steady rate, each event's latency from its producer timestamp to queryable.
    latencies = [];
    const liveOrders = Math.ceil((liveRate * liveSeconds) / STATUSES.length);
    const perTick = Math.max(STATUSES.length, Math.round(liveRate / 20 / STATUSES.length));
    const liveStart = performance.now();
    let produced = 0;
    for (let o = 0; o < liveOrders; o += perTick) {
      const n = Math.min(perTick, liveOrders - o);
      await produceOrders(producer, topic, orders + o, n, base);
      produced += n * STATUSES.length;
      const due = liveStart + (produced / liveRate) * 1000;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    }
    while (stored < total + produced) await new Promise((resolve) => setTimeout(resolve, 20));
    clearInterval(sampler);
    const sorted = Float64Array.from(latencies).sort();
    figures.live_events = produced;
    figures.latency_p50_ms = Math.round(percentile(sorted, 0.5));
    figures.latency_p99_ms = Math.round(percentile(sorted, 0.99));
    figures.latency_max_ms = Math.round(sorted[sorted.length - 1] ?? NaN);
    // The metric view really shows them: every order delivered, none counted twice.
    const [check] = await store.query<{ items: string; done: string; transitions: string }>(
      "SELECT count() AS items, countIf(status = 'done') AS done, sum(transition_count) AS transitions FROM flow_items WHERE source = 'bench'",
    );
    figures.flow_items = Number(check?.items);
    figures.flow_items_done = Number(check?.done);
    figures.transitions_counted = Number(check?.transitions);

    const ceilingOrders = Math.ceil(Math.min(total, CEILING_EVENTS) / STATUSES.length);
    log(`path ceilings: ${ceilingOrders * STATUSES.length} events decoded alone, then stored alone`);
    const ceilings = await pathCeilings(store, ceilingOrders, base, config.batch.max_rows);
    params.ceiling_events = ceilings.events;
    figures.decode_alone_events_per_s = ceilings.decodePerS;
    figures.store_alone_events_per_s = ceilings.storePerS;
    figures.pct_of_store_ceiling = Math.round((Number(figures.events_per_s) / ceilings.storePerS) * 1000) / 10;
    // The least CPU an event can cost our path: fetched (as the counting consumer), decoded alone,
    // stored and derived alone, nothing lost between the steps. Against it, the CPU an event may
    // cost at 60% of the JSON.parse consumer's rate, with every core of the machine busy (the
    // broker's share included, so the true budget is smaller).
    figures.decode_alone_cpu_us_per_event = ceilings.decodeCpuPerEvent;
    figures.store_alone_cpu_us_per_event = ceilings.storeCpuPerEvent;
    figures.path_alone_cpu_us_per_event = Math.round((Number(figures.broker_consume_cpu_us_per_event) + ceilings.decodeCpuPerEvent + ceilings.storeCpuPerEvent) * 10) / 10;
    figures.cpu_us_per_event_available_at_60pct = ceiling > 0 ? Math.round((os.availableParallelism() * 1e6 * 10) / (0.6 * ceiling)) / 10 : null;
    params.rss_samples = rss.map((r) => Math.round(r.mb)).join(" ");
  } finally {
    await consumer?.stop().catch(() => undefined);
    await producer.disconnect().catch(() => undefined);
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
    await store?.close();
    await broker.stop();
    if (!options.keep) rmSync(dir, { recursive: true, force: true });
  }
  const rate = Number(figures.events_per_s ?? 0);
  const share = Number(figures.pct_of_parse_ceiling ?? 0);
  const end = Number(figures.rss_mb_at_end ?? NaN);
  const quarter = Number(figures.rss_mb_at_25pct ?? NaN);
  return {
    section: name,
    params,
    figures,
    targets: [
      { name: "events_per_s", value: rate, target: ">= 100000", pass: rate >= 100_000 },
      { name: "pct_of_parse_ceiling", value: share, target: ">= 60", pass: share >= 60 },
      { name: "rss_growth_mb_25pct_to_end", value: Math.round(end - quarter), target: "< 200 (flat)", pass: end - quarter < 200 },
      {
        name: "every event counted once",
        value: Number(figures.transitions_counted),
        target: `= ${total + Number(figures.live_events ?? 0)}`,
        pass: Number(figures.transitions_counted) === total + Number(figures.live_events ?? 0),
      },
    ],
  };
}
