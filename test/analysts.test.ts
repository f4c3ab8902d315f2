// Analysts' SQL: a real `flowpulse serve` with the ClickHouse HTTP endpoint on, read by
// @clickhouse/client (a client no one here wrote) with a password. The answers equal the CLI's
// metrics; the engine refuses writes, table functions that reach the machine, SET, and queries
// over their time limit, each with an error the client shows; the store is unchanged after.
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { gunzipSync } from "node:zlib";
import { createClient, type ClickHouseClient } from "@clickhouse/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeSampleJsonl } from "../connectors/file/sample.ts";
import { sqlFile } from "../store/sql.ts";
import { startAnalystServe, type AnalystServe } from "./helpers/analysts.ts";
import { CLI, ROOT } from "./helpers/serve-process.ts";

const run = promisify(execFile);
const root = mkdtempSync(path.join(os.tmpdir(), "flowpulse-analysts-"));
const data = path.join(root, "store");
const env = { ...process.env, FLOWPULSE_CONFIG: "" };
const flowpulse = (...args: string[]) => run(process.execPath, [CLI, "--data", data, ...args], { cwd: ROOT, env, maxBuffer: 64 << 20 });

const PASSWORD = "s3cret-analyst";
// History ends at a fixed minute so the figures do not move between runs.
const END_MS = Date.UTC(2026, 10, 30, 12, 0);
let serve: AnalystServe;
let client: ClickHouseClient;

beforeAll(async () => {
  const file = path.join(root, "sample.jsonl");
  await writeSampleJsonl(file, { seed: 17, items: 400, endMs: END_MS });
  await flowpulse("import", file);
  serve = await startAnalystServe(data, { users: { alice: PASSWORD }, limits: { max_execution_time: 1 } });
  client = createClient({ url: serve.url, username: "alice", password: PASSWORD, compression: { response: true } });
}, 120_000);

afterAll(async () => {
  await client?.close();
  await serve?.stop();
  rmSync(root, { recursive: true, force: true });
}, 60_000);

const rows = async <T>(query: string, query_params?: Record<string, unknown>) =>
  (await (await client.query({ query, format: "JSONEachRow", query_params })).json()) as T[];

/** The error a query ends with, as the client reports it. */
const failure = (query: string, c: ClickHouseClient = client) =>
  c.query({ query, format: "JSONEachRow" }).then(
    () => {
      throw new Error(`expected ${query} to fail`);
    },
    (error: unknown) => error as { code?: string; type?: string; message: string },
  );

