// GitHub webhooks, live: an HTTP listener (run by flowpulse serve) that checks X-Hub-Signature-256
// in constant time, drops a delivery it has seen (X-GitHub-Delivery), turns the payload into the
// timeline event GitHub will later list for it, adds it to the item's stored bundle and maps the
// bundle with the same mapper as the sync. So a webhook and the next sync write the same rows: the
// transition ids are named by state and time, and the times are taken from the same fields.
import { createHmac, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { FlowSink } from "../../pipeline/sink.ts";
import { sqlFile } from "../../store/sql.ts";
import type { Store } from "../../store/store.ts";
import { RAW_COLUMNS, rawLine } from "../sync/batch.ts";
import type { GitHubClient } from "./collect.ts";
import type { GitHubConfig } from "./config.ts";
import { itemIdOf, mapItem, type GitHubMapContext, type ItemBundle, type RawEvent, type RawIssue } from "./map.ts";

/** Deliveries remembered for de-duplication; GitHub redelivers within hours, not days. */
const REMEMBERED_DELIVERIES = 50_000;
/** Largest payload accepted (GitHub caps webhook payloads at 25 MB). */
const MAX_BODY_BYTES = 25 * 1024 * 1024;

export interface WebhookOutcome {
  status: number;
  /** What happened, for the log and the response body. */
  note: string;
}

export interface GitHubWebhooks {
  port: number;
  path: string;
  close(): Promise<void>;
}

export interface WebhookOptions {
  store: Store;
  config: GitHubConfig;
  ctx: GitHubMapContext;
  secret: string;
  /** Reads items the store does not know yet (a pull request's webhook lacks its issue id). */
  client?: GitHubClient;
  log?: (line: string) => void;
}

/** `sha256=<hex>` of the body under the secret, compared in constant time. */
export function validSignature(secret: string, body: Buffer, header: string | undefined): boolean {
  if (!header || !header.startsWith("sha256=")) return false;
  const expected = Buffer.from(`sha256=${createHmac("sha256", secret).update(body).digest("hex")}`);
  const given = Buffer.from(header);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

export async function startGitHubWebhooks(options: WebhookOptions): Promise<GitHubWebhooks> {
  const { config } = options;
  const webhook = config.webhook!;
  const log = options.log ?? (() => {});
  const handler = new WebhookHandler(options);
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://webhook");
    if (req.method !== "POST" || url.pathname !== webhook.path) {
      res.writeHead(404).end();
      return;
    }
    readBody(req).then(
      async (body) => {
        const outcome = body === null ? { status: 413, note: "payload too large" } : await handler.handle(req.headers, body);
        if (outcome.status >= 400 && outcome.status !== 401) log(`[github] webhook ${header(req.headers, "x-github-delivery") ?? "?"}: ${outcome.note}`);
        res.writeHead(outcome.status, { "content-type": "text/plain" }).end(outcome.note + "\n");
      },
      () => res.writeHead(400).end(),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(webhook.port, webhook.host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    path: webhook.path,
    async close() {
      server.closeIdleConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await handler.idle();
    },
  };
}

function readBody(req: IncomingMessage): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    req.on("end", () => resolve(size > MAX_BODY_BYTES ? null : Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

const header = (headers: IncomingMessage["headers"], name: string) => {
  const value = headers[name];
  return typeof value === "string" ? value : undefined;
};

type Json = Record<string, unknown>;

export class WebhookHandler {
  private readonly seen = new Set<string>();
  private readonly sink: FlowSink;
  /** Deliveries are applied one at a time: two events of one item must not read the same bundle. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: WebhookOptions) {
    this.sink = new FlowSink(options.store);
  }

  idle(): Promise<unknown> {
    return this.queue.catch(() => {});
  }

  async handle(headers: IncomingMessage["headers"], body: Buffer): Promise<WebhookOutcome> {
    // Nothing is parsed, let alone stored, before the signature holds.
    if (!validSignature(this.options.secret, body, header(headers, "x-hub-signature-256"))) return { status: 401, note: "bad or missing X-Hub-Signature-256" };
    const delivery = header(headers, "x-github-delivery");
    const name = header(headers, "x-github-event") ?? "";
    if (name === "ping") return { status: 200, note: "pong" };
    if (delivery && this.seen.has(delivery)) return { status: 200, note: "already applied" };
    let payload: Json;
    try {
      payload = JSON.parse(body.toString("utf8")) as Json;
    } catch {
      return { status: 400, note: "the payload is not JSON" };
    }
    const work = this.queue.then(() => this.apply(name, payload));
    this.queue = work.catch(() => {});
    const outcome = await work.catch((error: Error): WebhookOutcome => ({ status: 500, note: `not stored: ${error.message}` }));
    if (delivery && outcome.status < 300) {
      this.seen.add(delivery);
      if (this.seen.size > REMEMBERED_DELIVERIES) this.seen.delete(this.seen.values().next().value!);
    }
    return outcome;
  }

  private async apply(name: string, payload: Json): Promise<WebhookOutcome> {
    const { ctx } = this.options;
    const repo = (payload.repository as { full_name?: string } | undefined)?.full_name;
    const action = String(payload.action ?? "");
    let bundle: ItemBundle | null;
    let events: RawEvent[];
    if (name === "issues" || name === "pull_request" || name === "pull_request_review") {
      if (!repo) return { status: 400, note: "no repository in the payload" };
      const pull = name !== "issues";
      const subject = (pull ? payload.pull_request : payload.issue) as Json | undefined;
      if (!subject || typeof subject.number !== "number") return { status: 400, note: `no ${pull ? "pull_request" : "issue"} in the payload` };
      bundle = await this.bundleFor(repo, subject, pull);
      if (!bundle) return { status: 202, note: "item unknown and could not be read" };
      events = name === "pull_request_review" ? reviewEvents(action, payload) : itemEvents(name, action, payload, subject);
      if (name === "issues") bundle.issue = { ...(subject as RawIssue) };
      else bundle.issue = mergePull(bundle.issue, subject);
      if (action === "deleted") bundle.deleted = true;
    } else if (name === "projects_v2_item") {
      const item = payload.projects_v2_item as { content_node_id?: string; updated_at?: string } | undefined;
      const change = (payload.changes as RawEvent["changes"]) ?? undefined;
      if (action !== "edited" || !item?.content_node_id || !change?.field_value) return { status: 202, note: "not a status change" };
      if (change.field_value.field_name && change.field_value.field_name.toLowerCase() !== "status") return { status: 202, note: "not a status change" };
      const rows = await this.options.store.query<{ key: string; payload: string }>(sqlFile("queries/github_item_by_node.sql"), { node: item.content_node_id, prefix: `github:${ctx.host}:` });
      if (!rows[0]) return { status: 202, note: "item unknown: the next sync reads it" };
      bundle = JSON.parse(rows[0].payload) as ItemBundle;
      events = [{ event: "project_v2_item_status_changed", created_at: item.updated_at, actor: payload.sender as RawEvent["actor"], changes: change }];
    } else {
      return { status: 202, note: `event ${name || "(none)"} is not read` };
    }
    bundle.timeline = [...bundle.timeline, ...events];
    // The timeline's ETag no longer describes what is stored: the next sync reads it whole.
    bundle.etag = null;
    return this.store(bundle);
  }

  private async bundleFor(repo: string, subject: Json, pull: boolean): Promise<ItemBundle | null> {
    const { ctx, store } = this.options;
    const rows = await store.query<{ key: string; payload: string }>(sqlFile("queries/github_item_by_key.sql"), { key: `${repo}#${subject.number}`, prefix: `github:${ctx.host}:` });
    if (rows[0]) return JSON.parse(rows[0].payload) as ItemBundle;
    // An issue's payload is the issue as the API lists it; a pull request's carries the pull id,
    // not the issue id items are keyed by, so a new one is read from the API once.
    if (!pull) return { repo, issue: { ...(subject as RawIssue) }, timeline: [] };
    const client = this.options.client;
    if (!client) return null;
    const issue = (await client.octokit.request("GET /repos/{owner}/{repo}/issues/{number}", { owner: repo.split("/")[0]!, repo: repo.split("/")[1]!, number: subject.number as number })).data as RawIssue;
    const timeline = await client.timeline(repo, subject.number as number, null);
    return { repo, issue, timeline: timeline.kind === "fresh" ? timeline.events : [], etag: timeline.kind === "fresh" ? timeline.etag : null, timelinePages: timeline.kind === "fresh" ? timeline.pages : 0 };
  }

  private async store(bundle: ItemBundle): Promise<WebhookOutcome> {
    const { store, ctx } = this.options;
    const mapped = mapItem(bundle, ctx);
    await this.sink.reject(mapped.rejections);
    if (!mapped.item) return { status: 202, note: `refused: ${mapped.rejections.map((r) => r.reason).join("; ")}` };
    const id = itemIdOf(ctx, bundle.issue.id!);
    await Promise.all([
      store.insertLines("raw_payloads", RAW_COLUMNS, rawLine("github", "item", id, bundle, Date.now())),
      this.sink.write({ items: [mapped.item], transitions: mapped.transitions }),
    ]);
    await this.sink.commit();
    return { status: 200, note: `${mapped.item.key} is ${mapped.transitions.at(-1)?.to_state ?? "stored"}` };
  }
}

/** The timeline event an issues or pull_request delivery stands for, timed as the timeline will time it. */
function itemEvents(name: string, action: string, payload: Json, subject: Json): RawEvent[] {
  const updated = String(subject.updated_at ?? "");
  const actor = payload.sender as RawEvent["actor"];
  switch (action) {
    case "labeled":
    case "unlabeled":
      return [{ event: action, created_at: updated, actor, label: payload.label as RawEvent["label"] }];
    case "assigned":
    case "unassigned":
      return [{ event: action, created_at: updated, actor, assignee: payload.assignee as RawEvent["assignee"] }];
    case "closed":
      if (name === "pull_request" && subject.merged_at) return [{ event: "merged", created_at: String(subject.merged_at), actor }, { event: "closed", created_at: String(subject.closed_at ?? subject.merged_at), actor }];
      return [{ event: "closed", created_at: String(subject.closed_at ?? updated), actor, state_reason: (subject.state_reason as string | null) ?? null }];
    case "reopened":
      return [{ event: "reopened", created_at: updated, actor }];
    case "ready_for_review":
      return [{ event: "ready_for_review", created_at: updated, actor }];
    case "converted_to_draft":
      return [{ event: "convert_to_draft", created_at: updated, actor }];
    case "review_requested":
      return [{ event: "review_requested", created_at: updated, actor }];
    default:
      // opened, edited, transferred...: the item itself changes, no state event.
      return [];
  }
}

function reviewEvents(action: string, payload: Json): RawEvent[] {
  const review = payload.review as { user?: RawEvent["user"]; state?: string; submitted_at?: string } | undefined;
  if (action !== "submitted" || !review) return [];
  return [{ event: "reviewed", user: review.user, state: review.state?.toLowerCase(), submitted_at: review.submitted_at }];
}

/** A pull request payload's news merged into the stored item (which keeps the issue id and shape). */
function mergePull(issue: RawIssue, pull: Json): RawIssue {
  return {
    ...issue,
    title: typeof pull.title === "string" ? pull.title : issue.title,
    state: typeof pull.state === "string" ? pull.state : issue.state,
    updated_at: typeof pull.updated_at === "string" ? pull.updated_at : issue.updated_at,
    closed_at: (pull.closed_at as string | null | undefined) ?? issue.closed_at,
    labels: Array.isArray(pull.labels) ? (pull.labels as RawIssue["labels"]) : issue.labels,
    draft: typeof pull.draft === "boolean" ? pull.draft : issue.draft,
    pull_request: { ...issue.pull_request, merged_at: (pull.merged_at as string | null | undefined) ?? issue.pull_request?.merged_at ?? null },
  };
}
