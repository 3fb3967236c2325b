import type { SourceOffset } from '../events/change-event.js';

/** A record after conversion: bytes as they go to Kafka (or a line in a file). */
export interface SerializedRecord {
  readonly topic: string;
  readonly key: Buffer | null;
  /** null = tombstone */
  readonly value: Buffer | null;
  readonly headers?: Readonly<Record<string, string>>;
  readonly timestampMs?: number;
  /** a fixed partition (heartbeats, schema changes go to 0 as in Debezium); otherwise by key */
  readonly partition?: number;
}

/**
 * Where a connector's records go. `commit` makes the records AND the offset durable together:
 * the Kafka sink does it in one transaction (records + offset record in the offsets topic); the stdout and file
 * sinks write the records, then the offset through a file offset store (at-least-once: a crash between the two
 * replays the last batch — documented).
 * The engine calls `Source.acknowledge(offset)` only after `commit` resolved.
 */
export interface Sink {
  /** Connects (Kafka: initTransactions, fencing older instances) and returns the last committed offset, or null. */
  open(): Promise<SourceOffset | null>;
  commit(records: readonly SerializedRecord[], offset: SourceOffset): Promise<void>;
  /**
   * Optional. Called instead of a new sink's `open()` when the connector restarts after a failure outside the
   * sink (database connection lost...): proves this instance still owns the connector's output and returns the
   * last committed offset. The Kafka sink re-commits that offset with its existing producer, so an instance that
   * another one fenced in the meantime learns it here and stops, instead of opening a new producer and fencing
   * the newer instance in turn.
   */
  reopen?(): Promise<SourceOffset | null>;
  close(): Promise<void>;
}
