// A real `flowpulse serve` child process on a data directory, for tests that run the CLI beside it.
import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";

export const ROOT = path.resolve(import.meta.dirname, "../..");
export const CLI = path.join(ROOT, "bin", "flowpulse.js");

/** Starts serve and resolves once it says it is running (rejects with its log if it exits first). */
export function startServe(data: string, env: NodeJS.ProcessEnv): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, "--data", data, "serve"], { cwd: ROOT, env, stdio: ["ignore", "ignore", "pipe"] });
    let log = "";
    child.stderr!.on("data", (chunk: Buffer) => {
      log += chunk.toString();
      if (log.includes("[serve] running")) resolve(child);
    });
    child.on("exit", (code) => reject(new Error(`serve exited early (${code}): ${log}`)));
  });
}
