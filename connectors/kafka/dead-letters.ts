// Writes refused events to their dead-letter topics so that a partition can always move on. A
// dead-letter topic Flowpulse creates gets the broker's default message size (1 MB), while a source
// topic may accept far more; a dead letter the DLQ topic cannot take whole used to fail its flush
// again on every retry, so the partition's offset never moved. Such a letter is written as a
// reference instead (where the event is, how big, why it was refused, and a bounded prefix), and
// rejected_records says so. Only a DLQ topic too small for even a reference stops the flush, with
// an error naming the setting to raise (the stream's health then reports the stuck partition).
import type { Admin, ConfigResourceTypes, IHeaders, Message, Producer } from "kafkajs";
import type { Rejection } from "../../core/model.ts";
import type { RejectReason } from "./map.ts";

/**
 * ConfigResourceTypes.TOPIC. kafkajs is CommonJS, and Node's ESM loader does not find this export
 * in it (Kafka, logLevel and Partitioners it does), so `flowpulse stream` would not even start.
 */
const TOPIC_RESOURCE = 2 as ConfigResourceTypes;

/** Kafka's default max.message.bytes (broker message.max.bytes): what a topic created without settings takes. */
export const KAFKA_DEFAULT_MAX_MESSAGE_BYTES = 1_048_588;
/** How much of an event's value a reference carries, so a person can tell which event it was. */
export const REFERENCE_PREFIX_BYTES = 4_096;
/** Keys longer than this are left out of a reference (a key may be as large as a value). */
const REFERENCE_MAX_KEY_BYTES = 1_024;
/** Record framing, key and header names Kafka adds to a value: kept free when judging whether a letter fits. */
const RECORD_OVERHEAD_BYTES = 2_048;

export interface DeadLetter {
  key: Buffer | null;
  value: Buffer | null;
  headers: IHeaders & { reason: RejectReason; detail: string; source_topic: string; source_partition: string; source_offset: string };
  /** Its rejected_records row, still to be written: told when the DLQ holds only a reference. */
  rejection: Rejection;
}

/** kafkajs wraps a broker's refusal (in a retry error, in a non-retriable error): look through the causes. */
function refusedAsTooLarge(error: unknown): boolean {
  for (let e = error as { type?: string; cause?: unknown; originalError?: unknown } | undefined, depth = 0; e && depth < 8; depth++) {
    if (e.type === "MESSAGE_TOO_LARGE" || e.type === "RECORD_LIST_TOO_LARGE") return true;
    e = (e.cause ?? e.originalError) as typeof e;
  }
  return false;
}

function sizeOf(letter: DeadLetter): number {
  return (letter.value?.length ?? 0) + (letter.key?.length ?? 0) + letter.headers.detail.length;
}

export class DeadLetterWriter {
  /** max.message.bytes per DLQ topic, as the broker reported it at start. */
  private readonly limits = new Map<string, number>();

  constructor(private readonly producer: Producer) {}

  /** Asks the broker what each dead-letter topic accepts; a topic it cannot describe keeps Kafka's default. */
  async learnLimits(admin: Admin, topics: string[]): Promise<void> {
    if (topics.length === 0) return;
    const described = await admin.describeConfigs({
      includeSynonyms: false,
      resources: topics.map((name) => ({ type: TOPIC_RESOURCE, name, configNames: ["max.message.bytes"] })),
    });
    for (const resource of described.resources) {
      const entry = resource.configEntries.find((e) => e.configName === "max.message.bytes");
      const limit = Number(entry?.configValue);
      if (Number.isFinite(limit) && limit > 0) this.limits.set(resource.resourceName, limit);
    }
  }

  limitOf(topic: string): number {
    return this.limits.get(topic) ?? KAFKA_DEFAULT_MAX_MESSAGE_BYTES;
  }

  /**
   * Writes every letter, whole where its DLQ topic takes it, else as a reference. Throws only when
   * the broker is unavailable (the flush is then read again) or a topic refuses even a reference.
   */
  async write(dead: Map<string, DeadLetter[]>): Promise<void> {
    const batches = [...dead].map(([topic, letters]) => ({
      topic,
      letters,
      messages: letters.map((letter) => (sizeOf(letter) + RECORD_OVERHEAD_BYTES > this.limitOf(topic) ? this.reference(topic, letter) : this.whole(letter))),
    }));
    try {
      await this.producer.sendBatch({ topicMessages: batches.map(({ topic, messages }) => ({ topic, messages })) });
      return;
    } catch (error) {
      if (!refusedAsTooLarge(error)) throw error;
    }
    // The broker's limit is lower than it said (changed since, or a broker-wide cap): find the
    // letters it refuses one at a time. Letters sent before a later failure are sent again when
    // the flush is retried; dead letters are at least once.
    for (const { topic, letters, messages } of batches) {
      for (let i = 0; i < letters.length; i++) {
        const letter = letters[i]!;
        try {
          await this.producer.send({ topic, messages: [messages[i]!] });
          continue;
        } catch (error) {
          if (!refusedAsTooLarge(error) || messages[i]!.headers?.dead_letter === "reference") throw this.tooSmall(topic, letter, error);
        }
        const size = sizeOf(letter);
        this.limits.set(topic, Math.min(this.limitOf(topic), size));
        try {
          await this.producer.send({ topic, messages: [this.reference(topic, letter)] });
        } catch (error) {
          throw this.tooSmall(topic, letter, error);
        }
      }
    }
  }

  private whole(letter: DeadLetter): Message {
    return { key: letter.key, value: letter.value, headers: letter.headers };
  }

  /** Where the event is, how big, why it was refused, and its first bytes; the source topic keeps the rest. */
  private reference(topic: string, letter: DeadLetter): Message {
    const size = letter.value?.length ?? 0;
    const { source_topic, source_partition, source_offset, reason, detail } = letter.headers;
    const why = `${size} bytes is above what dead-letter topic ${topic} accepts (max.message.bytes ${this.limitOf(topic)})`;
    letter.rejection.reason += `; the dead-letter topic holds a reference only: ${why}`;
    const value = JSON.stringify({
      dead_letter: "reference",
      source_topic,
      source_partition: Number(source_partition),
      source_offset,
      size,
      reason,
      detail,
      why,
      prefix: letter.value ? letter.value.subarray(0, REFERENCE_PREFIX_BYTES).toString("utf8") : null,
    });
    const key = letter.key && letter.key.length <= REFERENCE_MAX_KEY_BYTES ? letter.key : null;
    return { key, value, headers: { ...letter.headers, dead_letter: "reference", original_size: String(size) } };
  }

  private tooSmall(topic: string, letter: DeadLetter, error: unknown): Error {
    const { source_topic, source_partition, source_offset } = letter.headers;
    if (!refusedAsTooLarge(error)) return error as Error;
    return new Error(
      `dead-letter topic ${topic} refuses even a reference to ${source_topic}/${source_partition}@${source_offset}: raise its max.message.bytes (at least ${REFERENCE_PREFIX_BYTES + RECORD_OVERHEAD_BYTES * 2})`,
      { cause: error },
    );
  }
}
