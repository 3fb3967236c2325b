import type { ConnectorConfig } from '../config/connector-config.js';
import type { ChangeEvent } from '../events/change-event.js';
import type { Logger } from '../observability/logger.js';
import type { Sink } from '../sinks/sink.js';
import type { Source } from '../sources/source.js';

/** Turns change events into record bytes (the converters in src/converters implement it). */
export interface RecordConverter {
  serializeKey(event: ChangeEvent): Promise<Buffer | null>;
  /** null for a tombstone */
  serializeValue(event: ChangeEvent): Promise<Buffer | null>;
  close?(): Promise<void>;
}

/** The engine knobs read from a connector's config (Debezium/Sluice property names); defaults apply when absent. */
export type EngineConfig = Partial<
  Pick<
    ConnectorConfig,
    | 'max.batch.size'
    | 'commit.interval.ms'
    | 'max.queue.size'
    | 'errors.max.retries'
    | 'retriable.restart.connector.wait.ms'
    | 'restart.backoff.max.ms'
  >
>;

/** What the engine needs of a connector; `ConnectorSpec` from src/config satisfies it. */
export interface EngineConnectorSpec {
  readonly name: string;
  readonly config: EngineConfig;
}

export interface EngineSettings {
  readonly maxBatchSize: number;
  readonly commitIntervalMs: number;
  readonly maxQueueSize: number;
  /** -1 = unlimited */
  readonly maxRetries: number;
  readonly restartInitialMs: number;
  readonly restartMaxMs: number;
}

export function engineSettings(config: EngineConfig): EngineSettings {
  return {
    maxBatchSize: config['max.batch.size'] ?? 10000,
    commitIntervalMs: config['commit.interval.ms'] ?? 100,
    maxQueueSize: config['max.queue.size'] ?? 20000,
    maxRetries: config['errors.max.retries'] ?? -1,
    restartInitialMs: config['retriable.restart.connector.wait.ms'] ?? 1000,
    restartMaxMs: config['restart.backoff.max.ms'] ?? 60000,
  };
}

/** Handed to the factories: the connector's name, its child logger, and which (re)start this is. */
export interface ConnectorContext {
  readonly name: string;
  readonly logger: Logger;
  /** 0 on the first start, n on the n-th consecutive restart. */
  readonly attempt: number;
}

/**
 * The pluggable parts. Each is called once per connector start (a restart gets fresh instances, so a sink
 * re-reads its last committed offset in `open()` and the source resumes from there).
 */
export interface EngineFactories<S extends EngineConnectorSpec = EngineConnectorSpec> {
  createSource(spec: S, ctx: ConnectorContext): Source | Promise<Source>;
  createConverter(spec: S, ctx: ConnectorContext): RecordConverter | Promise<RecordConverter>;
  createSink(spec: S, ctx: ConnectorContext): Sink | Promise<Sink>;
}

export type ConnectorState = 'starting' | 'running' | 'restarting' | 'stopping' | 'stopped' | 'failed';

export interface ConnectorStats {
  /** Commit cycles committed since the process started (all lifetimes). */
  readonly commits: number;
  readonly events: number;
  readonly lastCommitAt: Date | null;
  readonly restarts: number;
}

export type ConnectorStatus =
  | { readonly state: 'starting'; readonly since: Date }
  | { readonly state: 'running'; readonly since: Date }
  | { readonly state: 'restarting'; readonly since: Date; readonly attempt: number; readonly reason: string; readonly retryAt: Date }
  | { readonly state: 'stopping'; readonly since: Date }
  | { readonly state: 'stopped'; readonly since: Date; readonly reason: string }
  | { readonly state: 'failed'; readonly since: Date; readonly reason: string; readonly error: unknown };
