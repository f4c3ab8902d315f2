// ClickHouse's own JDBC driver (com.clickhouse:clickhouse-jdbc 0.10.0 from Maven Central, as
// DBeaver and DataGrip load it) against a real `flowpulse serve`: a small Java program
// (test/jdbc) connects with a password, reads flow_velocity, binds a PreparedStatement parameter,
// reads answers in ClickHouse's compressed framing (its default) and without, tries DROP TABLE
// and a bad password. Built with mvn in the test; skipped, saying so, without
// java and mvn.
import { execFile, execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { writeSampleJsonl } from "../connectors/file/sample.ts";
import { startAnalystServe, type AnalystServe } from "./helpers/analysts.ts";
import { CLI, ROOT } from "./helpers/serve-process.ts";

const run = promisify(execFile);
const has = (command: string, args: string[]) => {
  try {
    execFileSync(command, args, { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
};
const tools = has("java", ["-version"]) && has("mvn", ["-v"]);
const root = mkdtempSync(path.join(os.tmpdir(), "flowpulse-jdbc-"));
const data = path.join(root, "store");
const build = path.join(root, "build");
const PASSWORD = "jdbc-pass-1";
const env = { ...process.env, FLOWPULSE_CONFIG: "" };
const flowpulse = (...args: string[]) => run(process.execPath, [CLI, "--data", data, ...args], { cwd: ROOT, env });
let serve: AnalystServe | undefined;

afterAll(async () => {
  await serve?.stop();
  rmSync(root, { recursive: true, force: true });
}, 60_000);

describe.skipIf(!tools)(`analysts' SQL over JDBC${tools ? "" : " (skipped: needs java and mvn on PATH)"}`, () => {
  it("the driver reads flow_velocity with a password, binds a parameter, and is refused DROP TABLE and a bad password", async () => {
    // Offline when the driver is already in ~/.m2; otherwise Maven Central, once.
    const cached = existsSync(path.join(os.homedir(), ".m2", "repository", "com", "clickhouse", "clickhouse-jdbc", "0.10.0"));
    const packaging = run("mvn", ["-q", ...(cached ? ["-o"] : []), "package", `-DbuildDir=${build}`], { cwd: path.join(ROOT, "test", "jdbc") });

    const file = path.join(root, "sample.jsonl");
    await writeSampleJsonl(file, { seed: 23, items: 300, endMs: Date.UTC(2026, 10, 30, 12, 0) });
    await flowpulse("import", file);
    serve = await startAnalystServe(data, { users: { analyst: PASSWORD } });
    await packaging;

    // The driver's default asks for ClickHouse's compressed framing (compress=1), whose checksums it
    // verifies; compress=false turns it off. Both, on the same JVM start-up cost twice.
    for (const options of ["", "?compress=false"]) {
      const jdbcUrl = `jdbc:clickhouse:${serve.url}/default${options}`;
      const { stdout } = await run("java", ["-cp", `${path.join(build, "analysts-jdbc-check-1.jar")}${path.delimiter}${path.join(build, "lib", "*")}`, "flowpulse.JdbcCheck", jdbcUrl, "analyst"], {
        env: { ...process.env, FLOWPULSE_ANALYST_PASSWORD: PASSWORD },
      });
      await check(stdout.trim().split("\n"), options || "compress=1");
    }
  }, 240_000);
});

/** The Java program's lines against the CLI's figures for the same store. */
async function check(lines: string[], how: string): Promise<void> {
  const velocity = Object.fromEntries(lines.filter((line) => line.startsWith("velocity ")).map((line) => line.split(" ").slice(1)).map(([type, n]) => [type, Number(n)]));

  // The same figures as the CLI's velocity over all time, summed per type.
  const cli = JSON.parse((await flowpulse("metrics", "velocity", "--since", "2000-01-01", "--until", "2100-01-01", "--period", "month", "--format", "json")).stdout) as { flow_type: string; items: number }[];
  const expected: Record<string, number> = {};
  for (const row of cli) expected[row.flow_type] = (expected[row.flow_type] ?? 0) + row.items;
  expect(Object.keys(expected).length).toBeGreaterThan(2);
  expect(velocity, how).toEqual(expected);

  expect(lines, how).toContain(`defects ${expected.defect}`);
  expect(lines.find((line) => line.startsWith("version ")), how).toMatch(/^version \d+\.\d+/);
  expect(lines, how).toContain("items 300");
  expect(lines, how).toContain("chars 3000000");
  expect(lines.find((line) => line.startsWith("drop ")), how).toMatch(/^drop refused 164 .*READONLY/);
  expect(lines, how).toContain("work_items 300");
  expect(lines.find((line) => line.startsWith("bad password ")), how).toMatch(/^bad password refused .*AUTHENTICATION_FAILED/);
}
