// A finished command ends its process: something left open (here a ref'd interval, standing in for
// a forgotten timer or socket) is reported on stderr and the process exits with the command's code.
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { runToEnd } from "./helpers/hung.ts";

const MAIN = fileURLToPath(new URL("../cli/main.ts", import.meta.url));

async function run(script: string): Promise<{ code: number | null; stderr: string; ms: number }> {
  const started = Date.now();
  const { code, stderr } = await runToEnd(["--import", "tsx", "--input-type=module", "-e", script], { cwd: process.cwd(), env: process.env, deadlineMs: 60_000 });
  return { code, stderr, ms: Date.now() - started };
}

describe("exitWhenFinished", () => {
  it("ends a process something still holds, with the command's code and a line saying so", async () => {
    const result = await run(`import { exitWhenFinished } from ${JSON.stringify(MAIN)}; setInterval(() => {}, 1000); exitWhenFinished(3, 300);`);
    expect(result.code).toBe(3);
    expect(result.stderr).toBe("flowpulse: the command finished but something still held the process 0.3 s later; exiting (please report this)\n");
  });

  it("lets a process that winds down by itself end at once, silently", async () => {
    const result = await run(`import { exitWhenFinished } from ${JSON.stringify(MAIN)}; setTimeout(() => {}, 200); exitWhenFinished(4, 30_000);`);
    expect(result.code).toBe(4);
    expect(result.stderr).toBe("");
    // Far below the 30 s wind-down: the unref'd timer does not keep the process alive.
    expect(result.ms).toBeLessThan(20_000);
  });
});

describe("runToEnd (the CLI tests' runner)", () => {
  it("ends a process past its deadline and says where its threads were", async () => {
    const result = await runToEnd(["-e", "setInterval(() => {}, 1000)"], { cwd: process.cwd(), env: process.env, deadlineMs: 1_500 });
    expect(result.signal).toBe("SIGKILL");
    expect(result.stderr).toContain("setInterval(() => {}, 1000) was still running after 1.5 s; its threads:\n");
    // gdb's frames of the main thread (scripts/setup.sh installs gdb); a reason where it is missing.
    expect(result.stderr).toMatch(/its threads:\n(Thread 1 .*\n#0 |\(no stacks: )/);
  });
});
