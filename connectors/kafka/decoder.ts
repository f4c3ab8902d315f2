// The main thread's side of the decode thread (decode-worker.ts): one request at a time per call,
// answered in order. Message values travel as one buffer plus end offsets (one copy, transferred,
// no per-message structured clone); encoded rows come back as transferred bytes the store takes
// as they are. If the thread dies, pending calls fail (their flush is read again) and the next call
// starts a fresh thread.
import type { Worker } from "node:worker_threads";
import type { KafkaMessage } from "kafkajs";
import type { EncodedRows } from "../../pipeline/sink.ts";
import { typeScriptWorker } from "../../pipeline/worker.ts";
import type { TopicConfig } from "./config.ts";
import { MAX_EVENT_BYTES, VALUE_NULL, VALUE_REFUSED, type RejectReason } from "./map.ts";

export interface DecoderInit {
  topics: TopicConfig[];
}

/** What the store knows of an item (stream_known_items.sql), created_at as epoch ms. */
export interface KnownRow {
  item_id: string;
  created_at: number;
  title: string;
  team: string;
  labels: string[];
}

export type DecodeRequest = { id: number } & (
  | { op: "decode"; unit: number; topic: number; data: Uint8Array; ends: Uint32Array; flags: Uint8Array }
  | { op: "prepare"; unit: number }
  | { op: "encode"; unit: number; rows: KnownRow[] }
  | { op: "drop"; unit: number }
  | { op: "forget" }
);

export type DecodeReply =
  | { op: "decode"; refusals: [index: number, reason: string, detail: string][]; seconds: { parse: number; validate: number; map: number } }
  | { op: "prepare"; lookup: string[] }
  | { op: "encode"; itemIds: string[]; items: EncodedRows & { lines: Uint8Array }; transitions: EncodedRows & { lines: Uint8Array }; seconds: { encode: number } }
  | { op: "done" };

export interface Refused {
  index: number;
  reason: RejectReason;
  detail: string;
}

type Body<T> = T extends unknown ? Omit<T, "id"> : never;
type ReplyOf<Op extends DecodeReply["op"]> = Extract<DecodeReply, { op: Op }>;

const DECODE_WORKER = new URL("./decode-worker.ts", import.meta.url);

/**
 * Every event leaves a handful of short-lived objects (the parsed value, the item and transition,
 * their row arrays), so the decode thread spends much of its time in young-generation GC. A young
 * generation of 96 MB (V8's default semi-space is 16 MB) lets each scavenge find most of them dead:
 * the decode work alone ran ~9% faster at 1M order events (32 MB semi-spaces against the default).
 */
const DECODE_THREAD_LIMITS = { maxYoungGenerationSizeMb: 96 };

