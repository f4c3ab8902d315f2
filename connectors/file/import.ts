// Streaming import of canonical records from JSONL or CSV files into the store through FlowSink.
// Files are read in chunks and never held whole: rows go to the sink in batches, derived rows are
// rebuilt every `commitEvery` transitions and at the end of each file, and a bad row is recorded
// in rejected_records with its `file:line` while the rest imports.
import { createReadStream, statSync } from "node:fs";
import path from "node:path";
import type { Rejection, Transition, WorkItem } from "../../core/model.ts";
import { FlowSink } from "../../pipeline/sink.ts";
import type { Store } from "../../store/store.ts";
import { CsvRecordReader, csvLayout, mapCsvRow, mapJsonLine, type CsvLayout, type MapResult } from "./records.ts";

export type ImportFormat = "jsonl" | "csv";
export const IMPORT_SOURCE = "import";

export interface ImportProgress {
  file: string;
  bytesRead: number;
  totalBytes: number;
  /** Records read so far in this run (accepted + rejected). */
  rows: number;
  items: number;
  transitions: number;
  rejected: number;
  elapsedMs: number;
}

export interface ImportOptions {
  /** Forced format; otherwise chosen per file from its extension. */
  format?: ImportFormat;
  /** Records per FlowSink.write. */
  batchSize?: number;
  /** Transitions between derivations (FlowSink.commit). */
  commitEvery?: number;
  onProgress?: (progress: ImportProgress) => void;
  /** How many rejection reasons the summary keeps. */
  keepReasons?: number;
}

export interface ImportSummary {
  files: number;
  items: number;
  transitions: number;
  rejected: number;
  /** The first few rejections, for the summary line. */
  firstRejections: Rejection[];
  elapsedMs: number;
}

/** A problem with a whole file (missing, unknown format, unusable CSV header): nothing imported from it. */
export class ImportError extends Error {
  override name = "ImportError";
}

const MAX_PAYLOAD = 16_384;

export function formatOf(file: string, forced?: ImportFormat): ImportFormat {
  if (forced) return forced;
  const ext = path.extname(file).toLowerCase();
  if (ext === ".jsonl" || ext === ".ndjson" || ext === ".json") return "jsonl";
  if (ext === ".csv") return "csv";
  throw new ImportError(`${file}: cannot tell the format from the extension "${ext}"; pass --format jsonl or --format csv`);
}

