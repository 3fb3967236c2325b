import type { SourceOffset } from '../events/change-event.js';
import type { Logger } from '../observability/logger.js';
import type { SerializedRecord, Sink } from '../sinks/sink.js';
import type { Source } from '../sources/source.js';
import { BatchQueue, type CommitCycle } from './batch-queue.js';
import type { EngineSettings, RecordConverter } from './types.js';

export interface PipelineOptions {
  readonly source: Source;
  readonly converter: RecordConverter;
  readonly sink: Sink;
  readonly startOffset: SourceOffset | null;
  readonly settings: EngineSettings;
  readonly logger: Logger;
  /** Idempotent; ends the source iterator so a blocked pull returns. */
  readonly stopSource: () => Promise<void>;
  /** How long to wait for the source iterator to finish after stopSource. */
  readonly shutdownTimeoutMs: number;
  readonly onCommit?: (cycle: CommitCycle) => void;
  readonly now?: () => number;
}

/** Resolves after `ms`, or with `onTimeout`'s value; never leaves a timer behind. */
export async function withTimeout<T>(promise: Promise<T>, ms: number, onTimeout: () => T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([promise, new Promise<T>((resolve) => (timer = setTimeout(() => resolve(onTimeout()), ms)))]);
  } finally {
    if (timer) clearTimeout(timer);
  }
}

/**
 * One connector lifetime: pulls the source iterator into a bounded queue, and in a single commit loop turns queued
 * batches into commit cycles → converter → `sink.commit(records, offset)` → `source.acknowledge(offset)`.
 * At most one commit is in flight; the next cycle is formed only after it resolved, so source order is kept.
 *
 * `run()` resolves 'ended' when the source iterator finished and everything was committed, 'stopped' after
 * `requestStop()` (the in-flight cycle, if any, is completed and acknowledged; queued batches are abandoned: their
 * offset was not stored, so they are read again on the next start), and rejects with the first failure.
 */
export class Pipeline {
  private readonly queue: BatchQueue;
  private stopping = false;
  private failure: { readonly error: unknown } | null = null;
  private sourceFinished = false;
  private sinkFailure = false;

  constructor(private readonly o: PipelineOptions) {
    this.queue = new BatchQueue(o.settings.maxQueueSize, o.now);
  }

  /** Events pulled from the source and waiting for a commit cycle. */
  get queuedEvents(): number {
    return this.queue.size;
  }

  /** True when the failure (if any) came from `sink.commit`: the sink must not be reused. */
  get sinkFailed(): boolean {
    return this.sinkFailure;
  }

  requestStop(): void {
    this.stopping = true;
    this.queue.close();
  }

  async run(): Promise<'ended' | 'stopped'> {
    const producer = this.pull().catch((err: unknown) => this.fail(err));
    await this.commitLoop().catch((err: unknown) => this.fail(err));
    if (!this.sourceFinished) {
      await this.o.stopSource().catch((err: unknown) => this.o.logger.warn({ err }, 'stopping the source failed'));
      const finished = await withTimeout(producer.then(() => true), this.o.shutdownTimeoutMs, () => false);
      if (!finished) this.o.logger.warn({ timeoutMs: this.o.shutdownTimeoutMs }, 'the source did not end its stream after stop(); abandoning it');
    }
    if (this.failure) throw this.failure.error;
    return this.stopping ? 'stopped' : 'ended';
  }

  private fail(error: unknown): void {
    if (!this.failure) this.failure = { error };
    this.queue.close();
  }

  private halted(): boolean {
    return this.stopping || this.failure !== null;
  }

  private async pull(): Promise<void> {
    const iterator = this.o.source.stream(this.o.startOffset)[Symbol.asyncIterator]();
    let finished = false;
    try {
      while (!this.halted()) {
        const next = await iterator.next();
        if (next.done) {
          finished = true;
          this.sourceFinished = true;
          this.queue.end();
          return;
        }
        if (this.halted() || !(await this.queue.push(next.value))) break;
      }
    } catch (err) {
      finished = true; // a generator that threw is done
      throw err;
    } finally {
      if (!finished && iterator.return) {
        const ret = iterator.return();
        await withTimeout(ret.then(() => undefined, () => undefined), this.o.shutdownTimeoutMs, () => undefined);
      }
    }
  }

  private async commitLoop(): Promise<void> {
    const { settings, sink, source } = this.o;
    for (;;) {
      const cycle = await this.queue.takeCycle(settings.maxBatchSize, settings.commitIntervalMs);
      if (cycle === null || this.halted()) return;
      // From here the cycle is in flight: a stop request lets it finish.
      const records = await this.convert(cycle);
      try {
        await sink.commit(records, cycle.offset);
      } catch (err) {
        this.sinkFailure = true;
        throw err;
      }
      this.o.onCommit?.(cycle);
      if (cycle.acknowledgeOffset !== null && this.failure === null) {
        await source.acknowledge(cycle.acknowledgeOffset);
      }
      if (this.stopping) return;
    }
  }

  private async convert(cycle: CommitCycle): Promise<SerializedRecord[]> {
    const { converter } = this.o;
    const records: SerializedRecord[] = new Array<SerializedRecord>(cycle.events.length);
    let i = 0;
    for (const event of cycle.events) {
      const key = await converter.serializeKey(event);
      const value = event.value === null ? null : await converter.serializeValue(event);
      records[i++] = {
        topic: event.topic,
        key,
        value,
        ...(event.headers ? { headers: event.headers } : {}),
        ...(event.timestampMs !== undefined ? { timestampMs: event.timestampMs } : {}),
        ...(event.partition !== undefined ? { partition: event.partition } : {}),
      };
    }
    return records;
  }
}
