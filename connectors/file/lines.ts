// Line reading shared by the CSV import (main thread) and the JSONL parse worker.

/**
 * The lines of a text stream, one read chunk's worth at a time, without their "\n" (the last
 * line may have had none). Whole chunks, not single lines, so the per-line cost stays a slice.
 */
export async function* lineBatches(stream: AsyncIterable<string>): AsyncGenerator<string[]> {
  let carry = "";
  for await (const chunk of stream) {
    const text = carry + chunk;
    const lines: string[] = [];
    let start = 0;
    for (;;) {
      const nl = text.indexOf("\n", start);
      if (nl === -1) break;
      lines.push(text.slice(start, nl));
      start = nl + 1;
    }
    carry = text.slice(start);
    yield lines;
  }
  if (carry !== "") yield [carry];
}

/** A line without a trailing "\r" (CRLF files) and, on line 1, without a UTF-8 byte order mark. */
export function lineText(raw: string, lineNo: number): string {
  const line = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
  return lineNo === 1 && line.charCodeAt(0) === 0xfeff ? line.slice(1) : line;
}
