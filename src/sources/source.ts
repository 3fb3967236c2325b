import type { SourceBatch, SourceOffset } from '../events/change-event.js';

/** A problem found by `validate`: what is wrong and exactly what to change. */
export interface Problem {
  readonly severity: 'error' | 'warning';
  readonly message: string;
  /**
   * The problem may clear by itself (a replication slot still held by an instance that is being fenced, or by a
   * crashed one whose server process has not exited yet): at start-up the connector retries instead of failing.
   */
  readonly transient?: boolean;
}

/**
 * One database connector's source side. The engine drives it:
 *   validate() → start(storedOffset) → iterate batches → acknowledge(offset) after each commit → stop().
 * A source never confirms a position to its database except through `acknowledge`, which the engine calls only
 * after the batch holding that position is durably committed in the sink.
 */
export interface Source {
  /** Debezium's connector name: `postgresql`, `mysql` or `mariadb`. */
  readonly connector: 'postgresql' | 'mysql' | 'mariadb';
  /** Checks configuration and database prerequisites without changing anything. */
  validate(): Promise<Problem[]>;
  /**
   * Streams batches from `offset` (null: nothing stored yet, follow `snapshot.mode`). The iterator ends only when
   * the source is stopped or the snapshot mode says to stop (initial_only); errors are thrown from it.
   */
  stream(offset: SourceOffset | null): AsyncIterable<SourceBatch>;
  /** The batch carrying `offset` is committed: the source may release it (Postgres: flush LSN). */
  acknowledge(offset: SourceOffset): Promise<void>;
  stop(): Promise<void>;
}
