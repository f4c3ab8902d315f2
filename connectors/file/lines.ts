// Line reading shared by the CSV import (main thread) and the JSONL parse worker. Files are read
// as bytes and decoded strictly: a line that is not UTF-8 or longer than the record cap is handed
// on as a LineFault (refused on its own by the caller), never as silently altered text.
import { isUtf8 } from "node:buffer";

/**
 * The longest line (and the longest CSV record) an import accepts. Real records are a few hundred
 * bytes; the cap bounds what one bad line (a missing newline, a stray quote) can make us hold.
 */
export const MAX_RECORD_BYTES = 1 << 20;

/** How much of an unreadable line is kept as its rejection payload. */
const FAULT_PAYLOAD_BYTES = 16_384;

/** A line that cannot be used as text; `payload` shows its first bytes (Latin-1, one char per byte). */
export interface LineFault {
  reason: string;
  payload: string;
}

/** One line of a file: its text (without "\n"), or why it cannot be read. */
export type Line = string | LineFault;

export function isFault(line: Line): line is LineFault {
  return typeof line !== "string";
}

const mib = (bytes: number) => `${bytes / 1_048_576} MiB`;

/**
 * The index of the first byte of `bytes` that is not part of a well-formed UTF-8 sequence
 * (overlong forms, surrogates and code points past U+10FFFF included), or -1. Only run on a line
 * isUtf8 already refused, so it need not be fast.
 */
export function firstInvalidUtf8(bytes: Uint8Array): number {
  let i = 0;
  const n = bytes.length;
  while (i < n) {
    const b = bytes[i] as number;
    if (b < 0x80) {
      i += 1;
      continue;
    }
    let need: number;
    let min: number;
    if (b >= 0xc2 && b <= 0xdf) [need, min] = [1, 0x80];
    else if (b >= 0xe0 && b <= 0xef) [need, min] = [2, 0x800];
    else if (b >= 0xf0 && b <= 0xf4) [need, min] = [3, 0x10000];
    else return i;
    let cp = b & (0x3f >> need);
    for (let k = 1; k <= need; k++) {
      const c = bytes[i + k];
      if (c === undefined || (c & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (c & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
    i += need + 1;
  }
  return -1;
}

/** A line's bytes as text, or the fault that keeps it out. */
export function decodeLine(bytes: Buffer): Line {
  if (bytes.length > MAX_RECORD_BYTES) return overlong(bytes);
  if (isUtf8(bytes)) return bytes.toString("utf8");
  const at = firstInvalidUtf8(bytes);
  const byte = (bytes[at] as number).toString(16).toUpperCase().padStart(2, "0");
  return {
    reason: `line is not UTF-8 (byte 0x${byte} at column ${at + 1}): save the file as UTF-8`,
    payload: bytes.toString("latin1", 0, FAULT_PAYLOAD_BYTES),
  };
}

export function overlong(head: Buffer): LineFault {
  return {
    reason: `line is longer than ${mib(MAX_RECORD_BYTES)}, the longest record an import reads: is a line break missing?`,
    payload: head.toString("latin1", 0, FAULT_PAYLOAD_BYTES),
  };
}

/** Whole lines in bytes[start, end) (end is a "\n" or the end of the data), pushed onto `out`. */
function pushLines(chunk: Buffer, start: number, end: number, out: Line[]): void {
  if (start > end) return;
  const region = chunk.subarray(start, end);
  // The common case: one validation and one decode for a chunk's worth of lines, then slices.
  if (region.length <= MAX_RECORD_BYTES && isUtf8(region)) {
    const text = region.toString("utf8");
    let from = 0;
    for (;;) {
      const nl = text.indexOf("\n", from);
      if (nl === -1) break;
      out.push(text.slice(from, nl));
      from = nl + 1;
    }
    out.push(from === 0 ? text : text.slice(from));
    return;
  }
  // Something in this chunk is not UTF-8 (or the chunk is huge): look line by line.
  let from = 0;
  for (;;) {
    const nl = region.indexOf(10, from);
    out.push(decodeLine(region.subarray(from, nl === -1 ? region.length : nl)));
    if (nl === -1) break;
    from = nl + 1;
  }
}

/**
 * The lines of a byte stream, one read chunk's worth at a time, split at "\n" (the last line may
 * have had none). A line longer than MAX_RECORD_BYTES is not held: its first bytes are kept for
 * the rejection and the rest skipped up to the next "\n", so memory stays bounded by the cap.
 */
export async function* byteLineBatches(stream: AsyncIterable<Buffer>): AsyncGenerator<Line[]> {
  // The unfinished last line of the previous chunks (only ever joined to its own rest).
  let carry: Buffer[] = [];
  let carryBytes = 0;
  /** The head of an overlong line whose rest is being skipped. */
  let skipping: Buffer | null = null;
  for await (const chunk of stream) {
    const lines: Line[] = [];
    const first = chunk.indexOf(10);
    if (first === -1) {
      if (skipping) continue;
      if (carryBytes + chunk.length > MAX_RECORD_BYTES) {
        skipping = Buffer.concat([...carry, chunk]).subarray(0, FAULT_PAYLOAD_BYTES);
        carry = [];
        carryBytes = 0;
      } else {
        carry.push(chunk);
        carryBytes += chunk.length;
      }
      continue;
    }
    let start = 0;
    if (skipping) {
      lines.push(overlong(skipping));
      skipping = null;
      start = first + 1;
    } else if (carryBytes > 0) {
      if (carryBytes + first > MAX_RECORD_BYTES) lines.push(overlong(Buffer.concat(carry)));
      else lines.push(decodeLine(Buffer.concat([...carry, chunk.subarray(0, first)])));
      carry = [];
      carryBytes = 0;
      start = first + 1;
    }
    const last = chunk.lastIndexOf(10);
    pushLines(chunk, start, last, lines);
    const rest = chunk.subarray(last + 1);
    if (rest.length > MAX_RECORD_BYTES) skipping = Buffer.from(rest.subarray(0, FAULT_PAYLOAD_BYTES));
    else if (rest.length > 0) {
      // A copy: the stream may reuse the chunk's memory once we move on.
      carry = [Buffer.from(rest)];
      carryBytes = rest.length;
    }
    yield lines;
  }
  if (skipping) yield [overlong(skipping)];
  else if (carryBytes > 0) yield [decodeLine(Buffer.concat(carry))];
}

/** A line without a trailing "\r" (CRLF files) and, on line 1, without a UTF-8 byte order mark. */
export function lineText(raw: string, lineNo: number): string {
  const line = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
  return lineNo === 1 && line.charCodeAt(0) === 0xfeff ? line.slice(1) : line;
}
