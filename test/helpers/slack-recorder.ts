// A local stand-in for slack.com that answers in Slack's shapes and records every call: Web API
// methods under /api/, file upload URLs under /upload/, and response_url posts under /respond/.
import { createHmac } from "node:crypto";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface RecordedCall {
  path: string;
  /** Web API method (`chat.postMessage`), `upload` or `respond`. */
  kind: string;
  contentType: string;
  raw: Buffer;
  /** Parsed form or JSON body; values that hold JSON (blocks) are parsed too. */
  body: Record<string, unknown>;
  at: number;
}

export interface SlackRecorder {
  url: string;
  apiUrl: string;
  calls: RecordedCall[];
  /** channel id -> Slack error code: chat.postMessage to that channel answers { ok: false, error }. */
  channelErrors: Map<string, string>;
  responseUrl(id: string): string;
  waitFor(predicate: (call: RecordedCall) => boolean, timeoutMs?: number): Promise<RecordedCall>;
  close(): Promise<void>;
}

function readBody(request: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => resolve(Buffer.concat(chunks)));
    request.on("error", reject);
  });
}

function parseBody(contentType: string, raw: Buffer): Record<string, unknown> {
  const text = raw.toString("utf8");
  if (contentType.includes("application/json")) return JSON.parse(text || "{}") as Record<string, unknown>;
  if (contentType.includes("application/x-www-form-urlencoded")) {
    const out: Record<string, unknown> = {};
    for (const [key, value] of new URLSearchParams(text)) {
      try {
        out[key] = /^[[{]/.test(value) ? JSON.parse(value) : value;
      } catch {
        out[key] = value;
      }
    }
    return out;
  }
  return {};
}

export async function startSlackRecorder(): Promise<SlackRecorder> {
  const calls: RecordedCall[] = [];
  const waiters: { predicate: (call: RecordedCall) => boolean; resolve: (call: RecordedCall) => void }[] = [];
  let fileCounter = 0;
  const channelErrors = new Map<string, string>();
  let base = "";
  const server: Server = createServer(async (request, response) => {
    const raw = await readBody(request);
    const path = (request.url ?? "/").split("?")[0]!;
    const contentType = String(request.headers["content-type"] ?? "");
    const kind = path.startsWith("/api/") ? path.slice(5) : path.startsWith("/upload/") ? "upload" : path.startsWith("/respond/") ? "respond" : "other";
    const call: RecordedCall = { path, kind, contentType, raw, body: kind === "upload" ? {} : parseBody(contentType, raw), at: Date.now() };
    calls.push(call);
    for (const waiter of [...waiters]) {
      if (waiter.predicate(call)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(call);
      }
    }
    let answer: unknown = { ok: true };
    if (kind === "auth.test") {
      answer = { ok: true, url: "https://example.slack.com/", team: "Example", user: "flowpulse", team_id: "T0TEST", user_id: "U0BOT", bot_id: "B0BOT", is_enterprise_install: false };
    } else if (kind === "chat.postMessage" && channelErrors.has(String(call.body.channel))) {
      answer = { ok: false, error: channelErrors.get(String(call.body.channel)) };
    } else if (kind === "chat.postMessage") {
      answer = { ok: true, channel: call.body.channel, ts: `${Date.now() / 1000}`, message: { text: call.body.text } };
    } else if (kind === "files.getUploadURLExternal") {
      fileCounter += 1;
      answer = { ok: true, upload_url: `${base}/upload/F0FILE${fileCounter}`, file_id: `F0FILE${fileCounter}` };
    } else if (kind === "files.completeUploadExternal") {
      const files = (call.body.files as { id: string; title?: string }[] | undefined) ?? [];
      answer = { ok: true, files: files.map((file) => ({ id: file.id, title: file.title ?? "" })) };
    } else if (kind === "upload") {
      response.writeHead(200, { "content-type": "text/plain" });
      response.end(`OK - ${raw.length}`);
      return;
    }
    response.writeHead(200, { "content-type": "application/json" });
    response.end(JSON.stringify(answer));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: base,
    apiUrl: `${base}/api/`,
    calls,
    channelErrors,
    responseUrl: (id) => `${base}/respond/${id}`,
    waitFor(predicate, timeoutMs = 10_000) {
      const found = calls.find(predicate);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no matching Slack call within ${timeoutMs} ms; got: ${calls.map((c) => c.kind).join(", ")}`)), timeoutMs);
        waiters.push({ predicate, resolve: (call) => { clearTimeout(timer); resolve(call); } });
      });
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Slack's request signing: v0 HMAC-SHA256 over `v0:<timestamp>:<raw body>`. */
export function slackSignature(secret: string, timestamp: number, rawBody: string): string {
  return `v0=${createHmac("sha256", secret).update(`v0:${timestamp}:${rawBody}`).digest("hex")}`;
}

export interface SlashCommandFields {
  command?: string;
  text: string;
  team_id?: string;
  channel_id?: string;
  user_id?: string;
  response_url: string;
}

/** Posts a slash command to the bot exactly as Slack does (form body, signature headers). */
export async function sendSlashCommand(
  botUrl: string,
  secret: string,
  fields: SlashCommandFields,
  options: { timestamp?: number; signature?: string } = {},
): Promise<Response> {
  const body = new URLSearchParams({
    token: "legacy-verification-token-unused",
    team_id: fields.team_id ?? "T0TEST",
    team_domain: "example",
    channel_id: fields.channel_id ?? "C0GENERAL",
    channel_name: "general",
    user_id: fields.user_id ?? "U0ASKER",
    user_name: "asker",
    command: fields.command ?? "/flow",
    text: fields.text,
    api_app_id: "A0APP",
    is_enterprise_install: "false",
    response_url: fields.response_url,
    trigger_id: "1337.42.abcdef",
  }).toString();
  const timestamp = options.timestamp ?? Math.floor(Date.now() / 1000);
  return fetch(`${botUrl}/slack/events`, {
    method: "POST",
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      "x-slack-request-timestamp": String(timestamp),
      "x-slack-signature": options.signature ?? slackSignature(secret, timestamp, body),
    },
    body,
  });
}

export const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
