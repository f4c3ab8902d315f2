// What the stream's decode thread (decode-worker.ts) does, as plain functions over its state, so the
// benchmark and tests can run it without a thread: JSON.parse, contract validation, mapping, merging
// an item's events within a flush unit, and encoding the rows as JSONCompactEachRow lines.
import { isAscii } from "node:buffer";
import { performance } from "node:perf_hooks";
import type { Transition, WorkItem } from "../../core/model.ts";
import { encodeItems, encodeTransitions, nextVersions } from "../../pipeline/sink.ts";
import type { TopicConfig } from "./config.ts";
import { VALUE_NULL, VALUE_REFUSED, mapEvent, mergeItem, parseEvent, validateEvent, withDefaultTitle, type Mapped, type Parsed, type Validated } from "./map.ts";
import type { DecodeReply, KnownRow } from "./decoder.ts";

/**
 * Items (order/incident topics) whose stored created_at/title/team/labels this consumer knows
 * because it wrote them last: their flush needs no store lookup. Bounded; cleared on every
 * rebalance (another member may have written the items meanwhile) and after a failed flush.
 */
const KNOWN_ITEMS_MAX = 100_000;

type KnownItem = Pick<WorkItem, "created_at" | "title" | "team" | "labels">;

interface Unit {
  items: Map<string, WorkItem>;
  /** Items whose created_at is the earliest event seen (order/incident topics). */
  derivedCreated: Set<string>;
  /** Items whose creation event is in this unit: their stored row has nothing earlier to add. */
  created: Set<string>;
  /** Item ids of transitions (canonical transitions may name items not in this unit). */
  touched: Set<string>;
  /** Encoded transition lines, one string per decoded chunk. */
  transitions: string[];
  transitionCount: number;
}

const utf8 = new TextDecoder();
const utf8Encode = new TextEncoder();

/**
 * mergeItem (map.ts) for the hot path: writes the merge into `next`, a fresh object of this
 * thread's mapping, instead of copying it, since most events name an item already in the unit.
 */
function mergeInto(known: KnownItem, next: WorkItem): WorkItem {
  if (known.created_at < next.created_at) next.created_at = known.created_at;
  if (!next.title) next.title = known.title;
  if (!next.team) next.team = known.team;
  if (next.labels.length === 0) next.labels = known.labels;
  return next;
}

/** Stands for a message the main thread refused itself (it sent no bytes); not refused again here. */
const REFUSED_BEFORE: Parsed = { ok: false, reason: "too_large", detail: "" };

/** The decode thread's state: flush units being decoded, and the items this consumer wrote last. */
export class DecodeState {
  private readonly units = new Map<number, Unit>();
  private readonly known = new Map<string, KnownItem>();

  private unitOf(id: number): Unit {
    let unit = this.units.get(id);
    if (!unit) {
      unit = { items: new Map(), derivedCreated: new Set(), created: new Set(), touched: new Set(), transitions: [], transitionCount: 0 };
      this.units.set(id, unit);
    }
    return unit;
  }

