// A real Apache Kafka broker for tests: reuses $KAFKA_BROKERS if set, otherwise starts a
// single-node KRaft broker with scripts/kafka/start.sh (jars from Maven Central, run with java).
import { execFile } from "node:child_process";
import { accessSync, constants, existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

export interface KafkaBroker {
  /** host:port bootstrap addresses, e.g. ["127.0.0.1:40123"] */
  brokers: string[];
  /** Stops the broker this helper started (no-op for an external $KAFKA_BROKERS). Idempotent. */
  stop(): Promise<void>;
}

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const SCRIPTS = path.join(REPO_ROOT, "scripts", "kafka");
/** First start on a cold machine downloads ~70 MB from Maven Central, so allow for it. */
const START_TIMEOUT_MS = 300_000;

function onPath(cmd: string): boolean {
  for (const dir of (process.env.PATH ?? "").split(path.delimiter)) {
    if (!dir) continue;
    try {
      accessSync(path.join(dir, cmd), constants.X_OK);
      return true;
    } catch {
      // keep looking
    }
  }
  return false;
}

function externalBrokers(): string[] | null {
  const list = (process.env.KAFKA_BROKERS ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  return list.length > 0 ? list : null;
}

/**
 * Why a broker cannot be provided here, or null if it can. Synchronous so tests can use it in
 * `describe.skipIf(...)` and put the reason in the suite name (a skip must be visible).
 */
export function kafkaUnavailableReason(): string | null {
  if (externalBrokers()) return null;
  if (process.platform === "win32") return "scripts/kafka/start.sh needs bash (not on Windows); set KAFKA_BROKERS";
  if (!onPath("java")) return "java is not on PATH (needed to run Kafka); install a JDK 17 or set KAFKA_BROKERS";
  const version = process.env.KAFKA_VERSION ?? "3.9.2";
  const cached = existsSync(path.join(SCRIPTS, ".work", `classpath-${version}.txt`));
  if (!cached && !onPath("mvn")) {
    return "mvn is not on PATH (needed once to fetch Kafka from Maven Central); install Maven or set KAFKA_BROKERS";
  }
  return null;
}

function run(file: string, args: string[], timeout: number): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { timeout, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) {
        reject(new Error(`${path.basename(args[0] ?? file)} failed: ${error.message}\n${stderr}`, { cause: error }));
      } else {
        resolve({ stdout, stderr });
      }
    });
  });
}

/**
 * Returns a running broker, or null (after console.warn) when java/mvn are missing.
 * Any other failure to start throws: a test must not silently pass without Kafka.
 */
export async function startKafka(): Promise<KafkaBroker | null> {
  const external = externalBrokers();
  if (external) {
    return { brokers: external, stop: async () => {} };
  }

  const reason = kafkaUnavailableReason();
  if (reason) {
    console.warn(`[kafka-broker] no Kafka broker: ${reason}`);
    return null;
  }

  const dir = await mkdtemp(path.join(tmpdir(), "flowpulse-kafka-"));
  let stdout: string;
  try {
    // --owner-pid: the broker is also taken down if this process dies without calling stop().
    ({ stdout } = await run(
      "bash",
      [path.join(SCRIPTS, "start.sh"), "--dir", dir, "--owner-pid", String(process.pid)],
      START_TIMEOUT_MS,
    ));
  } catch (error) {
    await run("bash", [path.join(SCRIPTS, "stop.sh"), "--dir", dir], 60_000).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
    throw error;
  }

  const match = /^KAFKA_BROKERS=(\S+)$/m.exec(stdout);
  const address = match?.[1];
  if (!address) {
    await run("bash", [path.join(SCRIPTS, "stop.sh"), "--dir", dir], 60_000).catch(() => undefined);
    throw new Error(`scripts/kafka/start.sh printed no KAFKA_BROKERS line:\n${stdout}`);
  }

  let stopped: Promise<void> | null = null;
  return {
    brokers: address.split(","),
    stop() {
      stopped ??= (async () => {
        await run("bash", [path.join(SCRIPTS, "stop.sh"), "--dir", dir], 60_000);
        await rm(dir, { recursive: true, force: true });
      })();
      return stopped;
    },
  };
}
