// Streamed generation of the benchmark data set: N items with exactly 10 transitions each, as
// import JSONL. Deterministic for a seed; memory stays flat however large N is.
import { createWriteStream } from "node:fs";
import { once } from "node:events";
import { prng } from "../connectors/file/sample.ts";

const DAY = 86_400_000;
const TYPES = ["feature", "feature", "feature", "defect", "defect", "debt", "risk"];
const TEAMS = ["payments", "platform", "mobile", "growth"];

// To Do -> In Progress -> Blocked -> In Progress -> In Review -> In Progress -> In Review -> Done
// -> In Progress (reopened) -> Done; 5% end in review instead (open WIP) and 3% are canceled.
const PATH: [string, string][] = [
  ["To Do", "new"], ["In Progress", "active"], ["Blocked", "waiting"], ["In Progress", "active"],
  ["In Review", "waiting"], ["In Progress", "active"], ["In Review", "waiting"], ["Done", "done"],
  ["In Progress", "active"], ["Done", "done"],
];

export interface BenchDataOptions {
  items: number;
  seed?: number;
  /** Newest activity ends about here. */
  endMs?: number;
  /** Days over which items arrive (default 365: a year); more days at the same item count is a lower rate. */
  days?: number;
}

export async function writeBenchJsonl(file: string, options: BenchDataOptions): Promise<{ items: number; transitions: number; bytes: number }> {
  const random = prng(options.seed ?? 7);
  const end = options.endMs ?? Date.now();
  // Items arrive over `days` (a year by default); the last step of each lands at most ~30 days
  // after creation.
  const days = options.days ?? 365;
  const first = end - (days + 35) * DAY;
  const out = createWriteStream(file);
  let buffer = "";
  let transitions = 0;
  let bytes = 0;
  const width = String(options.items).length;
  for (let n = 0; n < options.items; n++) {
    const key = `B-${String(n).padStart(width, "0")}`;
    const itemId = `bench:${key}`;
    let at = Math.round(first + (days * DAY * n) / options.items);
    const created = at;
    buffer +=
      JSON.stringify({
        kind: "item", item_id: itemId, source: "bench", stream: "software", key, title: `Bench item ${n}`,
        url: `https://bench.example/${key}`, flow_type: TYPES[n % TYPES.length], team: TEAMS[n % TEAMS.length],
        labels: n % 3 === 0 ? ["bench"] : [], created_at: new Date(created).toISOString(), source_type: "Story",
      }) + "\n";
    const roll = random();
    let from = "";
    for (let step = 0; step < PATH.length; step++) {
      let [to, flow] = PATH[step] as [string, string];
      if (step === PATH.length - 1 && roll < 0.05) [to, flow] = ["In Review", "waiting"];
      else if (step === PATH.length - 1 && roll < 0.08) [to, flow] = ["Won't Do", "canceled"];
      if (step > 0) at += Math.round(random() * 3 * DAY);
      buffer +=
        JSON.stringify({ kind: "transition", event_id: `${itemId}#${step}`, item_id: itemId, from_state: from, to_state: to, to_flow_state: flow, at: new Date(at).toISOString() }) + "\n";
      from = to;
      transitions++;
    }
    if (buffer.length > 1 << 20) {
      bytes += Buffer.byteLength(buffer);
      if (!out.write(buffer)) await once(out, "drain");
      buffer = "";
    }
  }
  bytes += Buffer.byteLength(buffer);
  out.end(buffer);
  await once(out, "finish");
  return { items: options.items, transitions, bytes };
}
