// A JSONL file in chunks of whole lines, each also written out for the engine to parse itself
// (sql/ingest/stage_jsonl.sql). Every line the engine may take is offered as
// `{"_line":N,` + its members + `,"_end":N}`, so each row the engine makes says which line it came
// from, and a line that does not hold exactly one object cannot pass as one. Lines the engine
// cannot be trusted with are not offered at all: the importer maps those itself (mapJsonLine), so
// they are accepted or refused by exactly the rules any other line is.
import type { FileHandle } from "node:fs/promises";
import { open } from "node:fs/promises";
import { isUtf8 } from "node:buffer";
import { MAX_RECORD_BYTES, overlong, type LineFault } from "./lines.ts";

export interface JsonlChunk {
  /** The chunk's bytes as read: whole lines, the last one with or without its "\n". */
  bytes: Buffer;
  /** Byte offset of the chunk in the file, and the bytes read up to its end. */
  start: number;
  end: number;
  /** The number (1-based) of the chunk's first line, and how many lines it holds. */
  firstLine: number;
  lineCount: number;
  /** The lines offered to the engine, rewritten as above, one per line. */
  engineInput: Buffer;
}

/** A line longer than any chunk: refused on its own, its first bytes kept. */
export interface OverlongLine {
  line: number;
  fault: LineFault;
  end: number;
}

const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const NEWLINE = 0x0a;
const RETURN = 0x0d;

/**
 * What sends a line to the importer's own mapping instead of the engine, as one pattern so a
 * chunk is scanned once (natively) rather than byte by byte in JavaScript:
 * - a control character other than the line's own "\n" (JSON.parse refuses one raw in a string,
 *   the engine keeps it);
 * - a backslash not starting one of JSON's escapes `\" \\ \/ \b \f \n \r \t`, which includes
 *   `\u`: the engine may read a bad escape as something else, and a `\u` escape can spell a
 *   member name the engine would then not take for the same one. Found wherever it stands: a
 *   backslash that is itself escaped (`\\u`) also matches, which only sends a good line the
 *   slower way;
 * - `null`: the engine reads a null as "missing", the mapping refuses it;
 * - `"deleted"`: the engine reads 1 as true, the mapping wants a boolean;
 * - a separator with nothing beside it (`,,` `,}` `,]` `{,` `[,`, spaces between): JSON.parse
 *   refuses it, the engine's row reader skips it. Inside a string it is harmless but rare;
 * - `"_line"` or `"_end"`, the marks' own names: a line that ends one object with `"_end":N}` and
 *   opens another with `{"_line":N` would, marked, read as two rows both naming line N (JSON.parse
 *   refuses the line). With the names kept out, only the first row of a line can carry its number
 *   and only the last its end, so a line gives the stage one row or none.
 */
