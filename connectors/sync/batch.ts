// One page's (or a batch of pages') rows, encoded for the store as the page is mapped: encoding a
// whole batch at once (and its raw payloads, megabytes of JSON) would stall the event loop for
// hundreds of ms at every batch, and with it the page chain.
import type { Rejection, Transition, WorkItem } from "../../core/model.ts";
import { encodeItems, encodeTransitions, nextVersions, type FlowSink } from "../../pipeline/sink.ts";

export const RAW_COLUMNS = ["source", "kind", "key", "payload", "fetched_at"] as const;

/** Rows encoded as JSONCompactEachRow lines, one chunk per page. */
export interface EncodedChunks {
  chunks: Buffer[];
  bytes: number;
  count: number;
}

export interface PageBatch {
  /** Every item the rows touch (transitions belong to the item mapped with them). */
  itemIds: string[];
  items: EncodedChunks;
  transitions: EncodedChunks;
  raw: EncodedChunks;
  rejections: Rejection[];
  /** The highest "updated" time (epoch ms, the source's clock) among the page's records. */
  maxUpdated: number | null;
}

/** What a connector's mapper hands over for one page. */
export interface MappedPage {
  items: WorkItem[];
  transitions: Transition[];
  rejections: Rejection[];
  /** Raw payload rows already encoded as JSONCompactEachRow lines (RAW_COLUMNS), and how many. */
  raw?: { lines: string; count: number };
  maxUpdated: number | null;
}

const noRows = (): EncodedChunks => ({ chunks: [], bytes: 0, count: 0 });
export const emptyBatch = (): PageBatch => ({ itemIds: [], items: noRows(), transitions: noRows(), raw: noRows(), rejections: [], maxUpdated: null });

function addChunk(into: EncodedChunks, lines: string, count: number): void {
  if (count === 0) return;
  const chunk = Buffer.from(lines);
  into.chunks.push(chunk);
  into.bytes += chunk.length;
  into.count += count;
}

/** Encodes one mapped page; versions in page order, pages in order, so a later row of a record wins. */
export function encodePage(page: MappedPage, now = Date.now()): PageBatch {
  const batch = emptyBatch();
  const ids = new Set<string>();
  for (const item of page.items) ids.add(item.item_id);
  for (const transition of page.transitions) ids.add(transition.item_id);
  batch.itemIds = [...ids];
  addChunk(batch.items, encodeItems(page.items, nextVersions(page.items.length)), page.items.length);
  addChunk(batch.transitions, encodeTransitions(page.transitions, now, nextVersions(page.transitions.length)), page.transitions.length);
  if (page.raw) addChunk(batch.raw, page.raw.lines, page.raw.count);
  batch.rejections = page.rejections;
  batch.maxUpdated = page.maxUpdated;
  return batch;
}

/** One raw payload row; the object is encoded inside the row (ClickHouse reads a JSON object into a String column as its text). */
export function rawLine(source: string, kind: string, key: string, payload: unknown, fetchedAt: number): string {
  return JSON.stringify([source, kind, key, payload, fetchedAt]) + "\n";
}

function appendRows(into: EncodedChunks, from: EncodedChunks): void {
  for (const chunk of from.chunks) into.chunks.push(chunk);
  into.bytes += from.bytes;
  into.count += from.count;
}

export function appendBatch(into: PageBatch, from: PageBatch): void {
  for (const id of from.itemIds) into.itemIds.push(id);
  appendRows(into.items, from.items);
  appendRows(into.transitions, from.transitions);
  appendRows(into.raw, from.raw);
  for (const rejection of from.rejections) into.rejections.push(rejection);
  if (from.maxUpdated !== null) into.maxUpdated = Math.max(into.maxUpdated ?? from.maxUpdated, from.maxUpdated);
}

export function joined(rows: EncodedChunks): Buffer {
  return rows.chunks.length === 1 ? rows.chunks[0]! : Buffer.concat(rows.chunks, rows.bytes);
}

export function writeBatch(sink: FlowSink, batch: PageBatch): Promise<void> {
  return sink.writeEncoded({
    itemIds: batch.itemIds,
    items: { lines: joined(batch.items), count: batch.items.count },
    transitions: { lines: joined(batch.transitions), count: batch.transitions.count },
  });
}
