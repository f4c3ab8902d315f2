// Errors at start-up, through the real CLI (`node bin/flowpulse.js`) as a user meets them: each is
// one line naming what to fix, exit 2, no stack trace and no client log. The server cases run
// against a closed port and against Debian's clickhouse-server 18.16 given a wrong password.
import { execFile, execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const BIN = path.join(ROOT, "bin", "flowpulse.js");
const FIXTURES = path.join(ROOT, "test", "fixtures", "import");

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), "fp-startup-"));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

interface Outcome { code: number | null; stdout: string; stderr: string }

function flowpulse(args: string[], env: Record<string, string> = {}): Promise<Outcome> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { cwd: dir, env: { ...process.env, FLOWPULSE_CONFIG: "", FLOWPULSE_DATA: "", ...env } }, (error, stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? null) : 0, stdout, stderr });
    });
  });
}

/** Exit 2 and exactly one line on stderr: `flowpulse: <message>`. */
function expectOneLine(result: Outcome, message: string | RegExp): void {
  expect(result.code, result.stderr).toBe(2);
  expect(result.stderr.endsWith("\n")).toBe(true);
  expect(result.stderr.trimEnd().split("\n"), result.stderr).toHaveLength(1);
  if (typeof message === "string") expect(result.stderr).toBe(`flowpulse: ${message}\n`);
  else expect(result.stderr).toMatch(message);
}

const yaml = (name: string, text: string) => {
  const file = path.join(dir, name);
  writeFileSync(file, text);
  return file;
};

describe("the data directory and the config file", () => {
  it("names a --data that is a file, or lies under one", async () => {
    const file = path.join(dir, "not-a-dir");
    writeFileSync(file, "x");
    expectOneLine(await flowpulse(["--data", file, "metrics", "velocity"]), `--data ${file} is a file: name the directory that holds (or will hold) the embedded store`);
    const under = path.join(file, "store");
    expectOneLine(
      await flowpulse(["import", path.join(FIXTURES, "basic.jsonl"), "--data", under]),
      `--data ${under} is inside ${file}, which is a file: name a directory for the embedded store`,
    );
    const config = yaml("file-store.yaml", `store:\n  path: ${file}\n`);
    expectOneLine(await flowpulse(["--config", config, "rejected"]), `store.path ${file} is a file: name the directory that holds (or will hold) the embedded store`);
  });

  it("names a --config that is a directory", async () => {
    const configDir = path.join(dir, "conf.d");
    mkdirSync(configDir);
    expectOneLine(
      await flowpulse(["--config", configDir, "metrics", "velocity"]),
      `config file ${configDir} is a directory: name a YAML or JSON file (e.g. ${path.join(configDir, "flowpulse.yaml")})`,
    );
  });

  it("refuses to read a directory without a store, and creates none; commands that write create it", async () => {
    const typo = path.join(dir, "data", "flowpluse");
    for (const command of [["metrics", "velocity"], ["rejected"], ["metrics", "bottlenecks"]]) {
      expectOneLine(await flowpulse(["--data", typo, ...command]), `no Flowpulse store at ${typo}: check --data, or import data first`);
    }
    expect(existsSync(typo)).toBe(false);
    // An existing but empty directory is no store either.
    mkdirSync(typo, { recursive: true });
    expectOneLine(await flowpulse(["--data", typo, "rejected"]), `no Flowpulse store at ${typo}: check --data, or import data first`);
    const imported = await flowpulse(["import", path.join(FIXTURES, "basic.jsonl"), "--data", typo]);
    expect(imported.code, imported.stderr).toBe(0);
    const read = await flowpulse(["--data", typo, "metrics", "velocity", "--since", "2026-01-01", "--until", "2026-01-31", "--format", "json"]);
    expect(read.code, read.stderr).toBe(0);
    expect(JSON.parse(read.stdout).length).toBeGreaterThan(0);
  });

  it("names an unknown config key in one line", async () => {
    const config = yaml("typo.yaml", "metrics:\n  timezon: Europe/Berlin\n");
    expectOneLine(
      await flowpulse(["--config", config, "metrics", "velocity"]),
      'invalid config (typo.yaml): metrics.timezon: unknown key in metrics; allowed here: timezone, flow_time_start, aging_percentile, aging_baseline_days, forecast; did you mean "timezone"?',
    );
  });

  it("refuses a secret written in the file without echoing it", async () => {
    const config = yaml("secret.yaml", "store:\n  kind: server\n  url: http://localhost:8123\n  password: hunter2-in-file\n");
    const result = await flowpulse(["--config", config, "metrics", "velocity"]);
    expectOneLine(result, "invalid config (secret.yaml): store.password: do not put secrets in the config file (it is meant to be shared): put the password in $CLICKHOUSE_PASSWORD (named by store.password_env)");
    expect(result.stderr).not.toContain("hunter2");
  });
});

describe("a ClickHouse server store", () => {
  it("that nothing answers: one line naming the URL and the socket error", async () => {
    // A port that was free a moment ago: bound, then closed, so a connect is refused.
    const port = await new Promise<number>((resolve) => {
      const server = createServer().listen(0, "127.0.0.1", () => {
        const { port } = server.address() as { port: number };
        server.close(() => resolve(port));
      });
    });
    const config = yaml("closed.yaml", `store:\n  kind: server\n  url: http://127.0.0.1:${port}\n`);
    expectOneLine(
      await flowpulse(["--config", config, "metrics", "velocity"]),
      `cannot reach the ClickHouse server at http://127.0.0.1:${port} (ECONNREFUSED): is it running?`,
    );
  });

  const debianServer = spawnSync("sh", ["-c", "command -v clickhouse-server"]).status === 0;
  describe.skipIf(!debianServer)(
    debianServer ? "on Debian's clickhouse-server 18.16" : "SKIPPED: wrong password — clickhouse-server not installed (apt-get install clickhouse-server)",
    () => {
      const serverDir = mkdtempSync(path.join(os.tmpdir(), "fp-startup-ch-"));
      afterAll(() => {
        const pid = path.join(serverDir, "pid");
        if (existsSync(pid)) spawnSync("kill", [readFileSync(pid, "utf8").trim()]);
        rmSync(serverDir, { recursive: true, force: true });
      });

      it("that refuses the password: one line naming the user and the variable, never the password", async () => {
        const started = execFileSync("bash", ["scripts/clickhouse/start.sh", "--dir", serverDir], { cwd: ROOT, encoding: "utf8" });
        const url = /CLICKHOUSE_URL=(\S+)/.exec(started)?.[1];
        expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
        const config = yaml("server.yaml", `store:\n  kind: server\n  url: ${url}\n  password_env: FP_TEST_CH_PASSWORD\n`);
        const wrong = await flowpulse(["--config", config, "rejected"], { FP_TEST_CH_PASSWORD: "not-the-password-1" });
        expectOneLine(wrong, `the ClickHouse server at ${url} refused user default: check $FP_TEST_CH_PASSWORD`);
        expect(wrong.stderr).not.toContain("not-the-password-1");
        const user = yaml("user.yaml", `store:\n  kind: server\n  url: ${url}\n  username: nobody_here\n`);
        expectOneLine(await flowpulse(["--config", user, "rejected"]), `the ClickHouse server at ${url} refused user nobody_here: check $CLICKHOUSE_PASSWORD`);
      }, 120_000);
    },
  );
});
