// What the JSONL parse worker (parse-worker.ts) and the importer exchange.

export interface ParseJob {
  file: string;
  maxPayload: number;
  /** Packets the worker may send before it waits for a "credit" message. */
  credits: number;
}

/** Record kinds in a packet, in file order. */
export const PACKET_ITEM = 0;
export const PACKET_TRANSITION = 1;
export const PACKET_REJECTED = 2;

/**
 * The records of one read chunk, packed: strings concatenated in `text` with their lengths in
 * `lens`, numbers in `nums`. Per kind, in order:
 * item: strings item_id source stream key title url flow_type team source_type, then its labels;
 * nums created_at, deleted (0/1), label count.
 * transition: strings event_id item_id from_state to_state to_flow_state; nums at.
 * rejected: strings reason payload; nums line.
 */
export interface Packet {
  type: "packet";
  kinds: Uint8Array;
  nums: Float64Array;
  lens: Uint32Array;
  text: string;
  bytesRead: number;
}

export type WorkerMessage = Packet | { type: "done"; bytesRead: number } | { type: "error"; message: string; code?: string };
