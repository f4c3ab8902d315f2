// What the JSONL parse worker (parse-worker.ts) and the importer exchange.

export interface ParseJob {
  file: string;
  maxPayload: number;
  /** Records per packet; each packet becomes one sink write. */
  batchSize: number;
  /** Packets the worker may send before it waits for a "credit" message. */
  credits: number;
}

export interface PacketRejection {
  line: number;
  reason: string;
  payload: string;
}

/**
 * A batch of records in file order, already encoded as the sink stores them (encodeItems and
 * encodeTransitions text, UTF-8), so the importer only hands them on. `itemIds` lists each item
 * the rows touch once.
 */
export interface Packet {
  type: "packet";
  items: Uint8Array;
  itemCount: number;
  transitions: Uint8Array;
  transitionCount: number;
  itemIds: string[];
  rejections: PacketRejection[];
  bytesRead: number;
}

export type WorkerMessage = Packet | { type: "done"; bytesRead: number } | { type: "error"; message: string; code?: string };
