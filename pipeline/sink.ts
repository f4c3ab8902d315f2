// The one sink every connector writes through. It stores canonical items and transitions, queues
// the items they touch, and rebuilds those items' derived rows (state_intervals, item_flow) so the
// metric views see the change. Storing is idempotent: the tables collapse repeats by key.
import { randomUUID } from "node:crypto";
import type { Rejection, Transition, WorkItem } from "../core/model.ts";
import { deriveBatch, markBatch } from "../store/derive.ts";
import { sqlFile } from "../store/sql.ts";
import type { Store } from "../store/store.ts";
import { nextVersion, nextVersions } from "../store/versions.ts";

export { nextVersion, nextVersions };

const QUEUE_COLUMNS = ["batch_id", "item_id"] as const;
export const ITEM_COLUMNS = ["item_id", "source", "stream", "key", "title", "url", "flow_type", "team", "labels", "created_at", "source_type", "deleted", "version"] as const;
export const TRANSITION_COLUMNS = ["event_id", "item_id", "from_state", "to_state", "to_flow_state", "at", "ingested_at", "version"] as const;

/** A work item's values in ITEM_COLUMNS order, created_at as epoch ms. */
function workItemValues(item: WorkItem, version: number): unknown[] {
  return [item.item_id, item.source, item.stream, item.key, item.title, item.url, item.flow_type, item.team, item.labels, Math.trunc(item.created_at), item.source_type, item.deleted ? 1 : 0, version];
}

/** A transition's values in TRANSITION_COLUMNS order, times as epoch ms. */
function transitionValues(t: Transition, ingestedAtMs: number, version: number): unknown[] {
  return [t.event_id, t.item_id, t.from_state, t.to_state, t.to_flow_state, Math.trunc(t.at), ingestedAtMs, version];
}

/**
 * Rows for writeEncoded() as JSONCompactEachRow text. Bulk writers may encode on another thread.
 * Rows are numbered in input order from `firstVersion`, a block reserved with
 * nextVersions(rows.length) in the encoding thread (or the block's first version plus the rows
 * encoded before, for a slice): of two rows of the same record the later one wins, also when
 * they land in concurrent writes. All rows go through one JSON.stringify call (about half the
 * cost of one call per row), which leaves commas between the rows' arrays; ClickHouse reads them
 * as row separators, like newlines. Every encoded text ends with a newline, so texts can be
 * concatenated.
 */
export function encodeItems(items: readonly WorkItem[], firstVersion: number): string {
  return items.length === 0 ? "" : JSON.stringify(items.map((item, i) => workItemValues(item, firstVersion + i))).slice(1, -1) + "\n";
}

export function encodeTransitions(transitions: readonly Transition[], ingestedAtMs: number, firstVersion: number): string {
  return transitions.length === 0 ? "" : JSON.stringify(transitions.map((t, i) => transitionValues(t, ingestedAtMs, firstVersion + i))).slice(1, -1) + "\n";
}

export interface WriteBatch {
  items?: readonly WorkItem[];
  transitions?: readonly Transition[];
}

/**
 * Rows already encoded by encodeItems / encodeTransitions, concatenated: in memory, or spooled
 * to a file on this host (which the caller deletes once the write has settled).
 */
export type EncodedRows = { lines: string | Uint8Array; count: number } | { file: string; count: number };

export interface EncodedBatch {
  /** Every item the rows touch (items and transitions' item_id); repeats are fine. */
  itemIds: readonly string[];
  items: EncodedRows;
  transitions: EncodedRows;
}

/**
 * Records held in a stage table of the store (sql/ingest/stage_create.sql), each with the number
 * of the input line it came from: a bulk reader fills the stage inside the engine, so the rows
 * need not pass through this process at all.
 */
export interface StagedRows {
  stage: string;
  /** A row's version is this plus its line: later lines of the same record win. */
  firstVersion: number;
  /** Rows per kind in the stage (repeats included). */
  items: number;
  transitions: number;
}

/** Column names of the stage table (stage_create.sql), for rows a reader adds itself. */
export const STAGE_COLUMNS = [
  "line", "kind", "item_id", "event_id", "source", "stream", "key", "title", "url", "flow_type", "team", "labels",
  "created_at", "source_type", "deleted", "from_state", "to_state", "to_flow_state", "at",
] as const;

