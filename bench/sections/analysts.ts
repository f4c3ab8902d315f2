// Analysts' SQL section. On the seeded store (1M items / 10M transitions by default), in one
// process that owns the store as serve does: the analysts' endpoint (analysts/server.ts) on it,
// and the metric functions the bot's /flow answers run.
//  1. One analyst query, timed through the endpoint (HTTP, auth, the engine's parse checks, the
//     read-only session) against the same statement on an engine session alone with the same
//     settings, interleaved so both see the same machine: our path as a fraction of the ceiling.
//  2. 20 analysts sending that query at once (and again as each answers) while /flow's metric
//     answers are timed: their p95 against the bot's 1 s budget, and against the same answers alone.
import { readFileSync } from "node:fs";
import { Session } from "chdb";
import { AnalystsConfigSchema } from "../../analysts/config.ts";
import { startAnalysts, type AnalystsServer } from "../../analysts/server.ts";
import * as metrics from "../../metrics/query.ts";
import { openStore } from "../../store/open.ts";
import { sqlFile } from "../../store/sql.ts";
import type { Store } from "../../store/store.ts";
import { seededStore } from "../seeded-store.ts";
import type { BenchOptions, BenchResult } from "../types.ts";
import { percentile } from "../stats.ts";

export const name = "analysts";
export const description = "analysts' SQL endpoint: a query's cost over the engine alone (<= +10%), and /flow answers under 20 concurrent analyst queries (p95 < 1 s)";

const DAY = 86_400_000;
const USER = "bench";
const PASSWORD = "bench-analyst-password";
/** The heaviest documented example: every finished item's flow time, by team and month. */
const QUERY = sqlFile("examples/flow_time_by_team_month.sql");
const CONCURRENT = 20;

const sortedOf = (values: number[]) => [...values].sort((a, b) => a - b);
const ms = (value: number) => Math.round(value * 10) / 10;

