// Derivation and its recovery: store operations that run the sql/derive and sql/ops files. A unit
// of work (batch) is marked in refresh_batches: 'writing' before each write of its rows, 'queued'
// once its writes have landed, 'derived' after a derive. The latest mark (highest version) counts.
import { selfOwner, ownerAlive } from "../core/process.ts";
import { sqlFile, sqlFolder } from "./sql.ts";
import type { Store } from "./store.ts";
import { nextVersion } from "./versions.ts";

export type BatchState = "writing" | "queued" | "derived";

/** Marks a unit of work; `version` orders the marks (store/versions.ts). */
export async function markBatch(store: Store, batchId: string, state: BatchState, version: number = nextVersion()): Promise<void> {
  await store.insertRows("refresh_batches", [{ batch_id: batchId, state, version, owner: selfOwner() }]);
}

/**
 * Rebuilds the derived rows of the items queued under `batchId`, then marks it derived with
 * `seen`: the version of the latest mark the caller saw before the derive started reading. A mark
 * made after that (a write still landing) has a higher version and wins over 'derived', so the
 * unit stays pending and is derived again: 'derived' never hides rows the derive did not read.
 */
export async function deriveBatch(store: Store, batchId: string, seen: number): Promise<void> {
  for (const step of sqlFolder("derive")) {
    await store.command(step.text, { batch_id: batchId, version: nextVersion() });
  }
  await store.insertRows("refresh_batches", [{ batch_id: batchId, state: "derived", version: seen, owner: selfOwner() }]);
}

export interface RecoveryPolicy {
  /** No other process can be writing (an embedded store this process just opened): derive every pending unit. */
  exclusive: boolean;
  /** How long a unit of a writer known to be dead stays untouched: its last write may still be landing. */
  deadWriterGraceMs: number;
  /**
   * How long a unit of any other writer may go without a mark before it is derived anyway: its
   * writer's life cannot be told (another host, marks from before 0005), or it lives but left
   * the unit (a sync in this very process that failed midway). Should it write again, its next
   * mark outranks the 'derived' one and the unit is derived again.
   */
  idleWriterMs: number;
}

/** For a store this process alone can write to (embedded, just opened): nothing else is landing. */
export const EXCLUSIVE_RECOVERY: RecoveryPolicy = { exclusive: true, deadWriterGraceMs: 0, idleWriterMs: 0 };

/** For a running store shared with other writers (serve, a ClickHouse server). */
export const SHARED_RECOVERY: RecoveryPolicy = { exclusive: false, deadWriterGraceMs: 5_000, idleWriterMs: 10 * 60_000 };

interface PendingBatch {
  batch_id: string;
  mark_state: string;
  mark_version: string | number;
  mark_owner: string;
  idle_ms: string | number;
}

/**
 * Derives units of work their writer abandoned: it died, or has not marked the unit for a long
 * time, before deriving. A live writer's units are otherwise left to it.
 * Returns how many were derived. Safe to run at any time, from any process.
 */
export async function recoverPendingBatches(store: Store, policy: RecoveryPolicy = EXCLUSIVE_RECOVERY): Promise<number> {
  const pending = await store.query<PendingBatch>(sqlFile("ops/pending_batches.sql"));
  let derived = 0;
  for (const batch of pending) {
    if (!abandoned(batch, policy)) continue;
    await deriveBatch(store, batch.batch_id, Number(batch.mark_version));
    derived += 1;
  }
  return derived;
}

function abandoned(batch: PendingBatch, policy: RecoveryPolicy): boolean {
  if (policy.exclusive) return true;
  const idle = Number(batch.idle_ms);
  const gone = batch.mark_owner !== selfOwner() && ownerAlive(batch.mark_owner) === false;
  return idle >= (gone ? policy.deadWriterGraceMs : policy.idleWriterMs);
}

/**
 * Drops the marks of units of work derived over ten minutes ago (which keeps the recovery scan
 * small) and the queue rows of such units once a day old.
 */
export async function purgeDerivedBatches(store: Store): Promise<void> {
  await store.command(sqlFile("ops/purge_refresh_queue.sql"));
  await store.command(sqlFile("ops/purge_refresh_batches.sql"));
}
