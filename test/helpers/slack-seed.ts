// A small flow history with hand-checkable figures, relative to `now` so windows like "last 30d"
// always cover the same items. Written through FlowSink like every real source.
//
//   key   type     team      history (days before now)                 flow time / status
//   D-1   defect   checkout  active -10, done -5                          done, 5 d
//   D-2   defect   checkout  active -12, done -4                          done, 8 d (slowest)
//   D-3   defect   payments  active -9, waiting -6, done -2               done, 7 d (3 active, 4 wait)
//   D-0   defect   payments  active -50, done -45                         done in the window before
//   F-1   feature  checkout  active -50, done -40                         done in the window before, 10 d
//   F-2   feature  checkout  active -20, still active                     WIP, 20 d old (> features' p85 10 d: aging)
//   D-4   defect   payments  active -1, still active                      WIP, 1 d old
//
// So: velocity defects last 30d = 3 (previous 30 d: 1); team checkout defects = 2; WIP now = 2.
import { TransitionSchema, WorkItemSchema } from "../../core/model.ts";
import { FlowSink } from "../../pipeline/sink.ts";
import type { Store } from "../../store/store.ts";

const DAY = 86_400_000;

type Step = [state: string, flow: "new" | "active" | "waiting" | "done" | "canceled", daysAgo: number];

export const SEED: { key: string; type: string; team: string; steps: Step[] }[] = [
  { key: "D-1", type: "defect", team: "checkout", steps: [["In Progress", "active", 10], ["Done", "done", 5]] },
  { key: "D-2", type: "defect", team: "checkout", steps: [["In Progress", "active", 12], ["Done", "done", 4]] },
  { key: "D-3", type: "defect", team: "payments", steps: [["In Progress", "active", 9], ["Review", "waiting", 6], ["Done", "done", 2]] },
  { key: "D-0", type: "defect", team: "payments", steps: [["In Progress", "active", 50], ["Done", "done", 45]] },
  { key: "F-1", type: "feature", team: "checkout", steps: [["In Progress", "active", 50], ["Done", "done", 40]] },
  { key: "F-2", type: "feature", team: "checkout", steps: [["In Progress", "active", 20]] },
  { key: "D-4", type: "defect", team: "payments", steps: [["In Progress", "active", 1]] },
];

export const itemUrl = (key: string) => `https://jira.example.com/browse/${key}`;

export async function seedFlowHistory(store: Store, nowMs: number): Promise<void> {
  const sink = new FlowSink(store);
  for (const seed of SEED) {
    const itemId = `test:${seed.key}`;
    const createdDaysAgo = seed.steps[0]![2] + 1;
    const item = WorkItemSchema.parse({
      item_id: itemId, source: "test", stream: "software", key: seed.key, title: `Item ${seed.key}`,
      url: itemUrl(seed.key), flow_type: seed.type, team: seed.team, created_at: nowMs - createdDaysAgo * DAY,
    });
    const transitions = [
      TransitionSchema.parse({ event_id: `${seed.key}-0`, item_id: itemId, from_state: "", to_state: "To Do", to_flow_state: "new", at: nowMs - createdDaysAgo * DAY }),
      ...seed.steps.map(([state, flow, daysAgo], index) =>
        TransitionSchema.parse({
          event_id: `${seed.key}-${index + 1}`, item_id: itemId, from_state: index === 0 ? "To Do" : seed.steps[index - 1]![0],
          to_state: state, to_flow_state: flow, at: nowMs - daysAgo * DAY,
        })),
    ];
    await sink.write({ items: [item], transitions });
  }
  await sink.commit();
}

/** Finishes an item now (used to make a WIP alert recover). */
export async function finishItem(store: Store, key: string, fromState: string, atMs: number): Promise<void> {
  const sink = new FlowSink(store);
  await sink.write({
    transitions: [TransitionSchema.parse({ event_id: `${key}-finish`, item_id: `test:${key}`, from_state: fromState, to_state: "Done", to_flow_state: "done", at: atMs })],
  });
  await sink.commit();
}
