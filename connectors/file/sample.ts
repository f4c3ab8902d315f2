// A realistic, deterministic sample of Jira-like software delivery for the demo: four teams, the
// four flow item types in a realistic mix, about six months of history ending at `endMs`, with
// queues, blocks, review rework, moves back to To Do, cancellations, reopenings and open WIP.
// Same seed and end time => byte-identical output.
import { createWriteStream } from "node:fs";
import { once } from "node:events";

export interface SampleOptions {
  seed?: number;
  /** Number of work items. */
  items?: number;
  /** History ends here (epoch ms); later events are cut, so recent items are still open. */
  endMs?: number;
  /** Days of history before endMs. */
  days?: number;
}

/** Deterministic PRNG (mulberry32): small, fast and good enough for sample data. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const DAY = 86_400_000;

interface Team { name: string; prefix: string; pace: number }
const TEAMS: Team[] = [
  { name: "payments", prefix: "PAY", pace: 1.0 },
  { name: "platform", prefix: "PLAT", pace: 1.4 },
  { name: "mobile", prefix: "MOB", pace: 0.8 },
  { name: "growth", prefix: "GRO", pace: 1.1 },
];

interface TypeProfile { type: string; share: number; sourceType: string; queueDays: number; workDays: number; labels: string[] }
const TYPES: TypeProfile[] = [
  { type: "feature", share: 0.45, sourceType: "Story", queueDays: 5, workDays: 3, labels: ["customer", "roadmap"] },
  { type: "defect", share: 0.3, sourceType: "Bug", queueDays: 2, workDays: 1.2, labels: ["bug", "support"] },
  { type: "debt", share: 0.15, sourceType: "Tech Debt", queueDays: 8, workDays: 2, labels: ["refactor", "cleanup"] },
  { type: "risk", share: 0.1, sourceType: "Security", queueDays: 3, workDays: 2.5, labels: ["security", "compliance"] },
];

const VERBS = ["Add", "Fix", "Refactor", "Migrate", "Harden", "Speed up", "Remove", "Document", "Audit", "Redesign"];
const NOUNS = ["checkout flow", "login page", "payment retries", "search index", "push notifications", "billing export",
  "session handling", "rate limiter", "onboarding emails", "audit log", "feature flags", "CSV export", "API pagination"];

/** The JSONL rows (with `kind`) of the sample, items before their transitions. */
export function* sampleRows(options: SampleOptions = {}): Generator<Record<string, unknown>> {
  const random = prng(options.seed ?? 42);
  const count = options.items ?? 2400;
  const end = options.endMs ?? Date.now();
  const span = (options.days ?? 183) * DAY;
  const exp = (meanDays: number) => -Math.log(1 - random()) * meanDays * DAY;
  const pick = <T>(list: readonly T[]) => list[Math.floor(random() * list.length)] as T;
  const counters = new Map<string, number>();

  for (let n = 0; n < count; n++) {
    const team = pick(TEAMS);
    let roll = random();
    const profile = TYPES.find((t) => (roll -= t.share) < 0) ?? (TYPES[0] as TypeProfile);
    const number = (counters.get(team.prefix) ?? 0) + 1;
    counters.set(team.prefix, number);
    const key = `${team.prefix}-${number}`;
    const itemId = `demo:${key}`;
    // Arrivals grow a little over the period, like a team that takes on more work.
    const created = Math.round(end - span + span * Math.sqrt(random()));
    yield {
      kind: "item", item_id: itemId, source: "demo", stream: "software", key,
      title: `${pick(VERBS)} ${pick(NOUNS)}`, url: `https://demo.flowpulse.dev/browse/${key}`,
      flow_type: profile.type, team: team.name, labels: random() < 0.6 ? [pick(profile.labels)] : [],
      created_at: new Date(created).toISOString(), source_type: profile.sourceType,
    };

    let at = created;
    let state = "";
    let seq = 0;
    const events: Record<string, unknown>[] = [];
    const move = (to: string, flow: string, after: number) => {
      at = Math.round(at + after);
      events.push({ kind: "transition", event_id: `${itemId}#${++seq}`, item_id: itemId, from_state: state, to_state: to, to_flow_state: flow, at: new Date(at).toISOString() });
      state = to;
    };
    const work = (scale = 1) => exp(profile.workDays * team.pace * scale);

    move("To Do", "new", 0);
    if (random() < 0.05) {
      move("Won't Do", "canceled", exp(profile.queueDays * 2));
    } else {
      move("In Progress", "active", exp(profile.queueDays * team.pace));
      if (random() < 0.04) {
        // Deprioritized: back to the backlog, picked up again later.
        move("To Do", "new", work(0.5));
        move("In Progress", "active", exp(profile.queueDays));
      }
      let canceled = false;
      for (let round = 0; round < 3; round++) {
        if (random() < 0.12) {
          move("Blocked", "waiting", work(0.5));
          move("In Progress", "active", exp(2.5));
        }
        move("In Review", "waiting", work(round === 0 ? 1 : 0.3));
        if (round < 2 && random() < 0.22) {
          move("In Progress", "active", exp(0.8)); // review sent it back
          continue;
        }
        break;
      }
      if (random() < 0.025) {
        move("Won't Do", "canceled", exp(1));
        canceled = true;
      }
      if (!canceled) {
        move("Done", "done", exp(0.7));
        if (random() < 0.05) {
          move("In Progress", "active", exp(6)); // reopened
          move("In Review", "waiting", work(0.4));
          move("Done", "done", exp(0.5));
        }
      }
    }
    for (const event of events) {
      if (Date.parse(event.at as string) > end) break;
      yield event;
    }
  }
}

/** Writes the sample as JSONL, streamed with backpressure; returns what it wrote. */
export async function writeSampleJsonl(file: string, options: SampleOptions = {}): Promise<{ items: number; transitions: number }> {
  const out = createWriteStream(file);
  let buffer = "";
  let items = 0;
  let transitions = 0;
  for (const row of sampleRows(options)) {
    if (row.kind === "item") items++;
    else transitions++;
    buffer += JSON.stringify(row) + "\n";
    if (buffer.length > 1 << 20) {
      if (!out.write(buffer)) await once(out, "drain");
      buffer = "";
    }
  }
  out.end(buffer);
  await once(out, "finish");
  return { items, transitions };
}
