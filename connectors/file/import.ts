// Streaming import of canonical records from JSONL or CSV files into the store through FlowSink.
// Files are read in chunks and never held whole: rows go to the sink in batches, derived rows are
// rebuilt every `commitEvery` transitions and at the end of each file, and a bad row is recorded
// in rejected_records with its `file:line` while the rest imports.
// JSONL is read and mapped in a worker thread (parse-worker.ts) so parsing overlaps storing.
import { closeSync, createReadStream, mkdtempSync, openSync, readdirSync, readSync, rmSync, statSync } from "node:fs";
import { rm, writeFile } from "node:fs/promises";
import { availableParallelism, tmpdir } from "node:os";
import path from "node:path";
import type { Rejection, Transition, WorkItem } from "../../core/model.ts";
import { pidExists } from "../../core/process.ts";
import { addElapsed } from "../../core/time.ts";
import { FlowSink, nextVersions, STAGE_COLUMNS, stageValues } from "../../pipeline/sink.ts";
import { typeScriptWorker } from "../../pipeline/worker.ts";
import { sqlFile } from "../../store/sql.ts";
import type { Store } from "../../store/store.ts";
import { ChunkLines, jsonlChunks, type JsonlChunk } from "./jsonl-chunks.ts";
import { batchEndsBefore, splitAtLines, type Packet, type ParseJob, type WorkerMessage } from "./packet.ts";
import { byteLineBatches, decodeLine, lineText } from "./lines.ts";
import { CsvRecordReader, csvLayout, mapCsvRow, mapJsonlLine, recordItemId, RepeatCounter, type CsvLayout, type CsvOutcome } from "./records.ts";

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
  /** Worker threads parsing one JSONL file, each its own range of lines (default: see parseWorkers). */
  parseWorkers?: number;
  /**
   * Whether the embedded engine parses JSONL itself (default: yes for an embedded store; other
   * stores cannot read this host's files). False sends every line through the parse workers.
   */
  engineReads?: boolean;
  /** JSONL bytes per engine chunk (default ENGINE_CHUNK_BYTES); tests cut small files into many. */
  chunkBytes?: number;
}

export interface ImportSummary {
  files: number;
  /** Records read: every non-blank line or CSV record, accepted or rejected. */
  read: number;
  /** Items and transitions accepted and written (repeats included: see `repeats`). */
  items: number;
  transitions: number;
  /**
   * Accepted records that repeated an earlier one of the same batch (a worker packet, or an
   * engine chunk; same item_id; same item_id and event_id): written, but stored once. Repeats across batches, or of rows an earlier import
   * stored, replace the stored row and are not counted here.
   */
  repeats: { items: number; transitions: number };
  rejected: number;
  /** Of the records read, those the embedded engine parsed and checked itself (JSONL only). */
  byEngine: number;
  /** The first few rejections, for the summary line. */
  firstRejections: Rejection[];
  elapsedMs: number;
  /** Where this thread waited (ms): for parsed rows (JSONL worker), for the store's writes, for derives. */
  waits: { parseMs: number; writeMs: number; commitMs: number };
}

/** A problem with a whole file (missing, unknown format, unusable CSV header): nothing imported from it. */
export class ImportError extends Error {
  override name = "ImportError";
}

const MAX_PAYLOAD = 16_384;
/**
 * Sink writes that may run at once. chDB runs unparameterized inserts in parallel, so a second
 * write keeps the store busy while the first finishes; the rows collapse by key and version
 * whatever order they land in, and a commit waits for all of them.
 */
const WRITES_IN_FLIGHT = 2;
/**
 * Encoded packets (one sink write each) the JSONL worker may have waiting: enough to keep it
 * parsing while this thread waits for the store, few enough to keep memory flat.
 */
const WORKER_CREDITS = 2;
const WORKER_URL = new URL("./parse-worker.ts", import.meta.url);
/**
 * A JSONL file this big is split between parse workers, on a machine with cores to spare: parsing
 * is the import's bottleneck, but the store's inserts and derives need about a core of their own.
 * Measured on 2 cores (10M transitions): two workers 136k transitions/s against one 179k/s, the
 * workers and chDB taking turns on the same cores. For a small file the line count a later range
 * starts with is not worth it.
 */
