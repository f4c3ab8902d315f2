// The dashboard from the command line: `flowpulse serve` serves it as one of its parts, and
// `flowpulse dashboard` serves it beside a running serve (through serve's share) and refuses an
// open bind without auth in one line, exit 2.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { CLI, ROOT } from "./helpers/serve-process.ts";

const work = mkdtempSync(path.join(os.tmpdir(), "fp-dash-cli-"));
const children: ChildProcess[] = [];

afterAll(async () => {
  for (const child of children) {
    if (child.exitCode === null) {
      child.kill("SIGTERM");
      await new Promise((resolve) => child.once("exit", resolve));
    }
  }
  rmSync(work, { recursive: true, force: true });
});

/** Starts the CLI and resolves with the first match of `pattern` in its stderr. */
function startUntil(args: string[], pattern: RegExp): Promise<{ child: ChildProcess; match: RegExpMatchArray }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: ROOT, env: { ...process.env, FLOWPULSE_CONFIG: "" }, stdio: ["ignore", "ignore", "pipe"] });
    children.push(child);
    let log = "";
    child.stderr!.on("data", (chunk: Buffer) => {
      log += chunk.toString();
      const match = log.match(pattern);
      if (match) resolve({ child, match });
    });
    child.on("exit", (code) => reject(new Error(`exited (${code}) before ${pattern}: ${log}`)));
  });
}

function run(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: ROOT, env: { ...process.env, FLOWPULSE_CONFIG: "" }, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.on("exit", (code) => resolve({ code, stderr }));
  });
}

describe("flowpulse demo --serve", () => {
  it("loads the demo data and serves the dashboard on it until stopped", async () => {
    const config = path.join(work, "demo.yaml");
    writeFileSync(config, "dashboard:\n  port: 0\n");
    const child = spawn(process.execPath, [CLI, "--config", config, "demo", "--serve", "--items", "300"], { cwd: ROOT, env: { ...process.env, FLOWPULSE_CONFIG: "" }, stdio: ["ignore", "pipe", "pipe"] });
    children.push(child);
    const url = await new Promise<string>((resolve, reject) => {
      let out = "";
      child.stdout!.on("data", (chunk: Buffer) => {
        out += chunk.toString();
        const match = out.match(/The dashboard of the demo data: (http:\/\/\S+\/)/);
        if (match) resolve(match[1]!);
      });
      child.on("exit", (code) => reject(new Error(`demo exited (${code}): ${out}`)));
    });
    const answer = (await (await fetch(`${url}api/view/overview`)).json()) as { empty: boolean; data: { rows: { flow_type: string }[] } };
    expect(answer.empty).toBe(false);
    expect(answer.data.rows.map((row) => row.flow_type)).toEqual(["all types", "debt", "defect", "feature", "risk"]);
    child.kill("SIGTERM");
    expect(await new Promise((resolve) => child.once("exit", resolve))).toBe(0);
  }, 120_000);
});

describe("flowpulse serve and flowpulse dashboard", () => {
  it("refuses to listen where other hosts can reach it without auth: one line, exit 2", async () => {
    const data = path.join(work, "store");
    const created = await run(["--data", data, "import", path.join(ROOT, "test/fixtures/import/basic.jsonl")]);
    expect(created.code, created.stderr).toBe(0);
    const refused = await run(["--data", data, "dashboard", "--host", "0.0.0.0", "--port", "0"]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toBe(
      "flowpulse: dashboard.host 0.0.0.0 can be reached from other hosts: set dashboard.auth to token (secret in $FLOWPULSE_DASHBOARD_TOKEN) or basic (password in $FLOWPULSE_DASHBOARD_PASSWORD), or bind to 127.0.0.1\n",
    );
  }, 120_000);

  it("serve serves the dashboard, and flowpulse dashboard beside it reads through serve's share", async () => {
    const data = path.join(work, "store");
    const config = path.join(work, "flowpulse.yaml");
    writeFileSync(config, "dashboard:\n  port: 0\n");
    const serve = await startUntil(["--config", config, "--data", data, "serve", "--no-stream", "--no-bot", "--no-jira"], /dashboard at (http:\/\/\S+\/);/);
    const names = await fetch(`${serve.match[1]}api/names`);
    expect(await names.json()).toEqual({ team: ["core", "web"], stream: ["alpha"], type: ["debt", "defect", "feature"] });

    const beside = await startUntil(["--config", config, "--data", data, "dashboard"], /\[dashboard\] serving (http:\/\/\S+\/)/);
    const view = await fetch(`${beside.match[1]}api/view/throughput?since=2026-01-01&until=2026-01-31`);
    expect(view.status).toBe(200);
    const body = (await view.json()) as { data: { rows: { items: number }[] } };
    expect(body.data.rows.length).toBeGreaterThan(0);
  }, 180_000);
});