// eslint-disable-next-line no-control-regex -- control characters are what the first branch looks for
const UNTRUSTED = /[\x00-\x09\x0b-\x1f]|\\(?:[^"\\/bfnrt]|$)|null|"deleted"|"_(?:line|end)"|,[ ]*[,}\]]|[{[][ ]*,/g;

/**
 * Reads `file` in chunks of about `chunkBytes`, cut after a "\n". A line longer than a chunk is
 * reported as an OverlongLine (its bytes are skipped, not held).
 */
export async function* jsonlChunks(file: string, chunkBytes: number): AsyncGenerator<JsonlChunk | OverlongLine> {
  const handle = await open(file, "r");
  try {
    /** File offset of the next chunk's first byte; the bytes from there already read are `carry`. */
    let offset = 0;
    let line = 1;
    let carry: Buffer | null = null;
    for (;;) {
      const kept: number = carry?.length ?? 0;
      const buffer = Buffer.allocUnsafe(Math.max(chunkBytes, kept * 2));
      if (carry) carry.copy(buffer, 0);
      const { bytesRead } = await handle.read(buffer, kept, buffer.length - kept, offset + kept);
      const filled: number = kept + bytesRead;
      if (filled === 0) return;
      const atEnd: boolean = filled < buffer.length;
      const cut: number = atEnd ? filled : buffer.lastIndexOf(NEWLINE, filled - 1) + 1;
      if (cut === 0 && filled <= MAX_RECORD_BYTES) {
        // A line longer than a chunk but within the cap: read on with a bigger buffer.
        carry = Buffer.from(buffer.subarray(0, filled));
        continue;
      }
      if (cut === 0) {
        // No line end within the record cap: refuse the line and skip to its end.
        const end = await skipLine(handle, offset + filled);
        yield { line, fault: overlong(buffer.subarray(0, Math.min(filled, 1 << 14))), end };
        line += 1;
        offset = end;
        carry = null;
        continue;
      }
      const chunk = prepare(buffer.subarray(0, cut), offset, line);
      carry = cut < filled ? Buffer.from(buffer.subarray(cut, filled)) : null;
      offset += cut;
      line += chunk.lineCount;
      yield chunk;
      if (atEnd && !carry) return;
    }
  } finally {
    await handle.close();
  }
}

/** The offset just past the "\n" ending the line that runs through `position` (or the file's end). */
async function skipLine(handle: FileHandle, position: number): Promise<number> {
  const buffer = Buffer.allocUnsafe(1 << 16);
  for (let at = position; ; ) {
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, at);
    if (bytesRead === 0) return at;
    const newline = buffer.subarray(0, bytesRead).indexOf(NEWLINE);
    if (newline !== -1) return at + newline + 1;
    at += bytesRead;
  }
}

/** Where UNTRUSTED next matches at or after a position, found lazily as lines are passed. */
class NextMatch {
  private readonly pattern = new RegExp(UNTRUSTED);
  /** The next match's offset; -1 for none to the chunk's end; undefined before the first search. */
  private next: number | undefined;

  /** The chunk as latin1 text: one character per byte, so a match's index is its byte offset. */
  constructor(private readonly text: string) {}

  /** True if the pattern matches within [start, end); positions are asked in increasing order. */
  within(start: number, end: number): boolean {
    if (this.next === undefined || (this.next !== -1 && this.next < start)) {
      this.pattern.lastIndex = start;
      this.next = this.pattern.exec(this.text)?.index ?? -1;
    }
    // A match starting inside the line but reaching past it (`,` + `}` of the next line) cannot
    // happen: lines are cut at "\n", which no branch of the pattern crosses.
    return this.next !== -1 && this.next < end;
  }
}

const LINE_HEAD = Buffer.from('{"_line":', "latin1");
const LINE_TAIL = Buffer.from(',"_end":', "latin1");
const DIGITS = new Uint8Array(16);

/** Writes `n` (a line number) in decimal at `at`; returns the position after it. */
function writeDecimal(out: Uint8Array, at: number, n: number): number {
  let count = 0;
  do {
    DIGITS[count++] = 0x30 + (n % 10);
    n = Math.floor(n / 10);
  } while (n > 0);
  while (count > 0) out[at++] = DIGITS[--count] as number;
  return at;
}

/** Copies a few bytes; for the short marks a loop costs less than a native copy's call. */
function writeBytes(out: Uint8Array, at: number, bytes: Uint8Array): number {
  for (let i = 0; i < bytes.length; i++) out[at++] = bytes[i] as number;
  return at;
}

/** Splits a chunk into lines and writes the ones the engine may take, each marked with its number. */
function prepare(bytes: Buffer, start: number, firstLine: number): JsonlChunk {
  // One check for the whole chunk in the common case; line by line only if it fails.
  const allUtf8 = isUtf8(bytes);
  const text = bytes.toString("latin1");
  const untrusted = new NextMatch(text);
  // Every line plus its marks: `{"_line":N,` and `,"_end":N}\n` add under 48 bytes to a line.
  let out = Buffer.allocUnsafe(bytes.length + (bytes.length >> 2) + 4096);
  let written = 0;
  let lineNo = firstLine;
  let lineCount = 0;
  for (let from = 0; from < bytes.length; lineNo++) {
    const newline = text.indexOf("\n", from);
    const next = newline === -1 ? bytes.length : newline + 1;
    let end = newline === -1 ? bytes.length : newline;
    if (end > from && bytes[end - 1] === RETURN) end -= 1;
    lineCount += 1;
    const offered =
      end - from >= 2 &&
      end - from <= MAX_RECORD_BYTES &&
      bytes[from] === OPEN_BRACE &&
      bytes[end - 1] === CLOSE_BRACE &&
      !untrusted.within(from, end) &&
      (allUtf8 || isUtf8(bytes.subarray(from, end)));
    if (offered) {
      if (written + (end - from) + 48 > out.length) {
        const grown = Buffer.allocUnsafe(Math.max(out.length * 2, written + (end - from) + 48));
        out.copy(grown, 0, 0, written);
        out = grown;
      }
      let at = writeDecimal(out, writeBytes(out, written, LINE_HEAD), lineNo);
      out[at++] = 0x2c;
      // A native copy: Buffer.copy's own overhead per call costs more than a line's bytes.
      out.set(bytes.subarray(from + 1, end - 1), at);
      at += end - from - 2;
      at = writeDecimal(out, writeBytes(out, at, LINE_TAIL), lineNo);
      out[at++] = CLOSE_BRACE;
      out[at++] = NEWLINE;
      written = at;
    }
    from = next;
  }
  return { bytes, start, end: start + bytes.length, firstLine, lineCount, engineInput: out.subarray(0, written) };
}

/** Reads single lines of a chunk by number (the few the engine left out), indexing the chunk once. */
export class ChunkLines {
  private starts: Uint32Array | null = null;

  constructor(private readonly chunk: JsonlChunk) {}

  /** The bytes of line `lineNo` without its "\n". */
  line(lineNo: number): Buffer {
    const { bytes, firstLine, lineCount } = this.chunk;
    if (!this.starts) {
      this.starts = new Uint32Array(lineCount + 1);
      let from = 0;
      for (let i = 0; i < lineCount; i++) {
        this.starts[i] = from;
        const newline = bytes.indexOf(NEWLINE, from);
        from = newline === -1 ? bytes.length : newline + 1;
      }
      this.starts[lineCount] = bytes.length;
    }
    const index = lineNo - firstLine;
    const from = this.starts[index] as number;
    let end = this.starts[index + 1] as number;
    if (end > from && bytes[end - 1] === NEWLINE) end -= 1;
    return bytes.subarray(from, end);
  }
}
