// Which process wrote something, in a form that survives pid reuse: a pid alone may name an
// unrelated process after a crash and a reboot or a busy day, so the kernel's start time of the
// process (field 22 of /proc/<pid>/stat, clock ticks since boot) goes beside it.
import { readFileSync } from "node:fs";
import os from "node:os";

/** The start time of process `pid` as the kernel records it; undefined if it does not exist (or no /proc). */
export function processStart(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name (field 2) is in parentheses and may hold spaces: count fields after it.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return fields[19];
  } catch {
    return undefined;
  }
}

/** Whether some process has this pid (any process: pids are reused). */
export function pidExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Whether process `pid` that started at `start` (processStart) still runs. Without /proc (not
 * Linux) only the pid can be checked.
 */
export function isSameProcessAlive(pid: number, start: string | undefined): boolean {
  if (!pidExists(pid)) return false;
  const now = processStart(pid);
  if (now === undefined || start === undefined || start === "") return now === undefined;
  return now === start;
}

let self: string | undefined;

/** This process as a writer: "host:pid:start". */
export function selfOwner(): string {
  self ??= `${os.hostname()}:${process.pid}:${processStart(process.pid) ?? ""}`;
  return self;
}

/**
 * Whether the writer named by `owner` (selfOwner of some process) is alive: true or false on this
 * host, undefined when it cannot be told (another host, or a mark made before owners were kept).
 */
export function ownerAlive(owner: string): boolean | undefined {
  const match = /^(.*):(\d+):(\d*)$/.exec(owner);
  if (!match || match[1] !== os.hostname()) return undefined;
  return isSameProcessAlive(Number(match[2]), match[3]);
}
