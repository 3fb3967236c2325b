import { PrerequisiteError } from '../errors.js';
import type { Logger } from '../observability/logger.js';
import type { Sink } from '../sinks/sink.js';
import type { Source } from '../sources/source.js';
import { backoffDelay } from './backoff.js';
import { describeError, isRetriable } from './classify.js';
import { Pipeline, withTimeout } from './pipeline.js';
import {
  engineSettings,
  type ConnectorContext,
  type ConnectorStats,
  type ConnectorStatus,
  type EngineConnectorSpec,
  type EngineFactories,
  type EngineSettings,
  type RecordConverter,
} from './types.js';

export interface RunnerOptions<S extends EngineConnectorSpec> extends EngineFactories<S> {
  readonly logger: Logger;
  readonly onStatus?: (name: string, status: ConnectorStatus) => void;
  /**
   * Call `Source.validate()` before the first start; error problems stop the connector (PrerequisiteError).
   * Default false: the sources check their prerequisites themselves when `stream()` starts, and tell a refused
   * connection (retriable) from a real prerequisite problem, which `validate()`'s problem list cannot.
   * Never applied to restarts, where an unreachable database must be retried, not reported as a prerequisite.
   */
  readonly validateOnStart?: boolean;
  /** Upper bound for each shutdown step (source stop, sink close). Default 30 s. */
  readonly shutdownTimeoutMs?: number;
  readonly random?: () => number;
  readonly now?: () => number;
}

/**
 * Runs one connector until it is stopped or fails for good: creates source, converter and sink through the
 * factories, resumes from the sink's last committed offset, runs a Pipeline, and restarts it with exponential
 * backoff after a retriable failure. `run()` never rejects: it resolves with the final status.
 */
export class ConnectorRunner<S extends EngineConnectorSpec> {
  readonly name: string;
  private readonly settings: EngineSettings;
  private readonly logger: Logger;
  private current: ConnectorStatus;
  private stats = { commits: 0, events: 0, lastCommitAt: null as Date | null, restarts: 0 };
  private stopRequested = false;
  private pipeline: Pipeline | null = null;
  private wakeSleep: (() => void) | null = null;
  private finished: Promise<ConnectorStatus> | null = null;
  /** A healthy sink kept across a restart that the sink did not cause (see `Sink.reopen`). */
  private keptSink: Sink | null = null;

  constructor(
    private readonly spec: S,
    private readonly o: RunnerOptions<S>,
  ) {
    this.name = spec.name;
    this.settings = engineSettings(spec.config);
    this.logger = o.logger.child({ connector: spec.name });
    this.current = { state: 'starting', since: new Date() };
  }

  get status(): ConnectorStatus {
    return this.current;
  }

  get statistics(): ConnectorStats {
    return { ...this.stats };
  }

  /** Starts the connector (once); resolves with its final status (stopped or failed). */
  run(): Promise<ConnectorStatus> {
    this.finished ??= this.loop();
    return this.finished;
  }

  /** Graceful stop: the in-flight commit cycle completes, then sink and source are closed. */
  async stop(): Promise<ConnectorStatus> {
    if (!this.stopRequested) {
      this.stopRequested = true;
      if (this.current.state !== 'stopped' && this.current.state !== 'failed') this.setStatus({ state: 'stopping', since: new Date() });
      this.pipeline?.requestStop();
      this.wakeSleep?.();
    }
    return this.run();
  }

  private setStatus(status: ConnectorStatus): void {
    this.current = status;
    try {
      this.o.onStatus?.(this.name, status);
    } catch (err) {
      this.logger.warn({ err }, 'status listener threw');
    }
  }

  private async loop(): Promise<ConnectorStatus> {
    let attempt = 0;
    const now = this.o.now ?? Date.now;
    for (;;) {
      if (this.stopRequested) return this.final({ state: 'stopped', since: new Date(), reason: 'stopped on request' });
      const commitsBefore = this.stats.commits;
      const startedAt = now();
      try {
        const outcome = await this.lifetime(attempt);
        const reason = outcome === 'ended' ? 'the source finished its stream' : 'stopped on request';
        this.logger.info({ reason }, 'connector stopped');
        return this.final({ state: 'stopped', since: new Date(), reason });
      } catch (err) {
        const reason = describeError(err);
        if (this.stopRequested) {
          this.logger.warn({ err }, 'connector failed while stopping');
          return this.final({ state: 'stopped', since: new Date(), reason: `stopped on request (after: ${reason})` });
        }
        if (!isRetriable(err)) {
          this.logger.error({ err }, `connector failed: ${reason}`);
          return this.final({ state: 'failed', since: new Date(), reason, error: err });
        }
        // a lifetime that committed something, or ran longer than the longest delay, resets the backoff
        const progressed = this.stats.commits > commitsBefore || now() - startedAt >= this.settings.restartMaxMs;
        attempt = progressed ? 1 : attempt + 1;
        const { maxRetries } = this.settings;
        if (maxRetries >= 0 && attempt > maxRetries) {
          const why = maxRetries === 0 ? `${reason} (restarts are disabled: errors.max.retries=0)` : `${reason} (gave up after ${maxRetries} restarts)`;
          this.logger.error({ err }, `connector failed: ${why}`);
          return this.final({ state: 'failed', since: new Date(), reason: why, error: err });
        }
        const delayMs = backoffDelay(attempt, this.settings.restartInitialMs, this.settings.restartMaxMs, this.o.random);
        this.stats.restarts += 1;
        this.setStatus({ state: 'restarting', since: new Date(), attempt, reason, retryAt: new Date(Date.now() + delayMs) });
        this.logger.warn({ attempt, delayMs, reason }, `retriable failure; restarting the connector in ${delayMs} ms`);
        await this.sleep(delayMs);
      }
    }
  }

