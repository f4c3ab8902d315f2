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
 * Byte sequences that send a line to the importer's own mapping. `null`: the engine reads a null
 * as "missing", the mapping refuses it. `\u`: an escape can spell a member name the engine would
 * then not recognise as the same. `"deleted"`: the engine reads 1 as true, the mapping wants a boolean.
 * Separators with nothing between them are checked apart (looseSeparators).
 */
const UNTRUSTED = [Buffer.from("null"), Buffer.from("\\u"), Buffer.from('"deleted"')];

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

/** Where each pattern next occurs at or after a position, found lazily as lines are passed. */
class NextMatches {
  private readonly next: number[];

  constructor(private readonly bytes: Buffer) {
    this.next = UNTRUSTED.map((pattern) => bytes.indexOf(pattern));
  }

  /** True if any pattern occurs within bytes[start, end); positions are asked in increasing order. */
  within(start: number, end: number): boolean {
    let found = false;
    for (let i = 0; i < UNTRUSTED.length; i++) {
      let at = this.next[i] as number;
      if (at !== -1 && at < start) {
        at = this.bytes.indexOf(UNTRUSTED[i] as Buffer, start);
        this.next[i] = at;
      }
      if (at !== -1 && at < end) found = true;
    }
    return found;
  }
}

const isJsonSpace = (b: number | undefined) => b === 0x20 || b === 0x09 || b === 0x0d || b === 0x0a;

/**
 * True if a comma in bytes[from, end) has nothing before or after it: `,,`, `,}`, `,]`, `{,` or
 * `[,`, spaces allowed. JSON.parse refuses these; the engine's row reader skips them. Such bytes
 * inside a string are harmless but rare, so any occurrence sends the line to the mapping.
 */
function looseSeparators(bytes: Buffer, from: number, end: number): boolean {
  for (let comma = bytes.indexOf(0x2c, from); comma !== -1 && comma < end; comma = bytes.indexOf(0x2c, comma + 1)) {
    let after = comma + 1;
    while (after < end && isJsonSpace(bytes[after])) after += 1;
    const next = bytes[after];
    if (after >= end || next === 0x2c || next === CLOSE_BRACE || next === 0x5d) return true;
    let before = comma - 1;
    while (before >= from && isJsonSpace(bytes[before])) before -= 1;
    const previous = bytes[before];
    if (before < from || previous === OPEN_BRACE || previous === 0x5b) return true;
  }
  return false;
}

/** JSON's escapes other than \u (which never reaches the engine): `\" \\ \/ \b \f \n \r \t`. */
const SIMPLE_ESCAPES = new Set([0x22, 0x5c, 0x2f, 0x62, 0x66, 0x6e, 0x72, 0x74]);

/**
 * False if bytes[from, end) hold a control character (JSON.parse refuses one raw in a string, the
 * engine keeps it) or a backslash not starting one of JSON's escapes (the engine may read it as
 * something else).
 */
function plainText(bytes: Buffer, from: number, end: number): boolean {
  for (let i = from; i < end; i++) {
    const b = bytes[i] as number;
    if (b < 0x20) return false;
    if (b === 0x5c) {
      if (!SIMPLE_ESCAPES.has(bytes[i + 1] as number) || i + 1 >= end) return false;
      i += 1;
    }
  }
  return true;
}

/** Splits a chunk into lines and writes the ones the engine may take, each marked with its number. */
function prepare(bytes: Buffer, start: number, firstLine: number): JsonlChunk {
  // One check for the whole chunk in the common case; line by line only if it fails.
  const allUtf8 = isUtf8(bytes);
  const untrusted = new NextMatches(bytes);
  let out = Buffer.allocUnsafe(bytes.length + (bytes.length >> 2) + 4096);
  let written = 0;
  let lineNo = firstLine;
  let lineCount = 0;
  for (let from = 0; from < bytes.length; lineNo++) {
    const newline = bytes.indexOf(NEWLINE, from);
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
      !looseSeparators(bytes, from, end) &&
      plainText(bytes, from, end) &&
      (allUtf8 || isUtf8(bytes.subarray(from, end)));
    if (offered) {
      const head = `{"_line":${lineNo},`;
      const tail = `,"_end":${lineNo}}\n`;
      const need = head.length + (end - from - 2) + tail.length;
      if (written + need > out.length) {
        const grown = Buffer.allocUnsafe(Math.max(out.length * 2, written + need));
        out.copy(grown, 0, 0, written);
        out = grown;
      }
      written += out.write(head, written, "latin1");
      written += bytes.copy(out, written, from + 1, end - 1);
      written += out.write(tail, written, "latin1");
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