const SPLIT_FILES_FROM_BYTES = 64 * 1024 * 1024;
/** At most this many workers, one per two cores: the other core of each pair is the store's. */
const MAX_PARSE_WORKERS = 2;
/**
 * JSONL bytes the engine parses per statement when it reads the file itself: each chunk is one
 * stage and one sink write (about 85k lines of 190 bytes). 48 MiB measured no faster at 3M
 * transitions and holds three times the memory per chunk in flight.
 */
const ENGINE_CHUNK_BYTES = 16 << 20;
/** Stage tables are named for their process, so a later import can drop those a killed one left. */
const STAGE_PREFIX = "import_stage_";
let stageSeq = 0;

/** The offset of the first "\n" at or after `position` in `file`, or -1. */
function newlineAtOrAfter(file: string, position: number): number {
  const fd = openSync(file, "r");
  const buffer = Buffer.allocUnsafe(1 << 16);
  try {
    for (let at = position; ; at += buffer.length) {
      const read = readSync(fd, buffer, 0, buffer.length, at);
      if (read === 0) return -1;
      const newline = buffer.subarray(0, read).indexOf(10);
      if (newline !== -1) return at + newline;
    }
  } finally {
    closeSync(fd);
  }
}

/**
 * Spool folders are named `flowpulse-import-<pid>-<random>`: the pid tells a later import whether
 * the folder's owner is gone (killed with SIGKILL, or the machine stopped) so it can be removed.
 */
const SPOOL_PREFIX = "flowpulse-import-";
const SPOOL_NAME = /^flowpulse-import-(\d+)-/;
/** This process's spool folders that exist right now. */
const liveSpools = new Set<string>();

function makeSpool(): string {
  const dir = mkdtempSync(path.join(tmpdir(), `${SPOOL_PREFIX}${process.pid}-`));
  if (liveSpools.size === 0) {
    process.on("SIGINT", removeSpoolsAndDie);
    process.on("SIGTERM", removeSpoolsAndDie);
  }
  liveSpools.add(dir);
  return dir;
}

async function dropSpool(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  liveSpools.delete(dir);
  if (liveSpools.size === 0) {
    process.off("SIGINT", removeSpoolsAndDie);
    process.off("SIGTERM", removeSpoolsAndDie);
  }
}

/** Ctrl-C or a kill: remove the spool folders, then end the way the signal would have. */
function removeSpoolsAndDie(signal: NodeJS.Signals): void {
  for (const dir of liveSpools) rmSync(dir, { recursive: true, force: true });
  liveSpools.clear();
  process.off("SIGINT", removeSpoolsAndDie);
  process.off("SIGTERM", removeSpoolsAndDie);
  process.kill(process.pid, signal);
}

/**
 * Removes spool folders in `dir` whose process is gone; returns their names. A folder whose pid
 * now belongs to another process stays until that one ends too.
 */
export function removeStaleSpools(dir: string = tmpdir()): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const pid = Number(SPOOL_NAME.exec(name)?.[1] ?? 0);
    if (pid <= 0 || pid === process.pid || pidExists(pid)) continue;
    try {
      rmSync(path.join(dir, name), { recursive: true, force: true });
      removed.push(name);
    } catch {
      // Another user's folder in a shared temp directory: theirs to remove, not a reason to stop.
    }
  }
  return removed;
}

/** Drops stage tables (sql/ingest/stage_create.sql) whose import process is gone. */
async function removeStaleStages(store: Store): Promise<void> {
  if (store.kind !== "embedded") return;
  const tables = await store.query<{ name: string }>(sqlFile("ingest/stage_tables.sql"), { prefix: STAGE_PREFIX });
  for (const { name } of tables) {
    const pid = Number(name.slice(STAGE_PREFIX.length).split("_")[0]);
    if (pid > 0 && pid !== process.pid && !pidExists(pid)) await store.command(sqlFile("ingest/stage_drop.sql"), { stage: name });
  }
}

export function formatOf(file: string, forced?: ImportFormat): ImportFormat {
  if (forced) return forced;
  const ext = path.extname(file).toLowerCase();
  if (ext === ".jsonl" || ext === ".ndjson" || ext === ".json") return "jsonl";
  if (ext === ".csv") return "csv";
  throw new ImportError(`${file}: cannot tell the format from the extension "${ext}"; pass --format jsonl or --format csv`);
}