export class Decoder {
  private worker: Worker | null = null;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (reply: DecodeReply) => void; reject: (error: Error) => void }>();
  /** Event-loop time of threads that ended (restarts), so utilization() covers every thread. */
  private pastActiveMs = 0;
  private closed = false;

  constructor(
    private readonly topics: TopicConfig[],
    private readonly onError: (message: string) => void = () => undefined,
  ) {}

  private thread(): Worker {
    if (this.worker) return this.worker;
    if (this.closed) throw new Error("the decode thread is closed");
    const worker = typeScriptWorker(DECODE_WORKER, { workerData: { topics: this.topics } satisfies DecoderInit, resourceLimits: DECODE_THREAD_LIMITS });
    // A thread left running must not keep a finished process alive.
    worker.unref();
    worker.on("message", (message: { id: number; reply?: DecodeReply; error?: string }) => {
      const call = this.pending.get(message.id);
      if (!call) return;
      this.pending.delete(message.id);
      if (message.error !== undefined) call.reject(new Error(`decode thread: ${message.error}`));
      else call.resolve(message.reply!);
    });
    const fail = (error: Error) => {
      if (this.worker !== worker) return;
      this.pastActiveMs += worker.performance.eventLoopUtilization().active;
      this.worker = null;
      if (!this.closed) this.onError(`decode thread stopped: ${error.message}`);
      const calls = [...this.pending.values()];
      this.pending.clear();
      for (const call of calls) call.reject(error);
    };
    worker.on("error", fail);
    worker.on("exit", (code) => fail(new Error(`exited with code ${code}`)));
    this.worker = worker;
    return worker;
  }

  private call<Op extends DecodeReply["op"]>(request: Body<DecodeRequest>, transfer: ArrayBuffer[] = []): Promise<ReplyOf<Op>> {
    const id = this.nextId++;
    return new Promise<ReplyOf<Op>>((resolve, reject) => {
      let worker: Worker;
      try {
        worker = this.thread();
      } catch (error) {
        reject(error as Error);
        return;
      }
      this.pending.set(id, { resolve: resolve as (reply: DecodeReply) => void, reject });
      worker.postMessage({ ...request, id }, transfer);
    });
  }

  /**
   * Decodes messages[start, end) of a topic into flush unit `unit`. Resolves with the refused
   * messages (index into the slice) once the thread has merged the rest into the unit.
   */
  async decode(unit: number, topic: number, messages: KafkaMessage[], start: number, end: number) {
    let bytes = 0;
    const flags = new Uint8Array(end - start);
    const tooLarge: Refused[] = [];
    for (let i = start; i < end; i++) {
      const value = messages[i]!.value;
      if (value === null) flags[i - start] = VALUE_NULL;
      else if (value.length > MAX_EVENT_BYTES) {
        flags[i - start] = VALUE_REFUSED;
        tooLarge.push({
          index: i - start,
          reason: "too_large",
          detail: `message value is ${value.length} bytes; Flowpulse reads events up to ${MAX_EVENT_BYTES} bytes (1 MiB)`,
        });
      } else bytes += value.length;
    }
    const data = new Uint8Array(bytes);
    const ends = new Uint32Array(end - start);
    let at = 0;
    for (let i = start; i < end; i++) {
      const value = messages[i]!.value;
      if (value && flags[i - start] === 0) {
        data.set(value, at);
        at += value.length;
      }
      ends[i - start] = at;
    }
    const reply = await this.call<"decode">({ op: "decode", unit, topic, data, ends, flags }, [data.buffer, ends.buffer, flags.buffer]);
    const refused = reply.refusals.map(([index, reason, detail]): Refused => ({ index, reason: reason as RejectReason, detail }));
    if (tooLarge.length > 0) refused.push(...tooLarge);
    return { refused, seconds: reply.seconds };
  }

  /** Ids of the unit's items the store must be asked about (not created in it, not remembered). */
  async prepare(unit: number): Promise<string[]> {
    return (await this.call<"prepare">({ op: "prepare", unit })).lookup;
  }

  /** Merges the stored rows in and hands back the unit's rows, encoded; the thread forgets the unit. */
  encode(unit: number, rows: KnownRow[]): Promise<ReplyOf<"encode">> {
    return this.call<"encode">({ op: "encode", unit, rows });
  }

  /** Drops a unit that will not be stored (its flush failed before encoding). */
  async drop(unit: number): Promise<void> {
    if (this.worker) await this.call<"done">({ op: "drop", unit });
  }

  /** Forgets remembered items: after a rebalance or a failed flush another writer may have changed them. */
  async forget(): Promise<void> {
    if (this.worker) await this.call<"done">({ op: "forget" });
  }

  /** Starts the thread ahead of the first batch (loading it takes a moment). */
  warm(): void {
    this.thread();
  }

  /** Busy time of the decode thread(s) in ms, for the benchmark's CPU split. */
  activeMs(): number {
    return this.pastActiveMs + (this.worker ? this.worker.performance.eventLoopUtilization().active : 0);
  }

  async close(): Promise<void> {
    this.closed = true;
    const worker = this.worker;
    if (!worker) return;
    this.worker = null;
    this.pastActiveMs += worker.performance.eventLoopUtilization().active;
    await worker.terminate();
    const calls = [...this.pending.values()];
    this.pending.clear();
    for (const call of calls) call.reject(new Error("the decode thread is closed"));
  }
}
