// The stored progress of one sync scope (sync_state): the watermark of the last completed run and
// the run in progress with its resume cursor. One row per source and scope; the newest wins.
import { toClickHouseTime } from "../../core/time.ts";
import { sqlFile } from "../../store/sql.ts";
import type { Store } from "../../store/store.ts";

export type SyncMode = "backfill" | "incremental" | "full";

export interface StoredRun<C> {
  /** What the run pages through (a JQL, a since= time...): fixed for the run, so a resume asks the same. */
  query: string;
  cursor: C;
  startedAt: number;
  mode: SyncMode;
  /** Highest "updated" (epoch ms, the source's clock) stored so far; the next watermark. */
  maxUpdated: number | null;
  pages: number;
  records: number;
}

export interface StoredState<C> {
  /** Highest "updated" of the last completed run. */
  watermark: number | null;
  /** The run in progress; present only while a run has not finished. */
  run: StoredRun<C> | null;
}

export class SyncStateStore<C> {
  private lastWrite = 0;
  constructor(private readonly store: Store, readonly source: string, readonly scope: string) {}

  async load(): Promise<StoredState<C>> {
    const rows = await this.store.query<{ state: string }>(sqlFile("queries/sync_state.sql"), { source: this.source, scope: this.scope });
    if (!rows[0]) return { watermark: null, run: null };
    const state = JSON.parse(rows[0].state) as StoredState<C>;
    // A run stored by a flowpulse from before the shared engine named these after Jira.
    const legacy = state.run as (StoredRun<C> & { jql?: string; issues?: number }) | null;
    if (legacy && legacy.query === undefined && legacy.jql !== undefined) {
      state.run = { ...legacy, query: legacy.jql, records: legacy.issues ?? 0 };
    }
    return state;
  }

  async save(state: StoredState<C>): Promise<void> {
    // updated_at decides which row survives, so it must grow with every save.
    this.lastWrite = Math.max(Date.now(), this.lastWrite + 1);
    await this.store.insertRows("sync_state", [
      { source: this.source, scope: this.scope, state: JSON.stringify(state), updated_at: toClickHouseTime(this.lastWrite) },
    ]);
  }
}
