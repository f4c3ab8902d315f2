// The ClickHouse server adapter. Two real servers, each where it can be had:
// - a current ClickHouse in a container (testcontainers) runs the whole schema and a metric view;
// - Debian's clickhouse-server package (18.16) checks the HTTP transport: too old for our views
//   (no query parameters, no window functions), so only plain statements run there.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { afterAll, describe, expect, it } from "vitest";
import { TransitionSchema, WorkItemSchema } from "../core/model.ts";
import { FlowSink } from "../pipeline/sink.ts";
import { migrate } from "../store/migrate.ts";
import { ClickHouseServerStore } from "../store/server.ts";

const debianServer = spawnSync("sh", ["-c", "command -v clickhouse-server"]).status === 0;
const dockerEngine = !!process.env.DOCKER_HOST || existsSync("/var/run/docker.sock");

describe.skipIf(!debianServer)(
  debianServer ? "server adapter on Debian's clickhouse-server (transport)" : "SKIPPED: server adapter transport — clickhouse-server not installed (apt-get install clickhouse-server)",
  () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "flowpulse-ch-"));
    let store: ClickHouseServerStore | undefined;
    afterAll(async () => {
      await store?.close();
      const pid = path.join(dir, "pid");
      if (existsSync(pid)) spawnSync("kill", [readFileSync(pid, "utf8").trim()]);
      rmSync(dir, { recursive: true, force: true });
    });

    it("creates, inserts JSONEachRow rows and reads them back over HTTP", async () => {
      const started = execFileSync("bash", ["scripts/clickhouse/start.sh", "--dir", dir], { encoding: "utf8" });
      const url = /CLICKHOUSE_URL=(\S+)/.exec(started)?.[1];
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      store = new ClickHouseServerStore({ url: url!, username: "default", password: "", database: "default" });
      await store.command("CREATE TABLE transport_check (id UInt32, name String, at DateTime) ENGINE = MergeTree ORDER BY id");
      await store.insertRows("transport_check", [
        { id: 2, name: "two, with a comma", at: "2026-01-02 03:04:05" },
        { id: 1, name: "one \"quoted\"\nline", at: "2026-01-01 00:00:00" },
      ]);
      const rows = await store.query("SELECT id, name, toString(at) AS at FROM transport_check ORDER BY id");
      expect(rows).toEqual([
        { id: 1, name: "one \"quoted\"\nline", at: "2026-01-01 00:00:00" },
        { id: 2, name: "two, with a comma", at: "2026-01-02 03:04:05" },
      ]);
      await expect(store.query("SELECT no_such_column FROM transport_check")).rejects.toThrow(/no_such_column/);
    });

    it("sends rows encoded elsewhere to the server byte for byte, and reports a bad row", async () => {
      expect(store, "the server did not start in the test before").toBeDefined();
      // The bulk writers' raw path, in a format 18.16 reads (JSONCompactEachRow arrived later).
      const body = '{"id":5,"name":"five \\"q\\", \\u00e9 \u00e9\\nx","at":"2026-01-05 00:00:00"}\n{"id":6,"name":"six","at":"2026-01-06 00:00:00"}\n';
      await store!.insertRaw("transport_check", ["id", "name", "at"], "JSONEachRow", Readable.from([Buffer.from(body)], { objectMode: false }));
      const rows = await store!.query("SELECT id, name FROM transport_check WHERE id IN (5, 6) ORDER BY id");
      expect(rows).toEqual([{ id: 5, name: "five \"q\", \u00e9 \u00e9\nx" }, { id: 6, name: "six" }]);
      const bad = Readable.from([Buffer.from('{"id":"seven","name":"x","at":"2026-01-07 00:00:00"}\n')], { objectMode: false });
      await expect(store!.insertRaw("transport_check", ["id", "name", "at"], "JSONEachRow", bad)).rejects.toThrow(/seven|Cannot parse/i);
    });

    it("inserts rows encoded elsewhere as JSON lines (the bulk writers' path)", async (context) => {
      expect(store, "the server did not start in the test before").toBeDefined();
      const [{ version, supported }] = (await store!.query<{ version: string; supported: number }>(
        "SELECT version() AS version, (SELECT count() FROM system.formats WHERE name = 'JSONCompactEachRow' AND is_input) AS supported",
      )) as [{ version: string; supported: number }];
      // JSONCompactEachRow input arrived after Debian's 18.16; the docker-compose server has it.
      if (Number(supported) === 0) context.skip(`SKIPPED: ClickHouse ${version} has no JSONCompactEachRow input format`);
      const lines = new TextEncoder().encode('[3,"three \\"q\\"","2026-01-03 00:00:00"]\n[4,"four","2026-01-04 00:00:00"]\n');
      await store!.insertLines("transport_check", ["id", "name", "at"], lines);
      const file = path.join(dir, "rows.json");
      writeFileSync(file, '[8,"eight","2026-01-08 00:00:00"],[9,"nine","2026-01-09 00:00:00"]\n');
      await store!.insertFile("transport_check", ["id", "name", "at"], file);
      const rows = await store!.query("SELECT id, name FROM transport_check WHERE id IN (3, 4, 8, 9) ORDER BY id");
      expect(rows).toEqual([{ id: 3, name: 'three "q"' }, { id: 4, name: "four" }, { id: 8, name: "eight" }, { id: 9, name: "nine" }]);
    });
  },
);

describe.skipIf(!dockerEngine)(
  dockerEngine ? "server adapter on a current ClickHouse (testcontainers)" : "SKIPPED: full schema on a ClickHouse server — no Docker engine on this machine (testcontainers needs one)",
  () => {
    it("runs every migration, view and derivation the embedded store runs", async () => {
      const { GenericContainer, Wait } = await import("testcontainers");
      const container = await new GenericContainer("clickhouse/clickhouse-server:25.8")
        .withExposedPorts(8123)
        .withEnvironment({ CLICKHOUSE_SKIP_USER_SETUP: "1" })
        .withWaitStrategy(Wait.forHttp("/ping", 8123))
        .start();
      const store = new ClickHouseServerStore({ url: `http://${container.getHost()}:${container.getMappedPort(8123)}`, username: "default", password: "", database: "default" });
      try {
        await migrate(store);
        const sink = new FlowSink(store);
        await sink.write({
          items: [WorkItemSchema.parse({ item_id: "s:1", source: "s", stream: "software", key: "S-1", flow_type: "defect", created_at: "2026-01-01T00:00:00Z" })],
          transitions: [
            TransitionSchema.parse({ event_id: "c", item_id: "s:1", to_state: "To Do", to_flow_state: "new", at: "2026-01-01T00:00:00Z" }),
            TransitionSchema.parse({ event_id: "1", item_id: "s:1", from_state: "To Do", to_state: "Doing", to_flow_state: "active", at: "2026-01-02T00:00:00Z" }),
            TransitionSchema.parse({ event_id: "2", item_id: "s:1", from_state: "Doing", to_state: "Done", to_flow_state: "done", at: "2026-01-04T00:00:00Z" }),
          ],
        });
        await sink.commit();
        expect(await store.query("SELECT flow_seconds, outcome FROM flow_items")).toEqual([{ flow_seconds: 172800, outcome: "done" }]);
      } finally {
        await store.close();
        await container.stop();
      }
    }, 300_000);
  },
);