/** Imports the files in order and returns what was stored and refused. */
export async function importFiles(store: Store, files: readonly string[], options: ImportOptions = {}): Promise<ImportSummary> {
  const importer = new Importer(store, options);
  // Check every file up front so a typo in the last name fails before anything is written.
  const plan = files.map((file) => {
    let size: number;
    try {
      const stat = statSync(file);
      if (!stat.isFile()) throw new ImportError(`${file} is not a file`);
      size = stat.size;
    } catch (error) {
      if (error instanceof ImportError) throw error;
      throw new ImportError(`${file}: cannot read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
    }
    return { file, size, format: formatOf(file, options.format) };
  });
  for (const { file, size, format } of plan) await importer.importFile(file, size, format);
  return importer.summary();
}

class Importer {
  // Two sinks take turns: while one derives what it stored (commit), the file is read on into the
  // other. Commits run one at a time and in order, so an item written through both is derived
  // last by the later commit, which sees all its rows.
  private readonly sinks: [FlowSink, FlowSink];
  private current = 0;
  private committing: Promise<void> | null = null;
  private readonly batchSize: number;
  private readonly commitEvery: number;
  private readonly keepReasons: number;
  private items: WorkItem[] = [];
  private transitions: Transition[] = [];
  private rejections: Rejection[] = [];
  private firstRejections: Rejection[] = [];
  private inflight: Promise<void> | null = null;
  private sinceCommit = 0;
  private rows = 0;
  private readonly started = Date.now();
  private fileCount = 0;

  constructor(store: Store, private readonly options: ImportOptions) {
    this.sinks = [new FlowSink(store), new FlowSink(store)];
    this.batchSize = options.batchSize ?? 50_000;
    this.commitEvery = options.commitEvery ?? 500_000;
    this.keepReasons = options.keepReasons ?? 5;
  }

  async importFile(file: string, totalBytes: number, format: ImportFormat): Promise<void> {
    this.fileCount += 1;
    const stream = createReadStream(file, { encoding: "utf8", highWaterMark: 1 << 20 });
    const csv = format === "csv" ? new CsvRecordReader() : null;
    let layout: CsvLayout | null = null;
    let recordStart = 0;
    let carry = "";
    let lineNo = 0;
    const report = () =>
      this.options.onProgress?.({
        file, bytesRead: stream.bytesRead, totalBytes, rows: this.rows,
        items: this.count("items") + this.items.length,
        transitions: this.count("transitions") + this.transitions.length,
        rejected: this.count("rejected") + this.rejections.length,
        elapsedMs: Date.now() - this.started,
      });

    const handle = (raw: string): MapResult | null => {
      lineNo += 1;
      let line = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
      if (lineNo === 1 && line.charCodeAt(0) === 0xfeff) line = line.slice(1); // UTF-8 byte order mark
      if (!csv) {
        recordStart = lineNo;
        if (line.trim() === "") return null;
        return mapJsonLine(line);
      }
      if (!csv.pending) {
        recordStart = lineNo;
        if (line.trim() === "") return null;
      }
      const cells = csv.feed(line);
      if (!cells) return null;
      if (!layout) {
        const decided = csvLayout(cells);
        if (!decided.ok) throw new ImportError(`${file}:${recordStart}: ${decided.reason}`);
        layout = decided.layout;
        return null;
      }
      return mapCsvRow(layout, cells);
    };

    // Returns true when the buffers are full and must be flushed before reading on.
    const accept = (result: MapResult, payload: string): boolean => {
      this.rows += 1;
      if (result.ok) {
        if (result.record.kind === "item") this.items.push(result.record.item);
        else this.transitions.push(result.record.transition);
        return this.items.length + this.transitions.length >= this.batchSize;
      }
      const rejection: Rejection = {
        source: IMPORT_SOURCE,
        reference: `${file}:${recordStart}`,
        reason: result.reason,
        payload: payload.slice(0, MAX_PAYLOAD),
      };
      this.rejections.push(rejection);
      if (this.firstRejections.length < this.keepReasons) this.firstRejections.push(rejection);
      return this.rejections.length >= 1000;
    };

    // A CSV record may span lines; its whole text is the rejection payload.
    let csvText = "";
    const processLine = (raw: string): boolean => {
      if (csv) csvText = csv.pending ? `${csvText}\n${raw}` : raw;
      const result = handle(raw);
      return result ? accept(result, csv ? csvText : raw) : false;
    };

    for await (const chunk of stream as AsyncIterable<string>) {
      const text = carry + chunk;
      let start = 0;
      for (;;) {
        const nl = text.indexOf("\n", start);
        if (nl === -1) break;
        const full = processLine(text.slice(start, nl));
        start = nl + 1;
        if (full) await this.flush();
      }
      carry = text.slice(start);
      report();
    }
    if (carry !== "" && processLine(carry)) await this.flush();
    if (csv?.pending) {
      recordStart = recordStart || lineNo;
      accept({ ok: false, reason: "file ends inside a quoted cell" }, csvText);
    }
    await this.flush();
    await this.commit();
    report();
  }

  private get sink(): FlowSink {
    return this.sinks[this.current] as FlowSink;
  }

  private count(what: "items" | "transitions" | "rejected"): number {
    return this.sinks[0].counts[what] + this.sinks[1].counts[what];
  }

  /** Hands the buffered rows to the sink; the write runs while the next batch is parsed. */
  private async flush(): Promise<void> {
    const batch = { items: this.items, transitions: this.transitions };
    this.items = [];
    this.transitions = [];
    await this.settleWrite();
    if (this.rejections.length) {
      const rejections = this.rejections;
      this.rejections = [];
      await this.sink.reject(rejections);
    }
    if (batch.items.length + batch.transitions.length === 0) return;
    const write = this.sink.write(batch);
    // Handled when awaited at the next flush; this only keeps Node from calling it unhandled meanwhile.
    write.catch(() => undefined);
    this.inflight = write;
    this.sinceCommit += batch.transitions.length;
    if (this.sinceCommit >= this.commitEvery) await this.startCommit();
  }

  private async settleWrite(): Promise<void> {
    if (this.inflight) {
      const previous = this.inflight;
      this.inflight = null;
      await previous;
    }
  }

  /** Starts deriving the current sink's rows and switches to the other sink. */
  private async startCommit(): Promise<void> {
    await this.settleWrite();
    if (this.committing) await this.committing;
    const commit = this.sink.commit();
    commit.catch(() => undefined);
    this.committing = commit;
    this.current = 1 - this.current;
    this.sinceCommit = 0;
  }

  /** Waits until everything written so far is derived. */
  private async commit(): Promise<void> {
    await this.startCommit();
    const last = this.committing;
    this.committing = null;
    await last;
  }

  summary(): ImportSummary {
    return {
      files: this.fileCount,
      items: this.count("items"),
      transitions: this.count("transitions"),
      rejected: this.count("rejected"),
      firstRejections: this.firstRejections,
      elapsedMs: Date.now() - this.started,
    };
  }
}
