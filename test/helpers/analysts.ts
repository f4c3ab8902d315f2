// A real `flowpulse serve` child with the analysts' endpoint on, for the analysts' tests and bench.
import { spawn, type ChildProcess } from "node:child_process";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { CLI, ROOT } from "./serve-process.ts";

export interface AnalystServe {
  child: ChildProcess;
  /** The endpoint, e.g. http://127.0.0.1:41234 */
  url: string;
  stop(): Promise<void>;
}

/** Writes a config enabling the endpoint on a free port and starts serve on `data`. */
export function startAnalystServe(data: string, options: { users: Record<string, string>; limits?: Record<string, number>; extra?: string }): Promise<AnalystServe> {
  const config = path.join(data, "..", `${path.basename(data)}-analysts.yaml`);
  const users = Object.keys(options.users).map((name, i) => `    - { name: ${name}, password_env: ANALYST_PW_${i} }`);
  const limits = Object.entries(options.limits ?? {}).map(([key, value]) => `    ${key}: ${value}`);
  writeFileSync(config, ["analysts:", "  enabled: true", "  port: 0", "  users:", ...users, ...(limits.length ? ["  limits:", ...limits] : []), options.extra ?? ""].join("\n") + "\n");
  const env: NodeJS.ProcessEnv = { ...process.env, FLOWPULSE_CONFIG: config };
  Object.values(options.users).forEach((password, i) => (env[`ANALYST_PW_${i}`] = password));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, "--data", data, "serve"], { cwd: ROOT, env, stdio: ["ignore", "ignore", "pipe"] });
    let log = "";
    child.stderr!.on("data", (chunk: Buffer) => {
      log += chunk.toString();
      const url = /analysts' SQL \(ClickHouse HTTP\) on (http:\/\/[^\s;]+)/.exec(log)?.[1];
      if (url && log.includes("[serve] running")) {
        resolve({
          child,
          url,
          stop: () =>
            new Promise<void>((done) => {
              if (child.exitCode !== null) return done();
              child.once("exit", () => done());
              child.kill("SIGTERM");
            }),
        });
      }
    });
    child.on("exit", (code) => reject(new Error(`serve exited early (${code}): ${log}`)));
  });
}
