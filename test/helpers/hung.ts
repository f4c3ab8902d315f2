// What a child process that outlived its deadline was doing: every thread's stack from gdb (when the
// machine has it), so a hang seen once in CI says where it was rather than only that it happened.
import { execFile, execFileSync } from "node:child_process";

/** gdb's backtrace of every thread of `pid`, the main thread first; a line saying why when there is none. */
export function stacksOf(pid: number, maxLines = 400): string {
  try {
    const out = execFileSync("gdb", ["-p", String(pid), "-batch", "-ex", "thread apply 1 bt 30", "-ex", "thread apply all bt 12"], {
      encoding: "utf8",
      timeout: 60_000,
      stdio: ["ignore", "pipe", "pipe"],
      maxBuffer: 64 * 1024 * 1024,
    });
    // chDB runs hundreds of pool threads parked in the same wait; keep the frames, drop gdb's chatter.
    const frames = out.split("\n").filter((line) => /^(#\d+|Thread \d+)/.test(line));
    return frames.slice(0, maxLines).join("\n") + (frames.length > maxLines ? `\n… ${frames.length - maxLines} more lines` : "");
  } catch (error) {
    return `(no stacks: ${(error as Error).message.split("\n")[0]})`;
  }
}

export interface CliOutcome { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }

/**
 * Runs a CLI process to its end, asynchronously (a replay server may live in the calling process).
 * One that outlives `deadlineMs` is hung: it is ended, and its stderr gains every thread's stack.
 */
export function runToEnd(argv: readonly string[], options: { cwd: string; env: NodeJS.ProcessEnv; deadlineMs: number }): Promise<CliOutcome> {
  return new Promise((resolve) => {
    let stacks = "";
    const child = execFile(process.execPath, argv, { cwd: options.cwd, env: options.env, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      clearTimeout(deadline);
      const code = error ? (typeof (error as { code?: unknown }).code === "number" ? (error as { code: number }).code : null) : 0;
      const hung = stacks ? `\n${argv.slice(1).join(" ")} was still running after ${options.deadlineMs / 1000} s; its threads:\n${stacks}` : "";
      resolve({ code, signal: (error as { signal?: NodeJS.Signals } | null)?.signal ?? null, stdout, stderr: stderr + hung });
    });
    const deadline = setTimeout(() => {
      stacks = stacksOf(child.pid!);
      child.kill("SIGKILL");
    }, options.deadlineMs);
  });
}