/** A work item or a transition as a stage row in STAGE_COLUMNS order, times as epoch ms. */
export function stageValues(line: number, record: { kind: "item"; item: WorkItem } | { kind: "transition"; transition: Transition }): unknown[] {
  if (record.kind === "item") {
    const i = record.item;
    return [line, "item", i.item_id, "", i.source, i.stream, i.key, i.title, i.url, i.flow_type, i.team, i.labels, Math.trunc(i.created_at), i.source_type, i.deleted ? 1 : 0, "", "", "", 0];
  }
  const t = record.transition;
  return [line, "transition", t.item_id, t.event_id, "", "", "", "", "", "", "", [], 0, "", 0, t.from_state, t.to_state, t.to_flow_state, Math.trunc(t.at)];
}

export interface SinkCounts {
  items: number;
  transitions: number;
  rejected: number;
  derivedBatches: number;
}

export class FlowSink {
  private pendingBatch: string | null = null;
  private batchRecorded: Promise<void> = Promise.resolve();
  private pendingItems = new Set<string>();
  /** Stages queued but not yet copied (writeStaged). */
  private staged: StagedRows[] = [];
  /** Writes of the current unit of work still landing. */
  private writing = 0;
  readonly counts: SinkCounts = { items: 0, transitions: 0, rejected: 0, derivedBatches: 0 };

  constructor(private readonly store: Store) {}

  /**
   * Stores a batch. The touched items are queued under the current unit of work; call commit()
   * to rebuild their derived rows (the stream commits every batch, a bulk import every few hundred
   * thousand rows).
   */
  async write(batch: WriteBatch): Promise<void> {
    const items = batch.items ?? [];
    const transitions = batch.transitions ?? [];
    if (items.length === 0 && transitions.length === 0) return;
    const itemIds: string[] = [];
    for (const item of items) itemIds.push(item.item_id);
    for (const transition of transitions) itemIds.push(transition.item_id);
    await this.writeEncoded({
      itemIds,
      items: { lines: encodeItems(items, nextVersions(items.length)), count: items.length },
      transitions: { lines: encodeTransitions(transitions, Date.now(), nextVersions(transitions.length)), count: transitions.length },
    });
  }

  /** write() for rows encoded elsewhere (a parse worker), so this thread only stores them. */
  async writeEncoded(batch: EncodedBatch): Promise<void> {
    if (batch.items.count === 0 && batch.transitions.count === 0) return;
    await this.land(batch.items.count, batch.transitions.count, async (batchId) => {
      const queued: string[][] = [];
      for (const itemId of batch.itemIds) {
        if (!this.pendingItems.has(itemId)) {
          this.pendingItems.add(itemId);
          queued.push([batchId, itemId]);
        }
      }
      // Queue first: if the process stops after the rows land, recovery still derives them.
      await this.store.insertCompact("refresh_queue", QUEUE_COLUMNS, queued);
      // Items and transitions are independent tables: stored side by side.
      await Promise.all([this.insertEncoded("work_items", ITEM_COLUMNS, batch.items), this.insertEncoded("transitions", TRANSITION_COLUMNS, batch.transitions)]);
    });
  }

  /**
   * write() for records staged in the store (StagedRows): queued now, then copied into
   * work_items and transitions by the engine, under the same marks as any write, together with
   * the stages after it once they hold `copyFrom` rows (and at commit). Copying several stages in
   * one statement makes parts of that many rows: small parts cost more to merge than to write
   * (at 10M transitions, 75k-row parts had the engine merge 43M rows). The sink owns the stage
   * from here and drops it once copied.
   */
  async writeStaged(rows: StagedRows, copyFrom = 0): Promise<void> {
    // A chunk whose every line was refused or blank: nothing to queue or copy.
    if (rows.items === 0 && rows.transitions === 0) return this.dropStages([rows]);
    const previous = this.staged[0];
    // One copy statement versions all its stages from one base: a stage of another file waits for a copy of its own.
    if (previous && previous.firstVersion !== rows.firstVersion) await this.copyStaged();
    await this.land(0, 0, (batchId) => this.store.command(sqlFile("ingest/stage_queue.sql"), { stage: rows.stage, batch_id: batchId }));
    this.staged.push(rows);
    if (this.staged.reduce((total, stage) => total + stage.items + stage.transitions, 0) >= copyFrom) await this.copyStaged();
  }

