// The decode thread of the stream consumer (started by decoder.ts). It turns raw message values into
// store rows (decode-state.ts): CPU work the main thread would otherwise do between kafkajs fetches
// and store calls, delaying every store step waiting on the event loop. The main thread keeps
// everything about Kafka and the store: offsets, dead letters, commits, lookups. Messages are
// handled strictly in arrival order, so a unit's decode requests are done before its
// prepare/encode request runs.
import { parentPort, workerData } from "node:worker_threads";
import { DecodeState } from "./decode-state.ts";
import type { DecodeReply, DecodeRequest, DecoderInit } from "./decoder.ts";

const port = parentPort!;
const { topics } = workerData as DecoderInit;
const state = new DecodeState();

port.on("message", (request: DecodeRequest) => {
  try {
    let reply: DecodeReply;
    switch (request.op) {
      case "decode":
        reply = state.decode(request.unit, topics[request.topic]!, request.data, request.ends, request.flags);
        break;
      case "prepare":
        reply = state.prepare(request.unit);
        break;
      case "encode": {
        reply = state.encode(request.unit, request.rows);
        const transfer = reply.op === "encode" ? [reply.items.lines.buffer as ArrayBuffer, reply.transitions.lines.buffer as ArrayBuffer] : [];
        port.postMessage({ id: request.id, reply }, transfer);
        return;
      }
      case "drop":
        state.drop(request.unit);
        reply = { op: "done" };
        break;
      case "forget":
        state.forget();
        reply = { op: "done" };
        break;
    }
    port.postMessage({ id: request.id, reply });
  } catch (error) {
    port.postMessage({ id: request.id, error: (error as Error).message });
  }
});
