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
  rejections: PacketRejection[];
  bytesRead: number;
}

export type WorkerMessage = Packet | { type: "done"; bytesRead: number } | { type: "error"; message: string; code?: string };