  /** Copies the stages waiting in this sink into work_items and transitions, then drops them. */
  private async copyStaged(): Promise<void> {
    const stages = this.staged;
    if (stages.length === 0) return;
    this.staged = [];
    const first = stages[0] as StagedRows;
    const items = stages.reduce((total, stage) => total + stage.items, 0);
    const transitions = stages.reduce((total, stage) => total + stage.transitions, 0);
    // Stage names are the importer's own (a prefix, a pid, a number): safe inside a pattern.
    const pattern = `^(${stages.map((stage) => stage.stage).join("|")})$`;
    try {
      await this.land(items, transitions, async () => {
        await Promise.all([
          items > 0 ? this.store.command(sqlFile("ingest/stage_items.sql"), { stages: pattern, first_version: first.firstVersion }) : undefined,
          transitions > 0
            ? this.store.command(sqlFile("ingest/stage_transitions.sql"), { stages: pattern, first_version: first.firstVersion, ingested_at_ms: Date.now() })
            : undefined,
        ]);
      });
    } finally {
      await this.dropStages(stages);
    }
  }

  private async dropStages(stages: readonly StagedRows[]): Promise<void> {
    for (const { stage } of stages) await this.store.command(sqlFile("ingest/stage_drop.sql"), { stage });
  }

  /** Drops the stages not yet copied (an import that stops early): their rows are not stored. */
  async discardStaged(): Promise<void> {
    const stages = this.staged;
    this.staged = [];
    await this.dropStages(stages);
  }

  /**
   * One write into the current unit of work: `store` queues its items, then stores its rows,
   * after the unit's 'writing' mark. Once no write of the unit is landing, the unit is marked
   * 'queued': a derive that saw this mark read every row written so far (store/derive.ts).
   */
  private async land(items: number, transitions: number, store: (batchId: string) => Promise<void>): Promise<void> {
    this.writing += 1;
    try {
      await store(await this.openBatch());
    } finally {
      this.writing -= 1;
    }
    if (this.writing === 0 && this.pendingBatch) await markBatch(this.store, this.pendingBatch, "queued");
    this.counts.items += items;
    this.counts.transitions += transitions;
  }

  private async insertEncoded(table: string, columns: readonly string[], rows: EncodedRows): Promise<void> {
    if (rows.count === 0) return;
    if ("file" in rows) await this.store.insertFile(table, columns, rows.file);
    else await this.store.insertLines(table, columns, rows.lines);
  }

  /** Records refused input with its reason; nothing is silently dropped. */
  async reject(rejections: readonly Rejection[]): Promise<void> {
    if (rejections.length === 0) return;
    await this.store.insertRows("rejected_records", rejections);
    this.counts.rejected += rejections.length;
  }

  /** Rebuilds the derived rows of everything written since the last commit. */
  async commit(): Promise<void> {
    await this.copyStaged();
    if (!this.pendingBatch) return;
    const batchId = this.pendingBatch;
    // This sink is the unit's only writer and its writes have settled: a version taken now is
    // above every mark it made.
    await deriveBatch(this.store, batchId, nextVersion());
    this.pendingBatch = null;
    this.pendingItems.clear();
    this.counts.derivedBatches += 1;
  }

  /**
   * The current unit of work, marked 'writing' before this write's rows are sent. Concurrent
   * writes into one unit all wait for the mark: rows stored before it would be invisible to
   * recovery if the process stopped in between. The mark names this process as the writer, so
   * recovery elsewhere leaves the unit alone while it runs, and its version outranks the
   * 'derived' mark of any derive that started reading before it.
   */
  private async openBatch(): Promise<string> {
    if (!this.pendingBatch) this.pendingBatch = randomUUID();
    const batchId = this.pendingBatch;
    // Marks go out one after another, so their versions are in the order they are stored.
    const marked = this.batchRecorded.catch(() => undefined).then(() => markBatch(this.store, batchId, "writing"));
    this.batchRecorded = marked;
    await marked;
    return batchId;
  }
}
