import type { ConnectSchema, StructValue } from './schema.js';

/**
 * A JSON-safe object naming a source position (Postgres LSN, binlog file/pos + GTID set, snapshot progress...).
 * Only the source that wrote it interprets it; the engine stores it verbatim next to the events it belongs to.
 * 64-bit numbers are stored as decimal strings so JSON keeps them exact.
 */
export type SourceOffset = { readonly [key: string]: JsonValue };
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** One record for the sink: a change envelope, a tombstone (value null), a schema change, a heartbeat... */
export interface ChangeEvent {
  readonly topic: string;
  readonly keySchema: ConnectSchema | null;
  readonly key: StructValue | null;
  readonly valueSchema: ConnectSchema | null;
  /** null = tombstone */
  readonly value: StructValue | null;
  readonly headers?: Readonly<Record<string, string>>;
  /** Milliseconds since epoch for the Kafka record timestamp; defaults to now. */
  readonly timestampMs?: number;
  /**
   * Kafka partition to write to; absent = the producer's partitioner (by key). Debezium pins schema change and
   * heartbeat records to partition 0, and so do the builders here.
   */
  readonly partition?: number;
}

/**
 * What a source hands the engine: events in source order, and the offset that becomes durable once these events
 * (and everything before them) are committed. `offset` must describe the position *after* the events, in a form
 * that lets the source resume without re-emitting them (for a transaction split across batches: where the
 * transaction began plus how many of its events are already out).
 */
export interface SourceBatch {
  readonly events: readonly ChangeEvent[];
  readonly offset: SourceOffset;
  /**
   * True when `offset` is a point the source may confirm to the database once committed (e.g. the end of a
   * source transaction). The engine always stores `offset`; it calls `Source.acknowledge` only for these.
   */
  readonly acknowledgeable?: boolean;
}