  private async final(status: ConnectorStatus): Promise<ConnectorStatus> {
    const kept = this.keptSink;
    this.keptSink = null;
    if (kept) await this.closeSink(kept);
    this.setStatus(status);
    return status;
  }

  private async closeSink(sink: Sink): Promise<void> {
    const timeout = this.o.shutdownTimeoutMs ?? 30000;
    await withTimeout(sink.close(), timeout, () => this.logger.warn('sink.close() timed out')).catch((err: unknown) =>
      this.logger.warn({ err }, 'closing the sink failed'),
    );
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wakeSleep = null;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wakeSleep = done;
    });
  }

  /** One start: factories → validate → sink.open (last offset) → pipeline; always closes what it opened. */
  private async lifetime(attempt: number): Promise<'ended' | 'stopped'> {
    const timeout = this.o.shutdownTimeoutMs ?? 30000;
    const ctx: ConnectorContext = { name: this.name, logger: this.logger, attempt };
    let source: Source | null = null;
    let sink: Sink | null = this.keptSink;
    const reusing = sink !== null;
    this.keptSink = null;
    let keepSink = false;
    let sinkFailed = false;
    let pipeline: Pipeline | null = null;
    let converter: RecordConverter | null = null;
    let sourceStopped: Promise<void> | null = null;
    const stopSource = () => {
      sourceStopped ??= source ? withTimeout(source.stop(), timeout, () => this.logger.warn('source.stop() timed out')) : Promise.resolve();
      return sourceStopped;
    };
    try {
      sink ??= await this.o.createSink(this.spec, ctx);
      converter = await this.o.createConverter(this.spec, ctx);
      source = await this.o.createSource(this.spec, ctx);
      if (this.stopRequested) return 'stopped';
      if ((this.o.validateOnStart ?? false) && attempt === 0) {
        const problems = await source.validate();
        for (const p of problems.filter((x) => x.severity === 'warning')) this.logger.warn(p.message);
        const errors = problems.filter((x) => x.severity === 'error');
        if (errors.length > 0) {
          throw new PrerequisiteError(
            `the database is not ready for CDC:\n${errors.map((p) => `  - ${p.message}`).join('\n')}`,
            { context: { connector: this.name, problems: errors.map((p) => p.message) } },
          );
        }
      }
      let offset;
      try {
        offset = reusing && sink.reopen ? await sink.reopen() : await sink.open();
      } catch (err) {
        sinkFailed = true;
        throw err;
      }
      if (this.stopRequested) return 'stopped';
      this.logger.info({ resumeFrom: offset, attempt }, offset === null ? 'starting with no stored offset' : 'resuming from the stored offset');
      pipeline = new Pipeline({
        source,
        converter,
        sink,
        startOffset: offset,
        settings: this.settings,
        logger: this.logger,
        stopSource,
        shutdownTimeoutMs: timeout,
        onCommit: (cycle) => {
          this.stats.commits += 1;
          this.stats.events += cycle.events.length;
          this.stats.lastCommitAt = new Date();
        },
        ...(this.o.now ? { now: this.o.now } : {}),
      });
      this.pipeline = pipeline;
      if (this.stopRequested) pipeline.requestStop();
      else this.setStatus({ state: 'running', since: new Date() });
      return await pipeline.run();
    } catch (err) {
      // A retriable failure outside the sink (database connection lost...) keeps a sink that can prove it still
      // owns the output: a new one would fence whichever instance took over meanwhile.
      keepSink = sink?.reopen !== undefined && !sinkFailed && !(pipeline?.sinkFailed ?? false) && isRetriable(err) && !this.stopRequested;
      throw err;
    } finally {
      this.pipeline = null;
      await stopSource().catch((err: unknown) => this.logger.warn({ err }, 'stopping the source failed'));
      if (sink && keepSink) this.keptSink = sink;
      else if (sink) await this.closeSink(sink);
      if (converter?.close) {
        await converter.close().catch((err: unknown) => this.logger.warn({ err }, 'closing the converter failed'));
      }
    }
  }
}
