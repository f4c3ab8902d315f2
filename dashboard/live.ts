// Live updates: while at least one page listens, the store's newest 'derived' mark
// (sql/queries/data_mark.sql) is read every few seconds, and a change is pushed to every page as a
// server-sent event. Every write that changes what the metrics read ends with a derive that makes
// such a mark (an import, through serve's share or not, the stream, a sync, recovery).
import type { ServerResponse } from "node:http";
import { sqlFile } from "../store/sql.ts";
import type { Store } from "../store/store.ts";

/** How often an idle connection gets a comment line, so proxies do not close it. */
const KEEPALIVE_MS = 15_000;

export interface LiveFeed {
  /** Keeps `response` open as an event stream until the page goes away. */
  attach(response: ServerResponse): void;
  close(): Promise<void>;
}

export function liveFeed(store: Store, pollMs: number, log: (line: string) => void): LiveFeed {
  const clients = new Set<ServerResponse>();
  let mark: string | undefined;
  let timer: NodeJS.Timeout | undefined;
  let running = false;
  let polling: Promise<void> = Promise.resolve();
  let closed = false;
  let failing = false;

  const send = (response: ServerResponse, event: string, data: unknown) => response.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);

  const poll = async () => {
    try {
      const [row] = await store.query<{ mark: string | null; marks: number }>(sqlFile("queries/data_mark.sql"));
      const next = `${row?.mark ?? ""}:${row?.marks ?? 0}`;
      failing = false;
      if (mark !== undefined && next !== mark) for (const client of clients) send(client, "change", { mark: next });
      mark = next;
    } catch (error) {
      // Said once per outage, not every few seconds; the pages keep what they show.
      if (!failing) log(`[dashboard] could not read the data mark: ${(error as Error).message}`);
      failing = true;
    }
  };

  const schedule = () => {
    if (closed || clients.size === 0) {
      running = false;
      return;
    }
    timer = setTimeout(() => {
      polling = poll().finally(schedule);
    }, pollMs);
  };

  const keepalive = setInterval(() => {
    for (const client of clients) client.write(": keepalive\n\n");
  }, KEEPALIVE_MS);
  keepalive.unref();

  return {
    attach(response) {
      response.writeHead(200, { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-store", connection: "keep-alive" });
      // The browser retries after this many ms when the connection drops (serve restarting, say).
      response.write(`retry: ${Math.max(pollMs, 1000)}\n\n`);
      clients.add(response);
      response.on("close", () => clients.delete(response));
      if (!running && !closed) {
        running = true;
        polling = poll().finally(schedule);
      }
      // A page loads its data when it hears hello: after the mark it will be compared with was
      // read, so a write landing between the two is either in the data or pushed as a change.
      void polling.then(() => send(response, "hello", { pollMs }));
    },
    async close() {
      closed = true;
      clearInterval(keepalive);
      if (timer) clearTimeout(timer);
      await polling;
      for (const client of clients) client.end();
      clients.clear();
    },
  };
}
