// The one sink every connector writes through. It stores canonical items and transitions, queues
// the items they touch, and rebuilds those items' derived rows (state_intervals, item_flow) so the
// metric views see the change. Storing is idempotent: the tables collapse repeats by key.
import { randomUUID } from "node:crypto";
import type { Rejection, Transition, WorkItem } from "../core/model.ts";
import { sqlFile, sqlFolder } from "../store/sql.ts";
import type { Store } from "../store/store.ts";

let lastVersion = 0;
/** Strictly increasing per process (microseconds), so a later rebuild always wins a tie. */
export function nextVersion(): number {
  lastVersion = Math.max(Date.now() * 1000, lastVersion + 1);
  return lastVersion;
}

const QUEUE_COLUMNS = ["batch_id", "item_id"] as const;
const ITEM_COLUMNS = ["item_id", "source", "stream", "key", "title", "url", "flow_type", "team", "labels", "created_at", "source_type", "deleted", "version"] as const;
const TRANSITION_COLUMNS = ["event_id", "item_id", "from_state", "to_state", "to_flow_state", "at", "ingested_at"] as const;

/** A work item's values in ITEM_COLUMNS order, created_at as epoch ms. */
function workItemValues(item: WorkItem, version: number): unknown[] {
  return [item.item_id, item.source, item.stream, item.key, item.title, item.url, item.flow_type, item.team, item.labels, Math.trunc(item.created_at), item.source_type, item.deleted ? 1 : 0, version];
}

/** A transition's values in TRANSITION_COLUMNS order, times as epoch ms. */
function transitionValues(t: Transition, ingestedAtMs: number): unknown[] {
  return [t.event_id, t.item_id, t.from_state, t.to_state, t.to_flow_state, Math.trunc(t.at), ingestedAtMs];
}

/**
 * Rows for writeEncoded() as JSONCompactEachRow text. Bulk writers may encode on another thread;
 * `version` must come from nextVersion() in the encoding thread. All rows go through one
 * JSON.stringify call (about half the cost of one call per row), which leaves commas between the
 * rows' arrays; ClickHouse reads them as row separators, like newlines. Every encoded text ends
 * with a newline, so texts can be concatenated.
 */
export function encodeItems(items: readonly WorkItem[], version: number): string {
  return items.length === 0 ? "" : JSON.stringify(items.map((item) => workItemValues(item, version))).slice(1, -1) + "\n";
}

export function encodeTransitions(transitions: readonly Transition[], ingestedAtMs: number): string {
  return transitions.length === 0 ? "" : JSON.stringify(transitions.map((t) => transitionValues(t, ingestedAtMs))).slice(1, -1) + "\n";
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
      items: { lines: encodeItems(items, nextVersion()), count: items.length },
      transitions: { lines: encodeTransitions(transitions, Date.now()), count: transitions.length },
    });
  }

  /** write() for rows encoded elsewhere (a parse worker), so this thread only stores them. */
  async writeEncoded(batch: EncodedBatch): Promise<void> {
    if (batch.items.count === 0 && batch.transitions.count === 0) return;
    const batchId = await this.openBatch();
    const queued: string[][] = [];
    for (const itemId of batch.itemIds) {
      if (!this.pendingItems.has(itemId)) {
        this.pendingItems.add(itemId);
        queued.push([batchId, itemId]);
      }
    }
    // Queue first: if the process stops after the rows land, the next start still derives them.
    await this.store.insertCompact("refresh_queue", QUEUE_COLUMNS, queued);
    // Items and transitions are independent tables: stored side by side.
    await Promise.all([this.insertEncoded("work_items", ITEM_COLUMNS, batch.items), this.insertEncoded("transitions", TRANSITION_COLUMNS, batch.transitions)]);
    this.counts.items += batch.items.count;
    this.counts.transitions += batch.transitions.count;
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
    if (!this.pendingBatch) return;
    const batchId = this.pendingBatch;
    await deriveBatch(this.store, batchId);
    this.pendingBatch = null;
    this.pendingItems.clear();
    this.counts.derivedBatches += 1;
  }

  private async openBatch(): Promise<string> {
    if (!this.pendingBatch) {
      const batchId = randomUUID();
      this.pendingBatch = batchId;
      this.batchRecorded = this.store.insertRows("refresh_batches", [{ batch_id: batchId, state: "queued" }]);
    }
    const batchId = this.pendingBatch;
    // Concurrent writes into one unit of work all wait for its "queued" marker: rows stored
    // before the marker would be invisible to recovery if the process stopped in between.
    await this.batchRecorded;
    return batchId;
  }
}

export async function deriveBatch(store: Store, batchId: string): Promise<void> {
  for (const step of sqlFolder("derive")) {
    await store.command(step.text, { batch_id: batchId, version: nextVersion() });
  }
  await store.insertRows("refresh_batches", [{ batch_id: batchId, state: "derived" }]);
}

/** Derives batches a stopped process left queued. Safe to run at every start. */
export async function recoverPendingBatches(store: Store): Promise<number> {
  const pending = await store.query<{ batch_id: string }>(sqlFile("ops/pending_batches.sql"));
  for (const { batch_id } of pending) await deriveBatch(store, batch_id);
  return pending.length;
}
