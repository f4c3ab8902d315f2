/**
 * A bounded first-in first-out hand-over from the fetching loop to the mapping loop: put() waits
 * while `limit` pages are waiting, take() waits for a page and returns null after end(), or throws
 * the fetch error after the pages read before it.
 */
export class PageQueue<T> {
  private readonly items: T[] = [];
  private finished = false;
  private error: { reason: unknown } | null = null;
  private wakeTaker: (() => void) | null = null;
  private wakePutter: (() => void) | null = null;
  /** Set when the consumer gave up: put() returns at once and the fetching loop stops. */
  closed = false;

  constructor(private readonly limit: number) {}

  /** Waits until put() would not wait (or the consumer gave up). */
  async room(): Promise<void> {
    while (this.items.length >= this.limit && !this.closed) await new Promise<void>((resolve) => (this.wakePutter = resolve));
  }

  async put(item: T): Promise<void> {
    await this.room();
    if (this.closed) return;
    this.items.push(item);
    this.wake("taker");
  }

  async take(): Promise<T | null> {
    while (this.items.length === 0) {
      if (this.error) throw this.error.reason;
      if (this.finished) return null;
      await new Promise<void>((resolve) => (this.wakeTaker = resolve));
    }
    const item = this.items.shift()!;
    this.wake("putter");
    return item;
  }

  end(): void {
    this.finished = true;
    this.wake("taker");
  }

  fail(reason: unknown): void {
    this.error = { reason };
    this.wake("taker");
  }

  close(): void {
    this.closed = true;
    this.items.length = 0;
    this.wake("putter");
  }

  private wake(who: "taker" | "putter"): void {
    const wake = who === "taker" ? this.wakeTaker : this.wakePutter;
    if (who === "taker") this.wakeTaker = null;
    else this.wakePutter = null;
    wake?.();
  }
}
