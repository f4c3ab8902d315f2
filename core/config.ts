// The config pieces core-level code and the layers just above it need: the store and metrics
// sections, the error every invalid config raises, and the one way a zod failure becomes lines a
// person can act on. The whole-product schema (sources, slack, serve) is assembled in cli/config.ts,
// the top layer, so core imports nothing above it.
import { z } from "zod";
import { isTimeZone } from "./time.ts";

// `kind` may be left out for the embedded store (`store: { path: ... }`), so a section naming only
// a path is read as what it means and its other keys are checked against the embedded store's.
const embeddedByDefault = (value: unknown) =>
  value && typeof value === "object" && !Array.isArray(value) && !("kind" in value) ? { kind: "embedded", ...value } : value;

export const StoreConfigSchema = z.preprocess(embeddedByDefault, z.discriminatedUnion("kind", [
  z.strictObject({
    kind: z.literal("embedded").describe("chDB in this process (default)"),
    path: z.string().min(1).default("./data/flowpulse").describe("data directory of the embedded store"),
  }),
  z.strictObject({
    kind: z.literal("server").describe("a ClickHouse server over HTTP"),
    url: z.url().describe("e.g. http://localhost:8123"),
    username: z.string().default("default"),
    database: z.string().default("default"),
    password_env: z.string().default("CLICKHOUSE_PASSWORD").describe("environment variable holding the password"),
  }),
]));
export type StoreConfig = z.infer<typeof StoreConfigSchema>;

export const ForecastConfigSchema = z.strictObject({
  trials: z.number().int().min(100).max(1_000_000).default(10_000).describe("Monte Carlo trials per forecast"),
  history_days: z.number().int().min(7).max(3650).default(90).describe("calendar days of throughput before today that a forecast resamples"),
  working_days: z.boolean().default(false).describe("sample and forecast Monday to Friday only (weekend finishes count on the Friday before)"),
  seed: z.number().int().default(1).describe("seed of the random draws: the same question on the same data gives the same answer"),
});
export type ForecastConfig = z.infer<typeof ForecastConfigSchema>;

export const MetricsConfigSchema = z.strictObject({
  timezone: z
    .string()
    .default("UTC")
    .refine(isTimeZone, { message: "unknown time zone (use an IANA name such as UTC or America/New_York)" })
    .describe("zone whose calendar days, weeks and months bucket the metrics"),
  flow_time_start: z
    .enum(["first_active", "created"])
    .default("first_active")
    .describe("first_active: flow time starts at the first move into active or waiting; created: at creation"),
  aging_percentile: z.number().gt(0).lt(1).default(0.85).describe("WIP older than this percentile of its type's flow time is aging"),
  aging_baseline_days: z.number().int().positive().default(90).describe("completed items of this many days set the aging threshold"),
  forecast: ForecastConfigSchema.default(ForecastConfigSchema.parse({})).describe("flowpulse forecast and /flow forecast (docs/forecasting.md)"),
});
export type MetricsConfig = z.infer<typeof MetricsConfigSchema>;

export class ConfigError extends Error {
  override name = "ConfigError";
}

const ALLOWED_PREFIX = "allowed here: ";

/**
 * The error map every config parse passes to zod: an unknown key's issue carries the keys its
 * object allows (zod only says which keys it did not recognise), so configIssueLines can name
 * them and suggest the closest.
 */
export const configErrorMap: z.core.$ZodErrorMap = (issue) => {
  if (issue.code !== "unrecognized_keys") return undefined;
  const shape = (issue.inst as { _zod?: { def?: { shape?: Record<string, unknown> } } } | undefined)?._zod?.def?.shape;
  return shape ? `${ALLOWED_PREFIX}${Object.keys(shape).join(", ")}` : undefined;
};

/** Edit distance, for "did you mean": config keys are short, so the quadratic table is nothing. */
function distance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}

/** The allowed key a mistyped one most likely meant, if any is close enough to be worth saying. */
export function closestKey(key: string, allowed: readonly string[]): string | undefined {
  const lower = key.toLowerCase();
  let best: { key: string; score: number } | undefined;
  for (const candidate of allowed) {
    const score = distance(lower, candidate.toLowerCase());
    if (score <= Math.max(1, Math.floor(candidate.length / 3)) && (!best || score < best.score)) best = { key: candidate, score };
  }
  return best?.key;
}

const where = (path: readonly PropertyKey[]) => path.map(String).join(".");

/**
 * One line per problem: `path: what is wrong`. An unknown key gets its own line naming where it
 * is, the keys allowed there and the closest of them. `skipKey` leaves out unknown keys another
 * check already reported (secret-named keys, which get their own message).
 */
export function configIssueLines(issues: readonly z.core.$ZodIssue[], skipKey: (key: string) => boolean = () => false): string[] {
  const lines: string[] = [];
  for (const issue of issues) {
    if (issue.code === "unrecognized_keys") {
      const allowed = issue.message.startsWith(ALLOWED_PREFIX) ? issue.message.slice(ALLOWED_PREFIX.length).split(", ") : [];
      for (const key of issue.keys) {
        if (skipKey(key)) continue;
        const guess = closestKey(key, allowed);
        const place = issue.path.length ? `in ${where(issue.path)}` : "at the top level";
        lines.push(
          `${where([...issue.path, key])}: unknown key ${place}` +
            (allowed.length ? `; allowed here: ${allowed.join(", ")}` : "") +
            (guess ? `; did you mean "${guess}"?` : ""),
        );
      }
      continue;
    }
    lines.push(`${where(issue.path) || "(top level)"}: ${issue.message}`);
  }
  return lines;
}
