// Credentials never reach a person's screen or the store: redact() on its own, a Jira that echoes
// the request's Authorization header in its error pages (real sync into chDB, and the real CLI),
// and the sync scope of a site given with user info.
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { JiraConfigSchema } from "../connectors/jira/config.ts";
import { syncJira, syncScope } from "../connectors/jira/sync.ts";
import { redact, registerSecret } from "../core/secrets.ts";
import { board, boardConfig, boardIssues, CLOUD_AUTH, CLOUD_ENV, WORKFLOW } from "./helpers/jira-board.ts";
import { startJiraReplay, type JiraReplay } from "./helpers/jira-replay.ts";
import { freshStore } from "./helpers/store.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const BIN = path.join(ROOT, "bin", "flowpulse.js");
const TOKEN = CLOUD_ENV.JIRA_API_TOKEN;
const BASIC = CLOUD_AUTH.slice("Basic ".length);

describe("redact", () => {
  it.each([
    ["Authorization: Basic c3luYy1ib3RAYWNtZTpzZWNyZXQ=", "Authorization: [redacted]"],
    ['{"headers":{"Authorization":"Bearer abc.def-ghi"}}', '{"headers":{"Authorization":"[redacted]"}}'],
    ["proxy-authorization=Token 12345678", "proxy-authorization=[redacted]"],
    ["sent Bearer eyJhbGciOiJIUzI1NiJ9.e30.x and more", "sent Bearer [redacted] and more"],
    ["GET https://api.example.com/x?user=ann&access_token=AbC123&page=2", "GET https://api.example.com/x?user=ann&access_token=[redacted]&page=2"],
    ["https://hook.example.com/a?api_key=k-123#top", "https://hook.example.com/a?api_key=[redacted]#top"],
    ["cannot reach http://default:hunter2@ch.internal:8123/", "cannot reach http://[redacted]@ch.internal:8123/"],
    ["token xoxb-1234-5678-abcdefgh leaked", "token [redacted] leaked"],
  ])("removes the credential from %j", (text, expected) => {
    expect(redact(text)).toBe(expected);
  });

  it("leaves ordinary text alone", () => {
    const text = "GET /rest/api/3/search/jql answered HTTP 400: The value 'FP' does not exist for the field 'project'. (check sources.jira.projects)";
    expect(redact(text)).toBe(text);
  });

  it("removes secret values read from the environment, and their Basic form", () => {
    registerSecret("pw-only-we-know-42", "ann@acme.test");
    const basic = Buffer.from("ann@acme.test:pw-only-we-know-42").toString("base64");
    expect(redact(`echo: pw-only-we-know-42 / ${basic} / done`)).toBe("echo: [redacted] / [redacted] / done");
  });
});

describe("the Jira sync scope", () => {
  it("names the site without user info, whatever the section holds", () => {
    // The product config refuses such a site; the scope must not depend on that check alone.
    const jira = JiraConfigSchema.parse({ site: "https://bot:s3cret@acme.atlassian.net", projects: ["FP"] });
    expect(syncScope(jira)).toBe("https://acme.atlassian.net|projects:FP");
  });
});

describe("a Jira that echoes the Authorization header in its errors", () => {
  let tmp: string;
  let jira: JiraReplay;
  const echo = (status: number) => ({
    status,
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ errorMessages: [`request refused; it carried Authorization: ${CLOUD_AUTH}`], errors: { debug: `token=${TOKEN}` } }),
  });

  beforeAll(async () => {
    tmp = mkdtempSync(path.join(os.tmpdir(), "fp-secrets-"));
  });
  afterAll(async () => {
    await jira?.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  it("records the changelog failure as a rejection without the credentials", async () => {
    jira = await startJiraReplay({
      flavor: "cloud", issues: boardIssues(), statuses: board.statuses, embeddedChangelog: 3, authorization: CLOUD_AUTH,
      faults: [{ path: /^\/issue\/FP-9\/changelog$/, times: Infinity, respond: echo(400) }],
    });
    const { store, dispose } = await freshStore();
    try {
      const logs: string[] = [];
      await syncJira({ store, config: boardConfig(jira.url, "cloud"), env: CLOUD_ENV, log: (line) => logs.push(line) });
      const rows = await store.query<{ reference: string; reason: string }>("SELECT reference, reason FROM rejected_records WHERE source = 'jira' AND reference = 'FP-9'");
      expect(rows).toHaveLength(1);
      expect(rows[0]!.reason).toMatch(/^changelog could not be read: GET .*FP-9\/changelog.* answered HTTP 400: request refused; it carried Authorization: \[redacted\]; token=\[redacted\]/);
      for (const text of [rows[0]!.reason, ...logs]) {
        expect(text).not.toContain(BASIC);
        expect(text).not.toContain(TOKEN);
      }
    } finally {
      await dispose();
      await jira.close();
    }
  });

  it("prints a failed sync through the CLI without the credentials, exit 2", async () => {
    jira = await startJiraReplay({
      flavor: "cloud", issues: boardIssues(), statuses: board.statuses, authorization: CLOUD_AUTH,
      faults: [{ path: /^\/search\/jql$/, times: Infinity, respond: echo(400) }],
    });
    const config = path.join(tmp, "flowpulse.yaml");
    writeFileSync(config, stringify({
      workflows: { jira: WORKFLOW },
      sources: { jira: { site: jira.url, flavor: "cloud", auth: { email: "sync-bot@acme.test" }, projects: ["FP"], backoff_ms: 20, max_retries: 1 } },
    }));
    const result = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      execFile(process.execPath, [BIN, "--config", config, "--data", path.join(tmp, "data"), "sync", "jira"], {
        cwd: tmp, env: { ...process.env, ...CLOUD_ENV, FLOWPULSE_CONFIG: "", FLOWPULSE_DATA: "" },
      }, (error, _stdout, stderr) => resolve({ code: error ? ((error as { code?: number }).code ?? null) : 0, stderr }));
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/answered HTTP 400: request refused; it carried Authorization: \[redacted\]; token=\[redacted\]/);
    expect(result.stderr).not.toContain(BASIC);
    expect(result.stderr).not.toContain(TOKEN);
  });
});
