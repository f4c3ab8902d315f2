// `flowpulse sql` on a store no serve owns: the CLI opens it and runs the statement on a read-only
// engine session. (Through serve: test/analysts.test.ts.)
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeSampleJsonl } from "../connectors/file/sample.ts";
import { CLI, ROOT } from "./helpers/serve-process.ts";

const run = promisify(execFile);
const root = mkdtempSync(path.join(os.tmpdir(), "flowpulse-sql-"));
const data = path.join(root, "store");
const env = { ...process.env, FLOWPULSE_CONFIG: "" };
const flowpulse = (...args: string[]) => run(process.execPath, [CLI, "--data", data, ...args], { cwd: ROOT, env, encoding: "buffer" });
const text = async (...args: string[]) => (await flowpulse(...args)).stdout.toString("utf8");

beforeAll(async () => {
  const file = path.join(root, "sample.jsonl");
  await writeSampleJsonl(file, { seed: 5, items: 200, endMs: Date.UTC(2026, 10, 30, 12, 0) });
  await flowpulse("import", file);
}, 120_000);

afterAll(() => rmSync(root, { recursive: true, force: true }));

describe("flowpulse sql without serve", () => {
  it("answers in the format asked for, equal to `flowpulse metrics velocity --format json`", async () => {
    const cli = JSON.parse(await text("metrics", "velocity", "--period", "month", "--since", "2026-06-01", "--until", "2026-12-01", "--format", "json")) as unknown[];
    const sql = (await text(
      "sql",
      `SELECT toString(month_start) AS period_start, flow_type, toUInt32(sum(items)) AS items FROM flow_velocity
       WHERE day >= '2026-06-01' AND day < '2026-12-01' GROUP BY period_start, flow_type ORDER BY period_start, flow_type`,
      "--format",
      "JSONEachRow",
    ))
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as unknown);
    expect(cli.length).toBeGreaterThan(4);
    expect(sql).toEqual(cli);
    // Not a terminal: tab-separated with a header line.
    expect(await text("sql", "SELECT count() AS items FROM work_items FINAL")).toBe("items\n200\n");
    // Binary formats stay bytes.
    expect((await flowpulse("sql", "SELECT 1 AS x", "--format", "Parquet")).stdout.subarray(0, 4).toString()).toBe("PAR1");
  }, 180_000);

  it("refuses writes and machine access in one line with exit 2; the table is still there", async () => {
    for (const statement of ["DROP TABLE work_items", "SELECT * FROM url('http://127.0.0.1:9/', LineAsString)", "SELECT file('/etc/hostname')"]) {
      const failed = await flowpulse("sql", statement).catch((error: { code: number; stderr: Buffer }) => error);
      expect(failed, statement).toMatchObject({ code: 2 });
      expect((failed as { stderr: Buffer }).stderr.toString(), statement).toMatch(/^flowpulse: Code: 164\..*\(READONLY\)\n$/);
    }
    expect(await text("sql", "SELECT count() AS n FROM work_items FINAL")).toBe("n\n200\n");
  }, 180_000);

  it("serve with the endpoint on refuses to start, in one line, when a user's password variable is unset", async () => {
    const config = path.join(root, "unset.yaml");
    writeFileSync(config, "analysts:\n  enabled: true\n  port: 0\n  users:\n    - { name: carol, password_env: FP_TEST_UNSET_PASSWORD }\n");
    const { FP_TEST_UNSET_PASSWORD: _unset, ...rest } = process.env;
    const failed = await run(process.execPath, [CLI, "--data", data, "serve"], { cwd: ROOT, env: { ...rest, FLOWPULSE_CONFIG: config } }).catch((error: { code: number; stderr: string }) => error);
    expect(failed).toMatchObject({ code: 2 });
    expect((failed as { stderr: string }).stderr).toContain('flowpulse: analysts user "carol": $FP_TEST_UNSET_PASSWORD is not set; export the password there (or remove the user)\n');
  }, 180_000);
});