describe("analysts' SQL endpoint with @clickhouse/client", () => {
  it("answers /ping and a query with a password", async () => {
    expect(await (await fetch(`${serve.url}/ping`)).text()).toBe("Ok.\n");
    expect((await client.ping()).success).toBe(true);
    const [count] = await rows<{ items: string }>("SELECT count() AS items FROM work_items FINAL");
    expect(Number(count!.items)).toBe(400);
  });

  it("flow_velocity by month equals `flowpulse metrics velocity --format json`", async () => {
    const since = "2026-06-01";
    const until = "2026-12-01";
    const cli = JSON.parse((await flowpulse("metrics", "velocity", "--period", "month", "--since", since, "--until", until, "--format", "json")).stdout) as unknown[];
    // The view buckets by UTC day; the CLI by the configured zone, UTC by default.
    const sql = await rows(
      `SELECT toString(month_start) AS period_start, flow_type, toUInt32(sum(items)) AS items
       FROM flow_velocity WHERE day >= {since:Date32} AND day < {until:Date32}
       GROUP BY period_start, flow_type ORDER BY period_start, flow_type`,
      { since, until },
    );
    expect(cli.length).toBeGreaterThan(4);
    expect(sql).toEqual(cli);
  }, 60_000);

  it("binds parameters: the same view filtered by a bound type and team", async () => {
    const [team] = await rows<{ team: string }>("SELECT team FROM flow_velocity GROUP BY team ORDER BY team LIMIT 1");
    const filtered = await rows<{ items: string }>(
      "SELECT toUInt32(sum(items)) AS items FROM flow_velocity WHERE flow_type = {type:String} AND team = {team:String}",
      { type: "defect", team: team!.team },
    );
    const all = await rows<{ flow_type: string; team: string; items: number }>("SELECT flow_type, team, items FROM flow_velocity");
    const expected = all.filter((row) => row.flow_type === "defect" && row.team === team!.team).reduce((sum, row) => sum + Number(row.items), 0);
    expect(expected).toBeGreaterThan(0);
    expect(Number(filtered[0]!.items)).toBe(expected);
    // A parameter a request does not send is not carried over from the one before: it is blank.
    expect(await rows("SELECT {team:String} AS team")).toEqual([{ team: "" }]);
  });

  it("reads every analyst view documented in docs/metrics.md", async () => {
    for (const view of ["flow_items", "flow_velocity", "flow_time", "flow_efficiency", "flow_load_daily", "flow_distribution", "bottleneck_time_in_state", "bottleneck_aging_wip", "bottleneck_queue_growth", "state_intervals"]) {
      const [first] = await rows<Record<string, unknown>>(`SELECT * FROM ${view} LIMIT 1`);
      expect(first, view).toBeDefined();
    }
  });

  it("the worked questions of docs/analysts.md agree with flow_items and state_intervals read row by row", async () => {
    const items = await rows<{ team: string; finished_at: string; status: string; flow_seconds: number | null }>("SELECT team, toString(finished_at) AS finished_at, status, flow_seconds FROM flow_items");
    const done = items.filter((item) => item.status === "done" && item.flow_seconds !== null);
    const perTeamMonth = new Map<string, number>();
    for (const item of done) {
      const key = `${item.team} ${item.finished_at.slice(0, 7)}-01`;
      perTeamMonth.set(key, (perTeamMonth.get(key) ?? 0) + 1);
    }
    const byTeam = await rows<{ team: string; month: string; items: number }>(sqlFile("examples/flow_time_by_team_month.sql"));
    expect(done.length).toBeGreaterThan(50);
    expect(new Map(byTeam.map((row) => [`${row.team} ${row.month}`, Number(row.items)]))).toEqual(perTeamMonth);

    const stays = await rows<{ state: string; seconds: number }>(
      "SELECT state, dateDiff('second', entered_at, assumeNotNull(left_at)) AS seconds FROM state_intervals FINAL WHERE flow_type = 'defect' AND flow_state = 'waiting' AND after_start = 1 AND left_at IS NOT NULL AND deleted = 0",
    );
    const waits = await rows<{ state: string; stays: number; total_days: number }>(sqlFile("examples/defect_waits_by_state.sql"));
    expect(waits.length).toBeGreaterThan(0);
    for (const wait of waits) {
      const mine = stays.filter((stay) => stay.state === wait.state);
      expect(Number(wait.stays), wait.state).toBe(mine.length);
      expect(wait.total_days, wait.state).toBeCloseTo(mine.reduce((sum, stay) => sum + Number(stay.seconds), 0) / 86400, 2);
    }
    // Longest first.
    expect(waits.map((wait) => wait.total_days)).toEqual([...waits.map((wait) => wait.total_days)].sort((a, b) => b - a));

    // The sample ends on 2026-11-30, so the last quarter (Q3 2026 until 2027) holds WIP of every type.
    const wip = await rows<{ flow_type: string; peak_wip: number; wip_days: number }>(sqlFile("examples/wip_by_type_last_quarter.sql"));
    for (const row of wip) expect(Number(row.wip_days)).toBeGreaterThanOrEqual(Number(row.peak_wip));
  });

  it("DROP TABLE fails cleanly and the table is still there", async () => {
    const before = await rows<{ n: string }>("SELECT count() AS n FROM work_items");
    const error = await failure("DROP TABLE work_items");
    expect(error).toMatchObject({ code: "164", type: "READONLY" });
    const command = await client.command({ query: "DROP TABLE work_items" }).catch((e: unknown) => e as { code: string });
    expect(command).toMatchObject({ code: "164" });
    // The engine's own readonly refuses writes that arrive as reads, too.
    expect(await failure("INSERT INTO work_items SELECT * FROM work_items")).toMatchObject({ code: "164" });
    expect(await rows("SELECT count() AS n FROM work_items")).toEqual(before);
  });

  it("refuses table functions and functions that touch the machine, and SET", async () => {
    // url, s3, remote, executable, mysql: the engine's readonly=1 (code 164) refuses them.
    for (const query of [
      "SELECT * FROM url('http://127.0.0.1:9/x', LineAsString)",
      "SELECT * FROM s3('http://127.0.0.1:9/bucket-name/key.csv', 'CSV', 'x String')",
      "SELECT * FROM remote('127.0.0.1:9', system.one)",
      "SELECT * FROM executable('id', TSV, 'x String')",
      "SELECT * FROM file('/etc/hostname', LineAsString)",
      "SELECT * FROM mysql('127.0.0.1:9', 'db', 't', 'u', 'p')",
      // A local engine lets these through; the endpoint refuses them from the engine's parse.
      "SELECT file('/etc/hostname')",
      `SELECT 1 INTO OUTFILE '${path.join(root, "written.txt")}'`,
      "KILL QUERY WHERE 1",
      "SELECT 1 SETTINGS max_execution_time = 1000",
    ]) {
      expect(await failure(query), query).toMatchObject({ code: "164", type: "READONLY" });
    }
    // clickhouse-js adds FORMAT to query(); a statement without output goes as a command.
    expect(await client.command({ query: "SYSTEM DROP DNS CACHE" }).catch((e: unknown) => e)).toMatchObject({ code: "164", type: "READONLY" });
    // Limits sent as URL settings are refused by the engine, too.
    const raise = await client.query({ query: "SELECT 1", format: "JSONEachRow", clickhouse_settings: { max_result_rows: "100000000" } }).catch((e: unknown) => e as { code: string });
    expect(raise).toMatchObject({ code: "164" });
  });

  it("`flowpulse sql` runs through serve, on its engine, read-only", async () => {
    const [count] = await rows<{ n: string }>("SELECT count() AS n FROM work_items FINAL");
    const viaServe = JSON.parse((await flowpulse("sql", "SELECT count() AS n FROM work_items FINAL", "--format", "JSONEachRow")).stdout) as { n: number };
    expect(Number(viaServe.n)).toBe(Number(count!.n));
    await expect(flowpulse("sql", "DROP TABLE work_items")).rejects.toMatchObject({ code: 2, stderr: expect.stringContaining("READONLY") });
  });

  it("refuses a bad password and an unknown user with 401", async () => {
    for (const [username, password] of [["alice", "wrong"], ["mallory", PASSWORD]] as const) {
      const other = createClient({ url: serve.url, username, password });
      expect(await failure("SELECT 1", other)).toMatchObject({ code: "516", type: "AUTHENTICATION_FAILED" });
      await other.close();
    }
    const response = await fetch(`${serve.url}/?query=SELECT+1`, { headers: { authorization: `Basic ${Buffer.from("alice:nope").toString("base64")}` } });
    expect(response.status).toBe(401);
    expect(response.headers.get("x-clickhouse-exception-code")).toBe("516");
  });

  it("stops a query over its time limit (1 s here) with TIMEOUT_EXCEEDED", async () => {
    const started = performance.now();
    const error = await failure("SELECT sum(cityHash64(number)) FROM numbers(100000000000)");
    expect(error).toMatchObject({ code: "159", type: "TIMEOUT_EXCEEDED" });
    expect(performance.now() - started).toBeLessThan(10_000);
  }, 30_000);

  it("speaks the HTTP interface: formats, headers, basic auth, gzip", async () => {
    const auth = { authorization: `Basic ${Buffer.from(`alice:${PASSWORD}`).toString("base64")}` };
    const get = await fetch(`${serve.url}/?query=${encodeURIComponent("SELECT 1 AS one, 'a' AS s")}&default_format=JSONCompactEachRow`, { headers: auth });
    expect(get.status).toBe(200);
    expect(JSON.parse(await get.text())).toEqual([1, "a"]);
    expect(get.headers.get("x-clickhouse-format")).toBe("JSONCompactEachRow");
    expect(get.headers.get("content-type")).toContain("application/x-ndjson");
    expect(JSON.parse(get.headers.get("x-clickhouse-summary")!)).toMatchObject({ read_rows: "1" });
    expect(get.headers.get("x-clickhouse-query-id")).toMatch(/./);
    expect(get.headers.get("x-clickhouse-timezone")).toMatch(/UTC/);

    // The FORMAT clause wins over default_format, and the header says so.
    const post = await fetch(`${serve.url}/?default_format=JSON&query_id=q-1`, { method: "POST", headers: auth, body: "SELECT 2 AS two FORMAT CSVWithNames" });
    expect(await post.text()).toBe('"two"\n2\n');
    expect(post.headers.get("x-clickhouse-format")).toBe("CSVWithNames");
    expect(post.headers.get("content-type")).toBe("text/csv; charset=UTF-8; header=present");
    expect(post.headers.get("x-clickhouse-query-id")).toBe("q-1");

    // database= and X-ClickHouse-User/Key; gzip when asked for (undici would decode it: read raw bytes via node:http).
    const raw = await new Promise<{ encoding?: string; body: Buffer }>((resolve, reject) => {
      const url = new URL(`${serve.url}/?database=system&query=${encodeURIComponent("SELECT name FROM one, tables WHERE name = 'one' LIMIT 1")}`);
      import("node:http").then(({ get: httpGet }) =>
        httpGet(url, { headers: { "x-clickhouse-user": "alice", "x-clickhouse-key": PASSWORD, "accept-encoding": "gzip" } }, (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (chunk: Buffer) => chunks.push(chunk)).on("end", () => resolve({ encoding: res.headers["content-encoding"], body: Buffer.concat(chunks) }));
        }).on("error", reject),
      );
    });
    expect(raw.encoding).toBe("gzip");
    expect(gunzipSync(raw.body).toString()).toBe("one\n");
  });

  // Last: it adds rows to the store.
  it("serve's own writes and metrics keep going while analysts' queries run at their limit", async () => {
    const heavy = Array.from({ length: 5 }, () => failure("SELECT sum(cityHash64(number)) FROM numbers(100000000000)"));
    const extra = path.join(root, "extra.jsonl");
    // Ids of their own: the sample's ids would replace rows, not add them.
    const lines = Array.from({ length: 50 }, (_, i) => [
      JSON.stringify({ kind: "item", item_id: `extra:${i}`, source: "extra", stream: "software", key: `X-${i}`, title: `extra ${i}`, url: `https://x.example/${i}`, flow_type: "debt", team: "core", created_at: "2026-11-01T09:00:00Z" }),
      JSON.stringify({ kind: "transition", event_id: `X-${i}#0`, item_id: `extra:${i}`, from_state: "", to_state: "In Progress", to_flow_state: "active", at: "2026-11-02T09:00:00Z" }),
    ]).flat();
    writeFileSync(extra, lines.join("\n") + "\n");
    const before = Number((await rows<{ n: string }>("SELECT count() AS n FROM work_items FINAL"))[0]!.n);
    const started = performance.now();
    // Through serve's share, beside the analysts' queries: the import and a metric both answer.
    const imported = await flowpulse("import", extra);
    const velocity = await flowpulse("metrics", "velocity", "--format", "json");
    const took = performance.now() - started;
    expect(imported.stdout).toMatch(/stored 50 items/);
    expect(JSON.parse(velocity.stdout)).toBeInstanceOf(Array);
    for (const error of await Promise.all(heavy)) expect(error).toMatchObject({ code: "159" });
    const after = Number((await rows<{ n: string }>("SELECT count() AS n FROM work_items FINAL"))[0]!.n);
    expect(after).toBe(before + 50);
    expect(took).toBeLessThan(60_000);
  }, 120_000);
});
