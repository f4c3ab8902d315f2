// Which event contracts describe a lifecycle that only moves forward, and the ranks of its states
// that the state_intervals derive reads (lifecycle_ranks, sql/schema/0006_lifecycles.sql).
import { nextVersion } from "../../pipeline/sink.ts";
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

/** Writes the ranks of every forward-only topic; idempotent (the table keeps one row per stream and state). */
export async function writeLifecycleRanks(store: Store, topics: readonly TopicConfig[]): Promise<number> {
  const version = nextVersion();
  const rows = topics.flatMap((topic) => lifecycleRanks(topic)).map((row) => ({ ...row, version }));
  if (rows.length > 0) await store.insertRows("lifecycle_ranks", rows);
  return rows.length;
}
