// Throughput histories for the forecast tests: items that each start and finish on one chosen day
// (created 08:00, active 09:00, done at `doneHour` UTC), written through FlowSink like every real
// source, so a scope's daily throughput is exactly the counts given here.
import { TransitionSchema, WorkItemSchema, type Transition, type WorkItem } from "../../core/model.ts";
import { FlowSink } from "../../pipeline/sink.ts";
import type { Store } from "../../store/store.ts";

const DAY = 86_400_000;
const HOUR = 3_600_000;

export interface ThroughputSpec {
  team: string;
  flowType?: string;
  stream?: string;
  /** Items finished on the day `daysAgo` days before the UTC day of `todayMs` (1 = yesterday). */
  perDay: (daysAgo: number) => number;
  /** Oldest day with items (days ago). */
  days: number;
  doneHour?: number;
  /** Items left open: created that many days ago, never finished. */
  openSince?: number[];
}

export async function seedThroughput(store: Store, todayMs: number, specs: readonly ThroughputSpec[]): Promise<void> {
  const sink = new FlowSink(store);
  const items: WorkItem[] = [];
  const transitions: Transition[] = [];
  const add = (spec: ThroughputSpec, key: string, dayMs: number, finish: boolean) => {
    const itemId = `fc:${key}`;
    items.push(WorkItemSchema.parse({
      item_id: itemId, source: "test", stream: spec.stream ?? "software", key, title: key, url: "",
      flow_type: spec.flowType ?? "feature", team: spec.team, created_at: dayMs + 8 * HOUR,
    }));
    transitions.push(TransitionSchema.parse({ event_id: `${key}-1`, item_id: itemId, from_state: "To Do", to_state: "In Progress", to_flow_state: "active", at: dayMs + 9 * HOUR }));
    if (finish) {
      transitions.push(TransitionSchema.parse({ event_id: `${key}-2`, item_id: itemId, from_state: "In Progress", to_state: "Done", to_flow_state: "done", at: dayMs + (spec.doneHour ?? 12) * HOUR }));
    }
  };
  const today = Math.floor(todayMs / DAY) * DAY;
  for (const spec of specs) {
    for (let daysAgo = spec.days; daysAgo >= 1; daysAgo--) {
      for (let i = 0; i < spec.perDay(daysAgo); i++) add(spec, `${spec.team}-${daysAgo}-${i}`, today - daysAgo * DAY, true);
    }
    for (const daysAgo of spec.openSince ?? []) add(spec, `${spec.team}-open-${daysAgo}`, today - daysAgo * DAY, false);
  }
  await sink.write({ items, transitions });
  await sink.commit();
}