  decode(unitId: number, topic: TopicConfig, data: Uint8Array, ends: Uint32Array, flags: Uint8Array): DecodeReply {
    const t0 = performance.now();
    const count = ends.length;
    const parsed: Parsed[] = new Array(count);
    // One ASCII check for the chunk: when it is all ASCII (the usual case), each value is read as
    // latin1, which for ASCII is the same text as UTF-8, only cheaper; otherwise each value is
    // decoded as UTF-8 on its own. Each value gets its own small string: decoding the ~330 KB chunk
    // into one string and slicing it cost ~750 ns per event (measured, Node 20: a string that size
    // is costly to create), reading each value ~80 ns.
    const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    const ascii = isAscii(data);
    let start = 0;
    for (let i = 0; i < count; i++) {
      const end = ends[i]!;
      const flag = flags[i];
      parsed[i] =
        flag === VALUE_NULL
          ? parseEvent(null)
          : flag === VALUE_REFUSED
            ? REFUSED_BEFORE
            : parseEvent(ascii ? bytes.toString("latin1", start, end) : utf8.decode(data.subarray(start, end)));
      start = end;
    }
    const t1 = performance.now();
    const validated: (Validated | null)[] = parsed.map((p) => (p.ok ? validateEvent(topic, p.value) : null));
    const t2 = performance.now();
    const mapped: Mapped[] = validated.map((v, i) => (v === null ? (parsed[i] as Mapped) : v.ok ? mapEvent(topic, v.event) : v));
    const t3 = performance.now();

    const unit = this.unitOf(unitId);
    const ingestedAt = Date.now();
    const refusals: [number, string, string][] = [];
    const transitions: Transition[] = [];
    for (let i = 0; i < count; i++) {
      const result = mapped[i]!;
      if (!result.ok) {
        if (result !== REFUSED_BEFORE) refusals.push([i, result.reason, result.detail]);
        continue;
      }
      if (result.item) {
        const id = result.item.item_id;
        const before = unit.items.get(id);
        unit.items.set(id, before ? mergeInto(before, result.item) : result.item);
        if (topic.contract !== "canonical") {
          unit.derivedCreated.add(id);
          if (result.transition?.from_state === "") unit.created.add(id);
        }
      }
      if (result.transition) {
        unit.touched.add(result.transition.item_id);
        transitions.push(result.transition);
      }
    }
    // One flat string per chunk (one JSON.stringify for the chunk's rows): thousands of small
    // strings kept alive until the flush would be copied by every young-generation GC in between.
    if (transitions.length > 0) {
      unit.transitions.push(encodeTransitions(transitions, ingestedAt, nextVersions(transitions.length)));
      unit.transitionCount += transitions.length;
    }
    const t4 = performance.now();
    return { op: "decode", refusals, seconds: { parse: (t1 - t0) / 1000, validate: (t2 - t1) / 1000, map: (t3 - t2) / 1000 + (t4 - t3) / 1000 } };
  }

  /** Items whose stored row may know an earlier creation or fields the events left out. */
  prepare(unitId: number): DecodeReply {
    const unit = this.units.get(unitId);
    const lookup: string[] = [];
    if (unit) {
      for (const id of unit.derivedCreated) {
        if (unit.created.has(id)) continue;
        const seen = this.known.get(id);
        if (seen) unit.items.set(id, mergeItem(seen, unit.items.get(id)!));
        else lookup.push(id);
      }
    }
    return { op: "prepare", lookup };
  }

  encode(unitId: number, rows: KnownRow[]): DecodeReply {
    const t0 = performance.now();
    const unit = this.units.get(unitId);
    this.units.delete(unitId);
    if (!unit) throw new Error(`decode state of flush unit ${unitId} is gone (decode thread restarted)`);
    for (const row of rows) {
      const item = unit.items.get(row.item_id);
      if (item) unit.items.set(row.item_id, mergeItem(row, item));
    }
    const itemIds = new Set(unit.touched);
    const itemRows: WorkItem[] = [];
    for (const [id, raw] of unit.items) {
      const item = unit.derivedCreated.has(id) ? withDefaultTitle(raw) : raw;
      itemIds.add(id);
      itemRows.push(item);
      if (unit.derivedCreated.has(id)) {
        this.known.delete(id); // re-inserted last: the Map's order is the eviction order
        this.known.set(id, { created_at: item.created_at, title: item.title, team: item.team, labels: item.labels });
      }
    }
    for (const id of this.known.keys()) {
      if (this.known.size <= KNOWN_ITEMS_MAX) break;
      this.known.delete(id);
    }
    const items = utf8Encode.encode(encodeItems(itemRows, nextVersions(itemRows.length)));
    const transitions = utf8Encode.encode(unit.transitions.join(""));
    return {
      op: "encode",
      itemIds: [...itemIds],
      items: { lines: items, count: itemRows.length },
      transitions: { lines: transitions, count: unit.transitionCount },
      seconds: { encode: (performance.now() - t0) / 1000 },
    };
  }

  /** Drops a unit that will not be stored. */
  drop(unitId: number): void {
    this.units.delete(unitId);
  }

  /** Forgets remembered items (another writer may have changed them). */
  forget(): void {
    this.known.clear();
  }
}
