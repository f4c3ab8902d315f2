// Worker thread for JSONL imports: reads the file, splits lines, runs the same pure mapping
// (mapJsonLine) as the main thread would, and encodes the rows exactly as the sink stores them,
// so the main thread only hands finished insert payloads to the store. Payloads are spooled to
// files, which the embedded store reads far more cheaply than bytes passed inline (see
// Store.insertFile). Packets go out in file order and only while the main thread has granted
// credit, which keeps memory and spool space bounded.
import { closeSync, createReadStream, openSync, readSync, writeSync } from "node:fs";
import path from "node:path";
import { parentPort, workerData } from "node:worker_threads";
import type { Transition, WorkItem } from "../../core/model.ts";
import { encodeItems, encodeTransitions } from "../../pipeline/sink.ts";
import { batchEndsBefore, type Packet, type PacketRejection, type ParseJob, type SpooledRows, type WorkerMessage } from "./packet.ts";
import { byteLineBatches } from "./lines.ts";
import { mapJsonlLine, recordItemId, RepeatCounter } from "./records.ts";

/** Rows per encoded slice: about 100 KB of text, under V8's large-object size. */
const SPOOL_SLICE_ROWS = 1000;

/**
 * The number of "\n" in the file's first `end` bytes: the lines before a range, so a later range's
 * line numbers and versions continue the earlier ranges' (about 1 s per GB, run while the first
 * range is already being read).
 */
function countLines(file: string, end: number): number {
  if (end === 0) return 0;
  const fd = openSync(file, "r");
  const buffer = Buffer.allocUnsafe(1 << 20);
  let lines = 0;
  try {
    for (let position = 0; position < end; ) {
      const read = readSync(fd, buffer, 0, Math.min(buffer.length, end - position), position);
      if (read === 0) break;
      const view = read === buffer.length ? buffer : buffer.subarray(0, read);
      for (let i = view.indexOf(10); i !== -1; i = view.indexOf(10, i + 1)) lines += 1;
      position += read;
    }
  } finally {
    closeSync(fd);
  }
  return lines;
}

async function run(port: NonNullable<typeof parentPort>, job: ParseJob): Promise<void> {
  let credit = job.credits;
  let wake: (() => void) | null = null;
  port.on("message", (message) => {
    if (message === "credit") {
      credit += 1;
      wake?.();
      wake = null;
    }
  });

  // 64 KB reads: each decoded chunk stays a young-generation string (a 1 MB one is a fresh large
  // allocation per read; this halved the import's page faults). Bytes, not text: lines are
  // checked to be UTF-8 before they are decoded (byteLineBatches).
  const linesBefore = countLines(job.file, job.start);
  // Each table's rows are numbered in file order from here: a range has no more rows than lines,
  // so the next range's numbers start above this one's.
  const rangeVersion = job.fileVersion + linesBefore;
  let itemsBefore = 0;
  let transitionsBefore = 0;
  const stream = createReadStream(job.file, { start: job.start, end: job.end - 1, highWaterMark: 1 << 16 });
  let packetNo = 0;
  let items: WorkItem[] = [];
  let transitions: Transition[] = [];
  let rejections: PacketRejection[] = [];
  let repeats = new RepeatCounter();
  let lineNo = linesBefore;

  const records = () => items.length + transitions.length + rejections.length;

  // Rows are encoded and written a slice at a time: small strings stay in V8's young generation,
  // where one string for a whole packet would be a fresh large allocation (page faults) each time.
  const spool = <T>(table: string, rows: readonly T[], encode: (slice: readonly T[], offset: number) => string): SpooledRows => {
    if (rows.length === 0) return { file: "", count: 0 };
    const file = path.join(job.spoolDir, `${job.start}-${packetNo}-${table}.json`);
    const fd = openSync(file, "w");
    try {
      for (let i = 0; i < rows.length; i += SPOOL_SLICE_ROWS) writeSync(fd, encode(rows.slice(i, i + SPOOL_SLICE_ROWS), i));
    } finally {
      closeSync(fd);
    }
    return { file, count: rows.length };
  };

  const send = async () => {
    if (records() === 0) return;
    if (credit === 0) await new Promise<void>((resolve) => (wake = resolve));
    credit -= 1;
    packetNo += 1;
    // Versions in file order: a later line of the same record wins, in this range or a later one.
    const itemVersion = rangeVersion + itemsBefore;
    const transitionVersion = rangeVersion + transitionsBefore;
    itemsBefore += items.length;
    transitionsBefore += transitions.length;
    const ingestedAt = Date.now();
    const packet: Packet = {
      type: "packet",
      items: spool("work_items", items, (slice, offset) => encodeItems(slice, itemVersion + offset)),
      transitions: spool("transitions", transitions, (slice, offset) => encodeTransitions(slice, ingestedAt, transitionVersion + offset)),
      itemIds: repeats.itemIds(),
      repeats: { items: repeats.items, transitions: repeats.transitions },
      rejections,
      bytesRead: stream.bytesRead,
    };
    items = [];
    transitions = [];
    repeats = new RepeatCounter();
    rejections = [];
    port.postMessage(packet);
  };

  let lastItemId = "";
  for await (const lines of byteLineBatches(stream as AsyncIterable<Buffer>)) {
    for (const raw of lines) {
      lineNo += 1;
      const result = mapJsonlLine(raw, lineNo);
      if (!result) continue;
      const itemId = result.ok ? recordItemId(result.record) : lastItemId;
      if (batchEndsBefore(records(), job.batchSize, itemId, lastItemId)) await send();
      lastItemId = itemId;
      if (!result.ok) {
        rejections.push({ line: lineNo, reason: result.reason, payload: result.payload.slice(0, job.maxPayload) });
        continue;
      }
      repeats.see(result.record);
      if (result.record.kind === "transition") transitions.push(result.record.transition);
      else items.push(result.record.item);
    }
  }
  await send();
  port.postMessage({ type: "done", bytesRead: stream.bytesRead, lines: lineNo } satisfies WorkerMessage);
  port.removeAllListeners("message");
}

if (parentPort) {
  const port = parentPort;
  run(port, workerData as ParseJob).catch((error: NodeJS.ErrnoException) => {
    port.postMessage({ type: "error", message: error.message, code: error.code } satisfies WorkerMessage);
    port.removeAllListeners("message");
  });
}