/** Imports the files in order and returns what was stored and refused. */
export async function importFiles(store: Store, files: readonly string[], options: ImportOptions = {}): Promise<ImportSummary> {
  removeStaleSpools();
  await removeStaleStages(store);
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
  // CSV headers too: "nothing done" (exit 2) must mean nothing, not the files before the bad one.
  for (const { file, format } of plan) if (format === "csv") await readCsvHeader(file);
  for (const { file, size, format } of plan) await importer.importFile(file, size, format);
  return importer.summary();
}

/** The layout a CSV file's first record (its header) gives, or the ImportError that stops the file. */
function csvHeaderLayout(file: string, header: CsvOutcome | undefined): CsvLayout {
  if (!header) throw new ImportError(`${file}: no header row (the file is empty)`);
  const decided = header.ok ? csvLayout(header.cells) : { ok: false as const, reason: `header: ${header.reason}` };
  if (!decided.ok) throw new ImportError(`${file}:${header.line}: ${decided.reason}`);
  return decided.layout;
}

/** Reads only as far as a CSV file's header, to refuse the file before anything is imported. */
async function readCsvHeader(file: string): Promise<CsvLayout> {
  const csv = new CsvRecordReader();
  const outcomes: CsvOutcome[] = [];
  let lineNo = 0;
  for await (const lines of byteLineBatches(createReadStream(file, { highWaterMark: 1 << 16 }) as AsyncIterable<Buffer>)) {
    for (const raw of lines) {
      lineNo += 1;
      csv.feed(typeof raw === "string" ? lineText(raw, lineNo) : raw, lineNo, outcomes);
      if (outcomes.length) return csvHeaderLayout(file, outcomes[0]);
    }
  }
  csv.end(outcomes);
  return csvHeaderLayout(file, outcomes[0]);
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
  /** Writes still running, oldest first: at most WRITES_IN_FLIGHT. */
  private inflight: Promise<void>[] = [];
  private sinceCommit = 0;
  private rows = 0;
  private byEngine = 0;
  private readonly repeats = { items: 0, transitions: 0 };
  private readonly started = Date.now();
  private fileCount = 0;
  private readonly waits = { parseMs: 0, writeMs: 0, commitMs: 0 };

  constructor(private readonly store: Store, private readonly options: ImportOptions) {
    this.sinks = [new FlowSink(store), new FlowSink(store)];
    // 200k rows per write: fewer, larger parts for chDB to create and merge (merge CPU 8 s
    // against 10 s at 10M transitions). Measured: 214k/s against 197-204k/s with 100k and
    // 202-204k/s with 50k; peak RSS ~950 MB against ~840 MB.
    this.batchSize = options.batchSize ?? 200_000;
    this.commitEvery = options.commitEvery ?? 500_000;
    this.keepReasons = options.keepReasons ?? 5;
  }

  async importFile(file: string, totalBytes: number, format: ImportFormat): Promise<void> {
    this.fileCount += 1;
    if (format === "jsonl") {
      const engineReads = this.options.engineReads ?? this.store.kind === "embedded";
      return engineReads ? this.importJsonlByEngine(file, totalBytes) : this.importJsonl(file, totalBytes);
    }
    // CSV stays on this thread: a quoted cell may carry a record across lines.
    const stream = createReadStream(file, { highWaterMark: 1 << 16 });
    const csv = new CsvRecordReader();
    const outcomes: CsvOutcome[] = [];
    let layout: CsvLayout | null = null;
    let lineNo = 0;
    let lastItemId = "";
    const repeats = new RepeatCounter();

    const take = async (outcome: CsvOutcome): Promise<void> => {
      if (!layout) {
        // The first record is the header: without a usable one no row can be read.
        layout = csvHeaderLayout(file, outcome);
        csv.expectedCells = layout.columns.length;
        return;
      }
      const result = outcome.ok ? mapCsvRow(layout, outcome.cells) : outcome;
      if (!result.ok) {
        if (this.addRejection(`${file}:${outcome.line}`, result.reason, outcome.text)) await this.flush();
        return;
      }
      // The same batch boundary as the JSONL worker's: an item's rows stay in one unit of work.
      const itemId = recordItemId(result.record);
      if (batchEndsBefore(this.items.length + this.transitions.length, this.batchSize, itemId, lastItemId)) {
        this.addRepeats(repeats);
        await this.flush();
      }
      lastItemId = itemId;
      repeats.see(result.record);
      if (result.record.kind === "item") this.items.push(result.record.item);
      else this.transitions.push(result.record.transition);
      this.rows += 1;
    };

    for await (const lines of byteLineBatches(stream as AsyncIterable<Buffer>)) {
      for (const raw of lines) {
        lineNo += 1;
        csv.feed(typeof raw === "string" ? lineText(raw, lineNo) : raw, lineNo, outcomes);
        if (outcomes.length === 0) continue;
        for (const outcome of outcomes) await take(outcome);
        outcomes.length = 0;
      }
      this.progress(file, stream.bytesRead, totalBytes);
    }
    csv.end(outcomes);
    for (const outcome of outcomes) await take(outcome);
    if (!layout) csvHeaderLayout(file, undefined);
    this.addRepeats(repeats);
    await this.flush();
    await this.commit();
    this.progress(file, stream.bytesRead, totalBytes);
  }

  private addRepeats(counter: RepeatCounter): void {
    this.repeats.items += counter.items;
    this.repeats.transitions += counter.transitions;
    counter.clear();
  }

  private progress(file: string, bytesRead: number, totalBytes: number): void {
    this.options.onProgress?.({
      file, bytesRead, totalBytes, rows: this.rows,
      items: this.count("items") + this.items.length,
      transitions: this.count("transitions") + this.transitions.length,
      rejected: this.count("rejected") + this.rejections.length,
      elapsedMs: Date.now() - this.started,
    });
  }

  /** Holds a refused record for the dead letters; true when enough are held to write them. */
  private addRejection(reference: string, reason: string, payload: string): boolean {
    this.rejections.push(this.refusal(reference, reason, payload));
    return this.rejections.length >= 1000;
  }

  /** A refused record, counted as read and kept for the summary; the caller stores it. */
  private refusal(reference: string, reason: string, payload: string): Rejection {
    this.rows += 1;
    const rejection: Rejection = { source: IMPORT_SOURCE, reference, reason, payload: payload.slice(0, MAX_PAYLOAD) };
    if (this.firstRejections.length < this.keepReasons) this.firstRejections.push(rejection);
    return rejection;
  }

  /**
   * JSONL: worker threads read and map the lines (the same mapJsonLine) while this thread stores
   * what they send back, so parsing overlaps storing. A large file is split at line starts
   * between several workers, each reading its own range; rows are versioned by their place in
   * the file (ParseJob.fileVersion), so the order packets arrive in does not matter.
   */
  private async importJsonl(file: string, totalBytes: number): Promise<void> {
    const spoolDir = makeSpool();
    const ranges = splitAtLines(totalBytes, this.parseWorkers(totalBytes), (position) => newlineAtOrAfter(file, position));
    const fileVersion = nextVersions(1);
    const workers = ranges.map(({ start, end }) => {
      const job: ParseJob = { file, start, end, fileVersion, maxPayload: MAX_PAYLOAD, batchSize: this.batchSize, credits: WORKER_CREDITS, spoolDir };
      return typeScriptWorker(WORKER_URL, { workerData: job });
    });
    const inbox: { from: number; message: WorkerMessage }[] = [];
    const bytesRead = workers.map(() => 0);
    const done = workers.map(() => false);
    let lines = 0;
    let waiting: (() => void) | null = null;
    let failure: Error | null = null;
    let finished = false;
    const poke = () => {
      waiting?.();
      waiting = null;
    };
    workers.forEach((worker, from) => {
      worker.on("message", (message: WorkerMessage) => {
        inbox.push({ from, message });
        poke();
      });
      worker.on("error", (error) => {
        failure ??= error;
        poke();
      });
      worker.on("exit", (code) => {
        if (!finished && !done[from]) failure ??= new Error(`a JSONL parse worker stopped (exit code ${code})`);
        poke();
      });
    });
    const read = () => bytesRead.reduce((sum, bytes) => sum + bytes, 0);
    try {
      while (!done.every(Boolean)) {
        await addElapsed(this.waits, "parseMs", async () => {
          while (inbox.length === 0 && !failure) await new Promise<void>((resolve) => (waiting = resolve));
        });
        const next = inbox.shift();
        if (!next) throw failure ?? new Error("a JSONL parse worker stopped");
        const { from, message } = next;
        if (message.type === "error") throw new ImportError(`${file}: cannot read (${message.code ?? message.message})`);
        bytesRead[from] = message.bytesRead;
        if (message.type === "done") {
          done[from] = true;
          lines = Math.max(lines, message.lines);
          continue;
        }
        await this.unpack(file, message);
        workers[from]!.postMessage("credit");
        this.progress(file, read(), totalBytes);
      }
      finished = true;
      // The rows took versions up to fileVersion + lines: what this thread numbers next comes after.
      nextVersions(lines);
      await this.flush();
      await this.commit();
      this.progress(file, read(), totalBytes);
    } finally {
      finished = true;
      await Promise.all(workers.map((worker) => worker.terminate()));
      await Promise.allSettled(this.inflight);
      await dropSpool(spoolDir);
    }
  }

  /**
   * JSONL read by the embedded engine: this thread cuts the file into chunks of whole lines and
   * offers the engine the lines it can be trusted with (jsonl-chunks.ts); the engine parses and
   * checks them into a stage (sql/ingest/stage_jsonl.sql) and this thread maps only the lines it
   * left out. Rows are versioned by their line, so which path a line took does not matter, and
   * neither does the order chunks land in. Preparing the next chunk overlaps the engine's work on
   * the previous ones.
   */
  private async importJsonlByEngine(file: string, totalBytes: number): Promise<void> {
    const spoolDir = makeSpool();
    const fileVersion = nextVersions(1);
    let lines = 0;
    let bytesRead = 0;
    let chunkNo = 0;
    try {
      for await (const piece of jsonlChunks(file, this.options.chunkBytes ?? ENGINE_CHUNK_BYTES)) {
        if ("fault" in piece) {
          lines = piece.line;
          bytesRead = piece.end;
          if (this.addRejection(`${file}:${piece.line}`, piece.fault.reason, piece.fault.payload)) await this.flush();
          continue;
        }
        lines = piece.firstLine + piece.lineCount - 1;
        bytesRead = piece.end;
        const spool = path.join(spoolDir, `${chunkNo++}.jsonl`);
        await writeFile(spool, piece.engineInput);
        await this.submit(piece.lineCount, (sink) =>
          this.stageChunk(sink, file, piece, spool, fileVersion).finally(() => rm(spool, { force: true })),
        );
        this.progress(file, bytesRead, totalBytes);
      }
      // Every chunk's own rejections are stored by then; the file-level ones go with the flush.
      await this.settleWrite();
      // The rows took versions up to fileVersion + lines: what this thread numbers next comes after.
      nextVersions(lines);
      await this.flush();
      await this.commit();
      this.progress(file, bytesRead, totalBytes);
    } finally {
      await Promise.allSettled(this.inflight);
      // Stopped early: the stages not yet copied go (their rows are stored by importing again).
      await Promise.allSettled(this.sinks.map((sink) => sink.discardStaged()));
      await dropSpool(spoolDir);
    }
  }

  /** One chunk: the engine's rows and this thread's, staged, then stored through the sink. */
  private async stageChunk(sink: FlowSink, file: string, chunk: JsonlChunk, spool: string, fileVersion: number): Promise<void> {
    const store = this.store;
    const stage = `${STAGE_PREFIX}${process.pid}_${++stageSeq}`;
    await store.command(sqlFile("ingest/stage_create.sql"), { stage });
    let handedOver = false;
    try {
      await store.command(sqlFile("ingest/stage_jsonl.sql"), { stage, file: spool });
      const [left] = await store.query<{ lines: (string | number)[] }>(sqlFile("ingest/stage_unstaged_lines.sql"), {
        stage, first_line: chunk.firstLine, line_count: chunk.lineCount,
      });
      const rows: unknown[][] = [];
      const rejections: Rejection[] = [];
      if (left && left.lines.length > 0) {
        const reader = new ChunkLines(chunk);
        for (const lineNo of left.lines.map(Number)) {
          const result = mapJsonlLine(decodeLine(reader.line(lineNo)), lineNo);
          if (!result) continue;
          if (result.ok) rows.push(stageValues(lineNo, result.record));
          else rejections.push(this.refusal(`${file}:${lineNo}`, result.reason, result.payload));
        }
        if (rows.length > 0) await store.insertCompact(stage, STAGE_COLUMNS, rows);
      }
      const [counts] = await store.query<Record<"items" | "transitions" | "repeated_items" | "repeated_transitions", string | number>>(
        sqlFile("ingest/stage_counts.sql"), { stage },
      );
      const items = Number(counts?.items ?? 0);
      const transitions = Number(counts?.transitions ?? 0);
      this.rows += items + transitions;
      this.byEngine += items + transitions - rows.length;
      this.repeats.items += Number(counts?.repeated_items ?? 0);
      this.repeats.transitions += Number(counts?.repeated_transitions ?? 0);
      await sink.reject(rejections);
      handedOver = true;
      // The sink copies stages into the tables a batch's worth at a time (see writeStaged).
      await sink.writeStaged({ stage, firstVersion: fileVersion, items, transitions }, this.batchSize);
    } finally {
      if (!handedOver) await store.command(sqlFile("ingest/stage_drop.sql"), { stage });
    }
  }

  /**
   * Parse workers for a JSONL file: one per two cores up to MAX_PARSE_WORKERS for a file big
   * enough to be worth splitting, else one (or as the caller asked).
   */
  private parseWorkers(totalBytes: number): number {
    if (this.options.parseWorkers) return this.options.parseWorkers;
    return totalBytes < SPLIT_FILES_FROM_BYTES ? 1 : Math.max(1, Math.min(MAX_PARSE_WORKERS, Math.floor(availableParallelism() / 2)));
  }

  /** Stores one packet (encoded and spooled by the worker) as one sink write, then drops its files. */
  private async unpack(file: string, packet: Packet): Promise<void> {
    for (const rejection of packet.rejections) {
      if (this.addRejection(`${file}:${rejection.line}`, rejection.reason, rejection.payload)) await this.flush();
    }
    const { items, transitions } = packet;
    this.rows += items.count + transitions.count;
    this.repeats.items += packet.repeats.items;
    this.repeats.transitions += packet.repeats.transitions;
    await this.submit(transitions.count, (sink) =>
      sink.writeEncoded({ itemIds: packet.itemIds, items, transitions }).finally(() =>
        Promise.all([items, transitions].map((rows) => (rows.count > 0 ? rm(rows.file, { force: true }) : undefined))),
      ),
    );
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
    await this.submit(batch.transitions.length, (sink) => sink.write(batch));
  }

  /** Starts one sink write (at most WRITES_IN_FLIGHT run) and commits when enough has been written. */
  private async submit(transitions: number, write: (sink: FlowSink) => Promise<void>): Promise<void> {
    await addElapsed(this.waits, "writeMs", async () => {
      while (this.inflight.length >= WRITES_IN_FLIGHT) await this.inflight.shift();
    });
    if (this.rejections.length) {
      const rejections = this.rejections;
      this.rejections = [];
      await this.sink.reject(rejections);
    }
    const writing = write(this.sink);
    // Handled when awaited at the next flush; this only keeps Node from calling it unhandled meanwhile.
    writing.catch(() => undefined);
    this.inflight.push(writing);
    this.sinceCommit += transitions;
    if (this.sinceCommit >= this.commitEvery) await this.startCommit();
  }

  private async settleWrite(): Promise<void> {
    await addElapsed(this.waits, "writeMs", async () => {
      while (this.inflight.length) await this.inflight.shift();
    });
  }

  /** Starts deriving the current sink's rows and switches to the other sink. */
  private async startCommit(): Promise<void> {
    await this.settleWrite();
    const previous = this.committing;
    if (previous) await addElapsed(this.waits, "commitMs", () => previous);
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
    if (last) await addElapsed(this.waits, "commitMs", () => last);
  }

  summary(): ImportSummary {
    return {
      files: this.fileCount,
      read: this.rows,
      items: this.count("items"),
      transitions: this.count("transitions"),
      repeats: { ...this.repeats },
      rejected: this.count("rejected"),
      byEngine: this.byEngine,
      firstRejections: this.firstRejections,
      elapsedMs: Date.now() - this.started,
      waits: { ...this.waits },
    };
  }
}
