// What the JSONL parse worker (parse-worker.ts) and the importer exchange.

export interface ParseJob {
  file: string;
  /**
   * The byte range this worker reads, [start, end): a large file is split between workers at line
   * starts (splitAtLines), and each reads its own range.
   */
  start: number;
  end: number;
  /**
   * The version of the file's line 0. A row gets this plus the number of lines before its range
   * plus its place among its table's rows in the range, so versions follow file order across the
   * workers' ranges without the workers talking to each other.
   */
  fileVersion: number;
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

/** `lines`: the number of the last line read (the file's line count, for the last range). */
export type WorkerMessage = Packet | { type: "done"; bytesRead: number; lines: number } | { type: "error"; message: string; code?: string };

/**
 * Splits [0, size) into up to `parts` ranges that each start at a line start: the nominal cut
 * points size*k/parts move forward to just past the next "\n". `newlineAtOrAfter(position)`
 * returns the offset of the first "\n" at or after `position`, or -1. Ranges may be fewer than
 * `parts` when lines are long; none is empty.
 */
export function splitAtLines(size: number, parts: number, newlineAtOrAfter: (position: number) => number): { start: number; end: number }[] {
  const cuts = [0];
  for (let k = 1; k < parts; k++) {
    const nominal = Math.floor((size * k) / parts);
    const previous = cuts[cuts.length - 1] as number;
    if (nominal <= previous) continue;
    const newline = newlineAtOrAfter(nominal - 1);
    if (newline === -1 || newline + 1 >= size) break;
    if (newline + 1 > previous) cuts.push(newline + 1);
  }
  return cuts.map((start, k) => ({ start, end: cuts[k + 1] ?? size }));
}
