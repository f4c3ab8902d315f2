// Which event contracts describe a lifecycle that only moves forward, and the ranks of its states
// that the state_intervals derive reads (lifecycle_ranks, sql/schema/0006_lifecycles.sql).
import { randomUUID } from "node:crypto";
import { nextVersion } from "../../pipeline/sink.ts";
import { deriveBatch, markBatch } from "../../store/derive.ts";
import { sqlFile } from "../../store/sql.ts";
import type { Store } from "../../store/store.ts";
import type { ContractName, TopicConfig } from "./config.ts";

/**
 * Whether a contract's items may go back to an earlier stage. Incidents really are reopened
 * (resolved -> in_progress). Orders are not un-delivered: an `approved` recorded after `delivered`
 * is a recording error, kept but not applied. Canonical events carry any workflow, so they may.
 */
export const FORWARD_ONLY: Record<ContractName, boolean> = { order: true, incident: false, canonical: false };

export interface LifecycleRank {
  stream: string;
  state: string;
  rank: number;
}

/**
 * The ranks of a forward-only topic's states, in the order of its state map (the lifecycle's
 * order: purchased, approved, invoiced, shipped, ...). Done and canceled states share the last
 * rank: one may follow the other, but nothing earlier follows either.
 */
export function lifecycleRanks(topic: TopicConfig): LifecycleRank[] {
  if (!FORWARD_ONLY[topic.contract] || !topic.stream) return [];
  const entries = Object.entries(topic.states);
  const open = entries.filter(([, flow]) => flow !== "done" && flow !== "canceled");
  const last = open.length + 1;
  let rank = 0;
  return entries.map(([state, flow]) => ({
    stream: topic.stream!,
    state: state.toLowerCase(),
    rank: flow === "done" || flow === "canceled" ? last : ++rank,
  }));
}

/**
 * Writes the ranks of every forward-only topic; idempotent (the table keeps one row per stream and
 * state). A stream whose ranks are new or changed (the first start after an upgrade, or a new state
 * map) has every item derived again, so a late earlier-stage event stored before stops reopening
 * its order now, not only once the order's next event arrives. Returns the streams re-derived.
 */
export async function writeLifecycleRanks(store: Store, topics: readonly TopicConfig[]): Promise<string[]> {
  const wanted = topics.flatMap((topic) => lifecycleRanks(topic));
  if (wanted.length === 0) return [];
  const streams = [...new Set(wanted.map((row) => row.stream))];
  const stored = await store.query<LifecycleRank>(sqlFile("queries/lifecycle_ranks.sql"), { streams });
  const key = (row: LifecycleRank) => `${row.stream}\u0000${row.state}\u0000${Number(row.rank)}`;
  const storedKeys = new Set(stored.map(key));
  const storedCount = new Map<string, number>();
  for (const row of stored) storedCount.set(row.stream, (storedCount.get(row.stream) ?? 0) + 1);
  const changed = streams.filter((stream) => {
    const rows = wanted.filter((row) => row.stream === stream);
    return storedCount.get(stream) !== rows.length || rows.some((row) => !storedKeys.has(key(row)));
  });
  // Queued (marked first, as the sink does) before the ranks land: a stop anywhere after this
  // leaves a queued unit that the next start derives, with the new ranks in place.
  const units: { batchId: string; marked: number }[] = [];
  for (const stream of changed) {
    const unit = { batchId: randomUUID(), marked: nextVersion() };
    await markBatch(store, unit.batchId, "queued", unit.marked);
    await store.command(sqlFile("ops/queue_stream_items.sql"), { batch_id: unit.batchId, stream });
    units.push(unit);
  }
  const version = nextVersion();
  await store.insertRows("lifecycle_ranks", wanted.map((row) => ({ ...row, version })));
  for (const unit of units) await deriveBatch(store, unit.batchId, unit.marked);
  return changed;
}
