// What the JSONL parse worker (parse-worker.ts) and the importer exchange.

export interface ParseJob {
  file: string;
  maxPayload: number;
  /** Records per packet; each packet becomes one sink write. */
  batchSize: number;
  /** Packets the worker may send before it waits for a "credit" message. */
  credits: number;
  /** A private directory for the packets' row files; the importer removes it when done. */
  spoolDir: string;
}

/**
 * Whether a batch already holding `records` rows ends before the next record, of `itemId`. A full
 * batch ends where an item's rows end (within a second batch's worth), so in a file that keeps
 * each item's rows together every item falls in one unit of work: derived once, and its derived
 * rows never straddle two parts (FINAL reads would have to merge those).
 */
export function batchEndsBefore(records: number, batchSize: number, itemId: string, lastItemId: string): boolean {
  return records >= batchSize && (itemId !== lastItemId || records >= 2 * batchSize);
}

export interface PacketRejection {
  line: number;
  reason: string;
  payload: string;
}

/** One table's rows of a packet, spooled to a file (none when count is 0). */
export interface SpooledRows {
  file: string;
  count: number;
}

/**
 * A batch of records in file order, already encoded as the sink stores them (encodeItems and
 * encodeTransitions text) and spooled to files, so the importer only hands the files to the store
 * and deletes them once written. `itemIds` lists each item the rows touch once.
 */
export interface Packet {
  type: "packet";
  items: SpooledRows;
  transitions: SpooledRows;
  itemIds: string[];
  /** Records that repeated an earlier one of this packet (stored once by the store). */
  repeats: { items: number; transitions: number };
  rejections: PacketRejection[];
  bytesRead: number;
}

export type WorkerMessage = Packet | { type: "done"; bytesRead: number } | { type: "error"; message: string; code?: string };
