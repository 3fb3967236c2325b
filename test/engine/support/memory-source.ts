/**
 * A test double for the Source interface (not a database): yields numbered batches from an in-memory script,
 * resumes from the offset the engine hands it, records every call, and can fail on cue.
 * Offsets look like {seq: n}: the position after batch n.
 */
import type { ChangeEvent, SourceBatch, SourceOffset } from '../../../src/events/change-event.js';
import type { Problem, Source } from '../../../src/sources/source.js';

/** Shared across restarts of one connector, so a test sees every lifetime. */
export class SourceWorld {
  /** The offset each stream() started from. */
  readonly streams: (SourceOffset | null)[] = [];
  readonly acks: { seq: number; at: number }[] = [];
  readonly yielded: number[] = [];
  stops = 0;
  validations = 0;
  pulledEvents = 0;
  onAck: ((seq: number) => void) | null = null;
}

export interface MemorySourceOptions {
  readonly world: SourceWorld;
  /** Last batch number; the stream ends after it (unless `endless`). Infinity: never ends (until stopped). */
  readonly batches: number;
  /** After the last batch, idle until stopped instead of ending the stream. */
  readonly endless?: boolean;
  readonly eventsPerBatch: number | ((seq: number) => number);
  /** Batches whose offset may be acknowledged; default every batch. */
  readonly acknowledgeable?: (seq: number) => boolean;
  /** Wait before each batch. */
  readonly delayMs?: number;
  /** Throw `error` instead of yielding batch `atSeq`. */
  readonly failAt?: { readonly atSeq: number; readonly error: Error };
  /** Throw from stream() before anything. */
  readonly failImmediately?: Error;
  readonly problems?: Problem[];
  readonly topic?: string;
  /** Called with each batch number just before it is yielded. */
  readonly onYield?: (seq: number) => void;
}

export function seqOf(offset: SourceOffset | null): number {
  return offset === null ? 0 : Number(offset.seq);
}

export function eventFor(topic: string, seq: number, i: number): ChangeEvent {
  return {
    topic,
    keySchema: null,
    key: { id: `${seq}-${i}` },
    valueSchema: null,
    value: { seq, i },
  };
}

export class MemorySource implements Source {
  readonly connector = 'postgresql' as const;
  private stopped = false;
  private wake: (() => void) | null = null;

  constructor(private readonly o: MemorySourceOptions) {}

  async validate(): Promise<Problem[]> {
    this.o.world.validations += 1;
    return this.o.problems ?? [];
  }

  stream(offset: SourceOffset | null): AsyncIterable<SourceBatch> {
    this.o.world.streams.push(offset);
    return this.generate(seqOf(offset));
  }

  private async *generate(from: number): AsyncGenerator<SourceBatch> {
    if (this.o.failImmediately) throw this.o.failImmediately;
    const topic = this.o.topic ?? 'test.public.items';
    for (let seq = from + 1; seq <= this.o.batches; seq++) {
      if (this.o.delayMs) await this.pause(this.o.delayMs);
      if (this.stopped) return;
      if (this.o.failAt && this.o.failAt.atSeq === seq) throw this.o.failAt.error;
      const n = typeof this.o.eventsPerBatch === 'function' ? this.o.eventsPerBatch(seq) : this.o.eventsPerBatch;
      const events = Array.from({ length: n }, (_, i) => eventFor(topic, seq, i));
      this.o.world.yielded.push(seq);
      this.o.world.pulledEvents += n;
      this.o.onYield?.(seq);
      yield { events, offset: { seq }, acknowledgeable: this.o.acknowledgeable ? this.o.acknowledgeable(seq) : true };
    }
    // a finite script ends; an infinite one idles until stop()
    while (!this.stopped && (this.o.batches === Infinity || this.o.endless === true)) await this.pause(1000);
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        if (this.wake === done) this.wake = null;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wake = done;
    });
  }

  async acknowledge(offset: SourceOffset): Promise<void> {
    const seq = seqOf(offset);
    this.o.world.acks.push({ seq, at: Date.now() });
    this.o.world.onAck?.(seq);
  }

  async stop(): Promise<void> {
    this.o.world.stops += 1;
    this.stopped = true;
    this.wake?.();
  }
}
