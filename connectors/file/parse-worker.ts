// Worker thread for JSONL imports: reads the file, splits lines, and runs the same pure mapping
// (mapJsonLine) as the main thread would, so the main thread only stores rows. Results go back in
// packed packets (one string plus typed arrays) because cloning record objects costs the main
// thread about as much as parsing them. Packets are sent in file order and only while the main
// thread has granted credit, which keeps memory bounded.
import { createReadStream } from "node:fs";
import { parentPort, workerData } from "node:worker_threads";
import { PACKET_ITEM, PACKET_REJECTED, PACKET_TRANSITION, type Packet, type ParseJob, type WorkerMessage } from "./packet.ts";
import { mapJsonLine } from "./records.ts";

function grow<T extends Uint8Array | Float64Array | Uint32Array>(from: T, to: T): T {
  to.set(from);
  return to;
}

async function run(port: NonNullable<typeof parentPort>, job: ParseJob): Promise<void> {
  let credit = job.credits;
  let wake: (() => void) | null = null;
  port.on("message", (message) => {
    if (message === "credit") {
      credit += 1;
      wake?.();
      wake = null;
    }
  });

  const stream = createReadStream(job.file, { encoding: "utf8", highWaterMark: 1 << 20 });
  // Typed arrays filled in place (grown when a packet outgrows them) and handed over whole.
  let kinds = new Uint8Array(8192);
  let nums = new Float64Array(8192);
  let lens = new Uint32Array(65536);
  let k = 0;
  let n = 0;
  let l = 0;
  let text = "";
  const kind = (value: number) => {
    if (k === kinds.length) kinds = grow(kinds, new Uint8Array(k * 2));
    kinds[k++] = value;
  };
  const num = (value: number) => {
    if (n === nums.length) nums = grow(nums, new Float64Array(n * 2));
    nums[n++] = value;
  };
  const str = (s: string) => {
    text += s;
    if (l === lens.length) lens = grow(lens, new Uint32Array(l * 2));
    lens[l++] = s.length;
  };
  let lineNo = 0;

  const processLine = (raw: string) => {
    lineNo += 1;
    let line = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
    if (lineNo === 1 && line.charCodeAt(0) === 0xfeff) line = line.slice(1); // UTF-8 byte order mark
    if (line.trim() === "") return;
    const result = mapJsonLine(line);
    if (!result.ok) {
      kind(PACKET_REJECTED);
      str(result.reason);
      str(raw.slice(0, job.maxPayload));
      num(lineNo);
    } else if (result.record.kind === "transition") {
      const t = result.record.transition;
      kind(PACKET_TRANSITION);
      str(t.event_id);
      str(t.item_id);
      str(t.from_state);
      str(t.to_state);
      str(t.to_flow_state);
      num(t.at);
    } else {
      const i = result.record.item;
      kind(PACKET_ITEM);
      str(i.item_id);
      str(i.source);
      str(i.stream);
      str(i.key);
      str(i.title);
      str(i.url);
      str(i.flow_type);
      str(i.team);
      str(i.source_type);
      for (const label of i.labels) str(label);
      num(i.created_at);
      num(i.deleted ? 1 : 0);
      num(i.labels.length);
    }
  };

  const send = async () => {
    if (credit === 0) await new Promise<void>((resolve) => (wake = resolve));
    credit -= 1;
    const packet: Packet = {
      type: "packet",
      kinds: kinds.slice(0, k),
      nums: nums.slice(0, n),
      lens: lens.slice(0, l),
      text,
      bytesRead: stream.bytesRead,
    };
    k = n = l = 0;
    text = "";
    port.postMessage(packet, [packet.kinds.buffer as ArrayBuffer, packet.nums.buffer as ArrayBuffer, packet.lens.buffer as ArrayBuffer]);
  };

  let carry = "";
  for await (const chunk of stream as AsyncIterable<string>) {
    const text = carry + chunk;
    let start = 0;
    for (;;) {
      const nl = text.indexOf("\n", start);
      if (nl === -1) break;
      processLine(text.slice(start, nl));
      start = nl + 1;
    }
    carry = text.slice(start);
    await send();
  }
  if (carry !== "") processLine(carry);
  await send();
  port.postMessage({ type: "done", bytesRead: stream.bytesRead } satisfies WorkerMessage);
  port.removeAllListeners("message");
}

if (parentPort) {
  const port = parentPort;
  run(port, workerData as ParseJob).catch((error: NodeJS.ErrnoException) => {
    port.postMessage({ type: "error", message: error.message, code: error.code } satisfies WorkerMessage);
    port.removeAllListeners("message");
  });
}