export async function run(options: BenchOptions): Promise<BenchResult> {
  const log = options.log ?? (() => undefined);
  const items = options.items ?? 1_000_000;
  const repeats = options.repeats ?? 30;
  const seeded = await seededStore({ items, workDir: options.workDir, log });
  const config = AnalystsConfigSchema.parse({ enabled: true, port: 0, users: [{ name: USER, password_env: "FP_BENCH_ANALYST_PASSWORD" }] });
  let store: Store | undefined;
  let server: AnalystsServer | undefined;
  let engine: Session | undefined;
  try {
    store = await openStore({ kind: "embedded", path: seeded.path });
    server = await startAnalysts({ config, dataPath: seeded.path, env: { FP_BENCH_ANALYST_PASSWORD: PASSWORD }, log });
    // The ceiling: the same settings as an analyst's session, without the endpoint around it.
    const limits = Object.entries(config.limits).map(([key, value]) => `--${key}=${value}`);
    engine = new Session(seeded.path, { connectionArgs: [...limits, "--readonly=1"] });
    const auth = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString("base64")}`;
    let unique = 0;
    // Uncompressed, as the engine's own answer is (fetch would ask for gzip by default).
    /** `fresh`: a text the endpoint has not seen, so its parse checks run again (an ad-hoc query). */
    const endpoint = async (fresh = false): Promise<number> => {
      const started = performance.now();
      const statement = fresh ? `${QUERY}\n-- ${++unique}` : QUERY;
      const response = await fetch(`${server!.url}/?default_format=JSONEachRow`, { method: "POST", headers: { authorization: auth, "accept-encoding": "identity" }, body: statement });
      const body = await response.arrayBuffer();
      if (!response.ok) throw new Error(`endpoint answered ${response.status}: ${Buffer.from(body).toString()}`);
      return performance.now() - started;
    };
    const alone = async (): Promise<number> => {
      const started = performance.now();
      (await engine!.queryAsync(QUERY, { format: "JSONEachRow" })).bytes();
      return performance.now() - started;
    };

    // 1. Interleaved, after one warm-up of each.
    await endpoint();
    await alone();
    const viaEndpoint: number[] = [];
    const viaEndpointFresh: number[] = [];
    const viaEngine: number[] = [];
    // Each round runs the three in a shuffled order: on a shared machine, a fixed order lets
    // whatever else runs favour one of them.
    for (let i = 0; i < repeats; i++) {
      const round: [number[], () => Promise<number>][] = [
        [viaEndpoint, () => endpoint()],
        [viaEngine, alone],
        [viaEndpointFresh, () => endpoint(true)],
      ];
      for (let j = round.length - 1; j > 0; j--) {
        const k = Math.floor(Math.random() * (j + 1));
        [round[j], round[k]] = [round[k]!, round[j]!];
      }
      for (const [times, measure] of round) times.push(await measure());
    }
    const endpointP50 = percentile(sortedOf(viaEndpoint), 0.5);
    const freshP50 = percentile(sortedOf(viaEndpointFresh), 0.5);
    const engineP50 = percentile(sortedOf(viaEngine), 0.5);
    const overhead = endpointP50 / engineP50 - 1;
    const freshOverhead = freshP50 / engineP50 - 1;
    log(`query p50: endpoint ${ms(endpointP50)} ms (a text not seen before: ${ms(freshP50)} ms), engine alone ${ms(engineP50)} ms (+${(overhead * 100).toFixed(1)}%, +${(freshOverhead * 100).toFixed(1)}%)`);

    // 2. /flow answers alone, then under 20 analysts.
    const filters = { sinceMs: seeded.endMs - 90 * DAY, untilMs: seeded.endMs };
    const answers: [string, () => Promise<unknown>][] = [
      ["velocity", () => metrics.velocity(store!, filters)],
      ["time", () => metrics.flowTimeSummary(store!, filters)],
      ["bottlenecks", () => metrics.bottlenecks(store!, filters)],
    ];
    const timeAnswers = async (rounds: number): Promise<number[]> => {
      const times: number[] = [];
      for (let round = 0; round < rounds; round++) {
        for (const [, answer] of answers) {
          const started = performance.now();
          await answer();
          times.push(performance.now() - started);
        }
      }
      return times;
    };
    const quiet = sortedOf(await timeAnswers(Math.max(3, Math.ceil(repeats / 3))));
    let stop = false;
    let analystQueries = 0;
    let analystErrors = 0;
    const analystWaits: number[] = [];
    const load = readFileSync("/proc/loadavg", "utf8").split(" ")[0];
    const analysts = Array.from({ length: CONCURRENT }, async () => {
      while (!stop) {
        try {
          analystWaits.push(await endpoint());
          analystQueries += 1;
        } catch {
          analystErrors += 1;
        }
      }
    });
    // Let the queue fill before timing.
    await new Promise((resolve) => setTimeout(resolve, 500));
    const busy = sortedOf(await timeAnswers(Math.max(5, Math.ceil(repeats / 2))));
    stop = true;
    await Promise.all(analysts);
    const quietP95 = percentile(quiet, 0.95);
    const busyP95 = percentile(busy, 0.95);
    log(`/flow answers p95: alone ${ms(quietP95)} ms, under ${CONCURRENT} analysts ${ms(busyP95)} ms (${analystQueries} analyst queries answered, ${analystErrors} failed)`);

    return {
      section: name,
      params: { items, transitions: seeded.transitions, repeats, concurrent_analysts: CONCURRENT, max_concurrent_queries: config.max_concurrent_queries, max_threads: config.limits.max_threads },
      figures: {
        query_endpoint_p50_ms: ms(endpointP50),
        query_engine_alone_p50_ms: ms(engineP50),
        query_overhead_pct: Math.round(overhead * 1000) / 10,
        query_endpoint_unseen_text_p50_ms: ms(freshP50),
        query_overhead_unseen_text_pct: Math.round(freshOverhead * 1000) / 10,
        flow_answer_alone_p95_ms: ms(quietP95),
        flow_answer_under_analysts_p95_ms: ms(busyP95),
        flow_answer_under_analysts_max_ms: ms(busy.at(-1) ?? NaN),
        analyst_queries_answered: analystQueries,
        analyst_queries_failed: analystErrors,
        analyst_query_under_load_p50_ms: ms(percentile(sortedOf(analystWaits), 0.5)),
        // The machine is shared: the 1-minute load average when the busy phase began.
        load_average_1m: Number(load),
      },
      targets: [
        { name: "endpoint query cost over the engine alone (%)", value: Math.round(overhead * 1000) / 10, target: "<= 10", pass: overhead <= 0.1 },
        { name: `/flow answer p95 under ${CONCURRENT} analyst queries (ms)`, value: ms(busyP95), target: "< 1000", pass: busyP95 < 1000 },
        { name: "analyst queries failed under load", value: analystErrors, target: "0", pass: analystErrors === 0 },
      ],
    };
  } finally {
    engine?.close();
    await server?.close();
    await store?.close();
  }
}
