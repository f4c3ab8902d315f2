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

export interface WriteBatch {
  items?: readonly WorkItem[];
  transitions?: readonly Transition[];
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
    const batchId = await this.openBatch();
    const touched: { batch_id: string; item_id: string }[] = [];
    const note = (itemId: string) => {
      if (!this.pendingItems.has(itemId)) {
        this.pendingItems.add(itemId);
        touched.push({ batch_id: batchId, item_id: itemId });
      }
    };
    for (const item of items) note(item.item_id);
    for (const transition of transitions) note(transition.item_id);
    const version = nextVersion();
    const ingestedAt = Date.now();
    // Queue first: if the process stops after the rows land, the next start still derives them.
    // Positional rows, times as epoch ms: about half the cost of an object per row, both in JS
    // and in the store's parser, which matters to the stream at 100k events/s.
    await this.store.insertCompact("refresh_queue", QUEUE_COLUMNS, touched.map((t) => [t.batch_id, t.item_id]));
    await this.store.insertCompact("work_items", ITEM_COLUMNS, items.map((item) => workItemValues(item, version)));
    await this.store.insertCompact("transitions", TRANSITION_COLUMNS, transitions.map((t) => transitionValues(t, ingestedAt)));
    this.counts.items += items.length;
    this.counts.transitions += transitions.length;
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
