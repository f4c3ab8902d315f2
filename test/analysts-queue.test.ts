// The analysts' fair queue and config section, on their own: whose query runs next, what is
// refused, and the start-up errors a person gets for the section.
import { describe, expect, it } from "vitest";
import { analystPasswords, AnalystsConfigSchema } from "../analysts/config.ts";
import { FairQueue, QueueFullError } from "../analysts/queue.ts";
import { parseConfig } from "../cli/config.ts";

/** A job that records when it starts and finishes when `release` is called. */
function gate() {
  let release!: () => void;
  const done = new Promise<void>((resolve) => (release = resolve));
  return { done, release };
}

describe("FairQueue", () => {
  it("serves users in turn: one user's burst does not hold another's query behind it", async () => {
    const queue = new FairQueue(1, 100);
    const started: string[] = [];
    const gates = new Map<string, ReturnType<typeof gate>>();
    const submit = (user: string, id: string) => {
      const g = gate();
      gates.set(id, g);
      return queue.run(user, async () => {
        started.push(id);
        await g.done;
        return id;
      });
    };
    // alice sends five at once, then bob one: bob's runs third, not sixth.
    const answers = [submit("alice", "a1"), submit("alice", "a2"), submit("alice", "a3"), submit("alice", "a4"), submit("alice", "a5"), submit("bob", "b1")];
    const order = ["a1", "a2", "b1", "a3", "a4", "a5"];
    for (const id of order) {
      await new Promise((resolve) => setImmediate(resolve));
      gates.get(id)!.release();
    }
    expect(await Promise.all(answers)).toEqual(["a1", "a2", "a3", "a4", "a5", "b1"]);
    // a1 takes the free slot at once; alice's line was waiting before bob's, so a2 is next, then
    // bob's turn, then the rest of alice's.
    expect(started).toEqual(order);
  });

  it("runs at most `slots` at once and refuses past max_queued", async () => {
    const queue = new FairQueue(2, 1);
    let running = 0;
    let peak = 0;
    const g = gate();
    const job = () =>
      queue.run("u", async () => {
        running += 1;
        peak = Math.max(peak, running);
        await g.done;
        running -= 1;
      });
    const first = [job(), job(), job()];
    // Two run, one waits: a fourth is one too many.
    await expect(job()).rejects.toBeInstanceOf(QueueFullError);
    g.release();
    await Promise.all(first);
    expect(peak).toBe(2);
  });

  it("keeps going after a job fails", async () => {
    const queue = new FairQueue(1, 10);
    await expect(queue.run("u", () => Promise.reject(new Error("boom")))).rejects.toThrow("boom");
    await expect(queue.run("u", () => Promise.resolve(7))).resolves.toBe(7);
  });
});

describe("analysts config", () => {
  it("is off by default, on loopback, with limits the engine enforces", () => {
    const config = parseConfig({}).analysts;
    expect(config).toMatchObject({ enabled: false, host: "127.0.0.1", port: 8124, users: [], max_concurrent_queries: 1 });
    expect(config.limits).toEqual({ max_execution_time: 60, max_memory_usage: 2_000_000_000, max_result_rows: 1_000_000, max_result_bytes: 500_000_000, max_threads: 1 });
  });

  it("refuses an unknown key, and a password written in the file", () => {
    expect(() => parseConfig({ analysts: { enabled: true, prot: 1 } })).toThrow(/analysts\.prot: unknown key/);
    expect(() => parseConfig({ analysts: { users: [{ name: "alice", password: "x" }] } })).toThrow(/analysts\.users\.0\.password: do not put secrets in the config file/);
  });

  it("takes passwords from the variables the users name, and says which one is missing", () => {
    const config = AnalystsConfigSchema.parse({ enabled: true, users: [{ name: "alice", password_env: "A_PW" }, { name: "bob", password_env: "B_PW" }] });
    expect(analystPasswords(config, { A_PW: "one", B_PW: "two" })).toEqual(new Map([["alice", "one"], ["bob", "two"]]));
    expect(() => analystPasswords(config, { A_PW: "one" })).toThrow('analysts user "bob": $B_PW is not set; export the password there (or remove the user)');
    expect(() => analystPasswords(AnalystsConfigSchema.parse({ enabled: true }), {})).toThrow(/needs at least one user/);
  });
});
