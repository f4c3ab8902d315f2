// Analysts' queries share serve's one engine with the stream, the syncs and the bot. At most
// `slots` run at once (each on its own read-only session); the rest wait in one line per user,
// served in turn, so one user's burst of queries does not hold everyone else behind it.

export class QueueFullError extends Error {
  override name = "QueueFullError";
}

interface Job {
  start(slot: number): void;
}

export class FairQueue {
  private readonly free: number[];
  private readonly waiting = new Map<string, Job[]>();
  /** Users with queries waiting, in the order they are served next. */
  private readonly turn: string[] = [];
  private queued = 0;

  constructor(slots: number, private readonly maxQueued: number) {
    this.free = Array.from({ length: slots }, (_, slot) => slot);
  }

  get waitingCount(): number {
    return this.queued;
  }

  /** Runs `work` on a free slot when `user`'s turn comes. */
  run<T>(user: string, work: (slot: number) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const job: Job = {
        start: (slot) => {
          work(slot)
            .then(resolve, reject)
            .finally(() => {
              this.free.push(slot);
              this.dispatch();
            });
        },
      };
      if (this.free.length === 0 && this.queued >= this.maxQueued) {
        reject(new QueueFullError(`${this.queued} analysts' queries are already waiting`));
        return;
      }
      const line = this.waiting.get(user);
      if (line) line.push(job);
      else {
        this.waiting.set(user, [job]);
        this.turn.push(user);
      }
      this.queued += 1;
      this.dispatch();
    });
  }

  private dispatch(): void {
    while (this.free.length > 0 && this.turn.length > 0) {
      const user = this.turn.shift() as string;
      const line = this.waiting.get(user) as Job[];
      const job = line.shift() as Job;
      // A user with more waiting goes to the back of the turn.
      if (line.length > 0) this.turn.push(user);
      else this.waiting.delete(user);
      this.queued -= 1;
      job.start(this.free.shift() as number);
    }
  }
}
