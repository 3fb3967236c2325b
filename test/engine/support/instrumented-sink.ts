/** Wraps a real sink to record what the engine asks of it, and optionally hold commits until released. */
import type { SourceOffset } from '../../../src/events/change-event.js';
import type { SerializedRecord, Sink } from '../../../src/sinks/sink.js';

export interface CommitRecord {
  readonly records: number;
  readonly offset: SourceOffset;
  readonly startedAt: number;
  doneAt: number | null;
}

export class SinkProbe {
  readonly commits: CommitRecord[] = [];
  opens = 0;
  closes = 0;
  private gate: Promise<void> | null = null;
  private openGate: (() => void) | null = null;

  /** Commits wait from now on until `release()`. */
  hold(): void {
    if (!this.gate) this.gate = new Promise((resolve) => (this.openGate = resolve));
  }

  release(): void {
    this.openGate?.();
    this.gate = null;
    this.openGate = null;
  }

  get done(): CommitRecord[] {
    return this.commits.filter((c) => c.doneAt !== null);
  }

  wrap(inner: Sink, hooks: { beforeCommit?: (records: readonly SerializedRecord[]) => void } = {}): Sink {
    return {
      open: async () => {
        this.opens += 1;
        return inner.open();
      },
      commit: async (records, offset) => {
        const entry: CommitRecord = { records: records.length, offset, startedAt: Date.now(), doneAt: null };
        this.commits.push(entry);
        hooks.beforeCommit?.(records);
        if (this.gate) await this.gate;
        await inner.commit(records, offset);
        entry.doneAt = Date.now();
      },
      close: async () => {
        this.closes += 1;
        await inner.close();
      },
    };
  }
}

export async function waitFor(condition: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const start = Date.now();
  while (!condition()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
