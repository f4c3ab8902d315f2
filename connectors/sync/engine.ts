// The sync engine every API connector runs on: the connector brings how to fetch a page and how
// to map it; the engine keeps the watermark (with the connector's overlap), the resume cursor, the
// raw payloads, the batching into the store, progress and rejections.
//
// Pages are mapped and stored in batches (raw payloads, then the FlowSink, then a commit) and the
// cursor is saved only after a batch is committed, so a run that dies resumes at the page after
// the last one committed, and re-reading a page changes nothing (the tables collapse repeats by
// key). Fetching runs on its own, a few pages ahead of mapping, so a slow store step does not
// stall the page chain (pages often form a chain: each needs the previous page's token or Link).
import { addElapsed } from "../../core/time.ts";
import { FlowSink } from "../../pipeline/sink.ts";
import type { Store } from "../../store/store.ts";
import { appendBatch, emptyBatch, joined, RAW_COLUMNS, writeBatch, type PageBatch } from "./batch.ts";
import { PageQueue } from "./queue.ts";
import { SyncStateStore, type StoredRun, type SyncMode } from "./state.ts";

export interface SyncTimings {
  /** Waiting for the next page after the previous one was stored. */
  fetchWaitMs: number;
  /** Mapping each page and encoding its rows for the store. */
  mapMs: number;
  /** raw_payloads inserts. */
  rawMs: number;
  /** Items, transitions and rejections through the FlowSink. */
  writeMs: number;
  /** FlowSink commits (derived rows). */
  commitMs: number;
  /** Resume cursor saves. */
  stateMs: number;
  /** Waiting for the previous batch to be stored before handing over the next. */
  storeWaitMs: number;
}

export interface SyncProgress {
  mode: SyncMode;
  resumed: boolean;
  pages: number;
  /** Source records read (issues, pull requests), including those refused. */
  records: number;
  items: number;
  transitions: number;
  rejected: number;
  /** Where the run's time went (ms); fetches overlap the store work, so only waits are counted. */
  timings: SyncTimings;
}

/** One fetched page: its records, complete (every history the mapper needs), and the next cursor. */
export interface FetchedPage<C, R> {
  records: R[];
  next: C | null;
}

export interface PagedSource<C, R> {
  /** sync_state's source and scope: a new scope starts a new backfill. */
  source: string;
  scope: string;
  /** The query and first cursor of a new run; `since` is the watermark minus nothing (the connector adds its overlap). */
  startRun(mode: SyncMode, watermark: number | null): Promise<{ query: string; cursor: C }>;
  fetchPage(run: StoredRun<C>, cursor: C): Promise<FetchedPage<C, R>>;
  /** Work that may run while the first page is fetched (reading statuses, say); done before mapping starts. */
  prepare?(): Promise<void>;
  /** Pure mapping of one page, encoded (batch.ts encodePage). */
  mapPage(records: readonly R[]): PageBatch;
  /** Called when the run fails or is stopped: the request in flight should be abandoned. */
  stopFetching?(reason: unknown): void;
  /** After the last page is committed, before the watermark moves (mark unseen items deleted, say). */
  finish?(run: StoredRun<C>, sink: FlowSink): Promise<void>;
  /** Records stored per commit; the cursor is saved after each commit. */
  commitRecords: number;
  /** Records per page, to size how far fetching may run ahead. */
  pageSize: number;
}

export interface PagedSyncOptions {
  store: Store;
  full?: boolean;
  log?: (line: string) => void;
  onProgress?: (progress: SyncProgress) => void;
}

/** Pages fetched ahead of mapping at most. */
const MAX_PAGES_AHEAD = 10;

interface Filling {
  /** Rows not yet handed to the store (earlier pages' rows may have been written ahead). */
  batch: PageBatch;
  pages: number;
  records: number;
  /** Records of `batch`, i.e. mapped since the last write-ahead. */
  unwritten: number;
}

/**
 * Runs one sync of `source`: resumes a stored run or starts one, pages to the end, then moves the
 * watermark. Rejects with the fetch error after storing every page read before it.
 */
