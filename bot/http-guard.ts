// What stands in front of Bolt's HTTP receiver. Bolt reads a request body whole before it checks
// the signature, so anyone who can reach the port could make the bot buffer hundreds of megabytes.
// This guard decides from the headers alone whenever it can (declared size, timestamp window,
// signature format), reads at most MAX_BODY_BYTES otherwise, and hands Bolt the bytes it read so
// Bolt's own HMAC check still runs on exactly what arrived.
import type { IncomingMessage, RequestListener, ServerResponse } from "node:http";

/** Slack's payloads are a few KB (a slash command, an interaction); 1 MiB leaves ample room. */
export const MAX_BODY_BYTES = 1024 * 1024;
/** Slack's SDKs accept a request timestamp at most five minutes from the local clock, either way. */
export const MAX_CLOCK_SKEW_SECONDS = 5 * 60;

export interface GuardOptions {
  maxBodyBytes?: number;
  now?: () => number;
  log: { warn(message: string): void };
}

/** Why a request is refused from its headers alone, or undefined when its body may be read. */
export function headerProblem(headers: IncomingMessage["headers"], nowMs: number, maxBodyBytes: number): { status: number; reason: string } | undefined {
  const declared = headers["content-length"];
  if (declared !== undefined && !(Number(declared) <= maxBodyBytes)) {
    return { status: 413, reason: `body of ${declared} bytes is over the ${maxBodyBytes}-byte limit` };
  }
  const timestamp = headers["x-slack-request-timestamp"];
  const signature = headers["x-slack-signature"];
  // Slack's ssl_check pings may come without signature headers; Bolt answers those itself, and the
  // size limit above bounds what such a request can cost.
  if (timestamp === undefined && signature === undefined) return undefined;
  if (typeof timestamp !== "string" || !/^\d{1,12}$/.test(timestamp)) return { status: 401, reason: "x-slack-request-timestamp is missing or not a number" };
  const skew = Math.abs(Math.floor(nowMs / 1000) - Number(timestamp));
  if (skew > MAX_CLOCK_SKEW_SECONDS) return { status: 401, reason: `x-slack-request-timestamp is ${skew} s away from this host's clock (at most ${MAX_CLOCK_SKEW_SECONDS} s)` };
  if (typeof signature !== "string" || !/^v0=[0-9a-f]{64}$/.test(signature)) return { status: 401, reason: "x-slack-signature is missing or not a v0 signature" };
  return undefined;
}

export function guardSlackRequests(inner: RequestListener, options: GuardOptions): RequestListener {
  const maxBodyBytes = options.maxBodyBytes ?? MAX_BODY_BYTES;
  const now = options.now ?? Date.now;

  const refuse = (req: IncomingMessage, res: ServerResponse, status: number, reason: string) => {
    options.log.warn(`refused ${req.method} ${req.url} with ${status}: ${reason}`);
    if (!res.headersSent) res.writeHead(status, { "content-type": "text/plain", connection: "close" });
    // The unread rest of the body is dropped with the connection, not drained.
    res.end(status === 413 ? "Payload Too Large\n" : "Unauthorized\n", () => req.socket.destroy());
    req.pause();
  };

  return (req, res) => {
    if (req.method !== "POST") return inner(req, res);
    const early = headerProblem(req.headers, now(), maxBodyBytes);
    if (early) return refuse(req, res, early.status, early.reason);

    // A chunked body declares no length: count while reading and stop at the limit.
    const chunks: Buffer[] = [];
    let size = 0;
    let refused = false;
    req.on("data", (chunk: Buffer) => {
      if (refused) return;
      size += chunk.length;
      if (size > maxBodyBytes) {
        refused = true;
        chunks.length = 0;
        refuse(req, res, 413, `body is over the ${maxBodyBytes}-byte limit`);
        return;
      }
      chunks.push(chunk);
    });
    req.on("error", () => {
      refused = true;
    });
    req.on("end", () => {
      if (refused) return;
      // Bolt's bufferIncomingMessage uses rawBody when it is already there instead of reading again.
      (req as IncomingMessage & { rawBody?: Buffer }).rawBody = Buffer.concat(chunks, size);
      try {
        inner(req, res);
      } catch (error) {
        options.log.warn(`request to ${req.url} not handled: ${(error as Error).message}`);
        if (!res.headersSent) res.writeHead(404);
        res.end();
      }
    });
  };
}
