import type { ChangeEvent, SourceBatch, SourceOffset } from '../events/change-event.js';

/** Source batches merged into one sink commit. */
export interface CommitCycle {
  readonly batches: number;
  readonly events: readonly ChangeEvent[];
  /** The last batch's offset: stored with the records. */
  readonly offset: SourceOffset;
  /** The last acknowledgeable batch's offset in this cycle, if any: acknowledged after the commit. */
  readonly acknowledgeOffset: SourceOffset | null;
}

interface Queued {
  readonly batch: SourceBatch;
  readonly arrivedAt: number;
}

/**
 * The bounded hand-over between the source (producer) and the commit loop (consumer).
 * Holds at most `maxEvents` events — or one batch, however large, when empty — so `push` waits while full:
 * that wait is the backpressure that stops the engine from pulling the source iterator.
 */
export class BatchQueue {
  private items: Queued[] = [];
  private queuedEvents = 0;
  private ended = false;
  private closed = false;
  private waiters: Array<() => void> = [];

  constructor(
    private readonly maxEvents: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Events waiting (not yet taken into a cycle). */
  get size(): number {
    return this.queuedEvents;
  }

  /** Adds a batch, waiting for room. False when the queue was closed meanwhile (the batch is dropped). */
  async push(batch: SourceBatch): Promise<boolean> {
    while (!this.closed && this.items.length > 0 && this.queuedEvents + batch.events.length > this.maxEvents) {
      await this.wait();
    }
    if (this.closed) return false;
    this.items.push({ batch, arrivedAt: this.now() });
    this.queuedEvents += batch.events.length;
    this.notify();
    return true;
  }

  /** The source finished: `takeCycle` drains what is left, then returns null. */
  end(): void {
    this.ended = true;
    this.notify();
  }

  /** Stop or failure: everything queued is abandoned, waiters return at once. */
  close(): void {
    this.closed = true;
    this.items = [];
    this.queuedEvents = 0;
    this.notify();
  }

  /**
   * The next commit cycle: waits for a first batch, then keeps adding queued batches until the cycle holds
   * `maxBatchEvents` events (a batch is never split: one that would overflow starts the next cycle, unless the
   * cycle is empty) or `intervalMs` passed since the first batch arrived, or the source ended.
   * Null when closed, or ended and drained.
   */
  async takeCycle(maxBatchEvents: number, intervalMs: number): Promise<CommitCycle | null> {
    for (;;) {
      if (this.closed) return null;
      if (this.items.length > 0) break;
      if (this.ended) return null;
      await this.wait();
    }
    const first = this.items[0] as Queued;
    const deadline = first.arrivedAt + intervalMs;
    const events: ChangeEvent[] = [];
    let batches = 0;
    let offset: SourceOffset = first.batch.offset;
    let acknowledgeOffset: SourceOffset | null = null;
    for (;;) {
      if (this.closed) return null;
      let full = false;
      while (this.items.length > 0) {
        const next = this.items[0] as Queued;
        const n = next.batch.events.length;
        if (batches > 0 && events.length + n > maxBatchEvents) {
          full = true;
          break;
        }
        this.items.shift();
        this.queuedEvents -= n;
        for (const e of next.batch.events) events.push(e);
        batches += 1;
        offset = next.batch.offset;
        if (next.batch.acknowledgeable === true) acknowledgeOffset = next.batch.offset;
        if (events.length >= maxBatchEvents) {
          full = true;
          break;
        }
      }
      this.notify(); // room for the producer
      if (full || this.ended) break;
      const remaining = deadline - this.now();
      if (remaining <= 0) break;
      await this.wait(remaining);
    }
    return { batches, events, offset, acknowledgeOffset };
  }

  private wait(timeoutMs?: number): Promise<void> {
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const wake = () => {
        if (timer) clearTimeout(timer);
        resolve();
      };
      this.waiters.push(wake);
      if (timeoutMs !== undefined) {
        timer = setTimeout(() => {
          this.waiters = this.waiters.filter((w) => w !== wake);
          resolve();
        }, timeoutMs);
      }
    });
  }

  private notify(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}