export async function runPagedSync<C, R>(source: PagedSource<C, R>, options: PagedSyncOptions): Promise<SyncProgress & { run: StoredRun<C> }> {
  const { store } = options;
  const log = options.log ?? (() => {});
  const states = new SyncStateStore<C>(store, source.source, source.scope);
  const state = await states.load();

  let run = state.run;
  const resumed = run !== null;
  if (!run) {
    const mode: SyncMode = options.full ? "full" : state.watermark === null ? "backfill" : "incremental";
    const start = await source.startRun(mode, mode === "incremental" ? state.watermark : null);
    run = { query: start.query, cursor: start.cursor, startedAt: Date.now(), mode, maxUpdated: state.watermark, pages: 0, records: 0 };
    await states.save({ watermark: state.watermark, run });
  } else {
    log(`${source.source}: resuming the ${run.mode} run started ${new Date(run.startedAt).toISOString()} after page ${run.pages}`);
  }
  const current = run;

  // The first page is asked for beside the connector's preparation: the page chain starts at once.
  const firstFetch = source.fetchPage(current, current.cursor);
  // Awaited by the fetching loop below; if preparing fails first, nobody awaits it.
  firstFetch.catch(() => {});
  await source.prepare?.();

  const progress: SyncProgress = {
    mode: current.mode, resumed, pages: current.pages, records: current.records, items: 0, transitions: 0, rejected: 0,
    timings: { fetchWaitMs: 0, storeWaitMs: 0, mapMs: 0, rawMs: 0, writeMs: 0, commitMs: 0, stateMs: 0 },
  };
  const sink = new FlowSink(store);
  const timings = progress.timings;
  const timed = <T>(key: keyof SyncTimings, work: () => Promise<T>): Promise<T> => addElapsed(timings, key, work);

  // Batches of about commitRecords: each store write and each commit (derived rows) has a fixed
  // cost far above a page's worth of rows. Batches are stored one at a time, in order. Memory is
  // bounded: the batch being stored, the one filled and waiting for it, the one being filled, and
  // the pages fetched ahead. While the store is idle, the filling batch's rows are written ahead in
  // parts of a fifth of a batch (not committed, cursor not saved: a run that dies re-reads them, and
  // repeats collapse), so the last batch, stored only after the last page, leaves little to write.
  const pagesAhead = Math.min(MAX_PAGES_AHEAD, Math.max(1, Math.ceil(source.commitRecords / source.pageSize)));
  const writeAheadRecords = Math.max(1, Math.ceil(source.commitRecords / 5));
  const emptyFilling = (): Filling => ({ batch: emptyBatch(), pages: 0, records: 0, unwritten: 0 });
  let filling = emptyFilling();
  /** The store's one piece of work at a time (a write-ahead or a batch), in order. */
  let storing: Promise<void> | null = null;
  let storeIdle = true;
  const startStoring = (work: Promise<void>) => {
    storeIdle = false;
    storing = work;
    // Awaited before the next flush and at the end; until then it must not count as unhandled.
    // After a failure the store stays "busy", so nothing more is written ahead.
    work.then(() => (storeIdle = storing === work), () => {});
  };
  // raw_payloads is independent of the flow tables, so it is inserted beside the sink's write.
  const writeRaw = (batch: PageBatch) => timed("rawMs", () => store.insertLines("raw_payloads", RAW_COLUMNS, joined(batch.raw)));
  const writeFlow = (batch: PageBatch) => timed("writeMs", () => Promise.all([writeBatch(sink, batch), sink.reject(batch.rejections)]));
  const writeAhead = () => {
    if (!storeIdle || filling.unwritten < writeAheadRecords) return;
    const rows = filling.batch;
    filling.batch = { ...emptyBatch(), maxUpdated: rows.maxUpdated };
    filling.unwritten = 0;
    startStoring(Promise.all([writeRaw(rows), writeFlow(rows)]).then(() => {}));
  };
  const storeBatch = async ({ batch, pages, records }: Filling, next: C | null) => {
    // The commit follows the flow write; the cursor waits for the raw rows too.
    await Promise.all([writeRaw(batch), writeFlow(batch).then(() => timed("commitMs", () => sink.commit()))]);
    if (batch.maxUpdated !== null) current.maxUpdated = Math.max(current.maxUpdated ?? batch.maxUpdated, batch.maxUpdated);
    current.pages += pages;
    current.records += records;
    if (next) {
      current.cursor = next;
      await timed("stateMs", () => states.save({ watermark: state.watermark, run: current }));
    }
  };
  /** Waits for the batch being stored (its failure ends the run), then starts storing the filled one. */
  const flush = async (next: C | null) => {
    if (storing) await timed("storeWaitMs", () => storing!);
    storing = null;
    storeIdle = true;
    if (filling.pages === 0) return;
    startStoring(storeBatch(filling, next));
    filling = emptyFilling();
  };

  const pages = new PageQueue<FetchedPage<C, R>>(pagesAhead);
  const fetching = (async () => {
    let fetchingPage: Promise<FetchedPage<C, R>> | null = firstFetch;
    while (fetchingPage && !pages.closed) {
      const page: FetchedPage<C, R> = await fetchingPage;
      // As many pages ahead as the queue holds, counting the fetch about to be sent.
      await pages.room();
      if (pages.closed) return;
      // The next fetch goes out before this page is handed on, so the chain never waits for our
      // mapping or store work. Until the next turn awaits it, its failure must not count as unhandled.
      fetchingPage = page.next ? source.fetchPage(current, page.next) : null;
      if (fetchingPage) {
        fetchingPage.catch(() => {});
        // Let the request leave before the mapping loop gets the page (callbacks run in order).
        await new Promise((resolve) => setImmediate(resolve));
      }
      await pages.put(page);
    }
  })().then(
    () => pages.end(),
    (error: unknown) => pages.fail(error),
  );

  try {
    let lastNext: C | null = current.cursor;
    for (;;) {
      let page: FetchedPage<C, R> | null;
      try {
        page = await timed("fetchWaitMs", () => pages.take());
      } catch (error) {
        // A page failed (retries exhausted, Ctrl-C): keep what was read before it.
        await flush(lastNext);
        await flush(null);
        throw error;
      }
      if (!page) break;
      lastNext = page.next;

      const t0 = performance.now();
      const mapped = source.mapPage(page.records);
      timings.mapMs += performance.now() - t0;
      appendBatch(filling.batch, mapped);
      filling.pages += 1;
      filling.records += page.records.length;
      filling.unwritten += page.records.length;
      progress.items += mapped.items.count;
      progress.transitions += mapped.transitions.count;
      progress.rejected += mapped.rejections.length;
      progress.pages += 1;
      progress.records += page.records.length;
      if (filling.records >= source.commitRecords || !page.next) await flush(page.next);
      else writeAhead();
      options.onProgress?.({ ...progress, timings: { ...timings } });
    }
    await flush(null);
  } catch (error) {
    // Whatever failed, fetching stops and a batch still being written finishes before the caller
    // closes the store.
    pages.close();
    source.stopFetching?.(error);
    await (storing as Promise<void> | null)?.catch(() => {});
    await fetching;
    throw error;
  }
  await fetching;

  await source.finish?.(current, sink);
  await states.save({ watermark: current.maxUpdated, run: null });
  return { ...progress, timings: { ...timings }, run: current };
}
