// Line reading shared by the CSV import (main thread) and the JSONL parse worker.

/**
 * The lines of a text stream, one read chunk's worth at a time, without their "\n" (the last
 * line may have had none). Whole chunks, not single lines, so the per-line cost stays a slice.
 */
export async function* lineBatches(stream: AsyncIterable<string>): AsyncGenerator<string[]> {
  // The carried partial line is joined to its rest only, never to the whole chunk: a chunk-sized
  // concatenation would be copied again when searched.
  let carry = "";
  for await (const chunk of stream) {
    const lines: string[] = [];
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf("\n", start);
      if (nl === -1) break;
      const line = chunk.slice(start, nl);
      lines.push(start === 0 && carry !== "" ? carry + line : line);
      if (start === 0) carry = "";
      start = nl + 1;
    }
    carry = start === 0 ? carry + chunk : chunk.slice(start);
    yield lines;
  }
  if (carry !== "") yield [carry];
}

/** A line without a trailing "\r" (CRLF files) and, on line 1, without a UTF-8 byte order mark. */
export function lineText(raw: string, lineNo: number): string {
  const line = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
  return lineNo === 1 && line.charCodeAt(0) === 0xfeff ? line.slice(1) : line;
}
