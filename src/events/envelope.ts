import type { ChangeEvent } from './change-event.js';
import { Schema, type ConnectSchema, type Field, type StructValue } from './schema.js';
import { timeFields } from './source-info.js';

/**
 * Builds Debezium envelopes for one captured table. A source maps its columns to Connect schemas once per table
 * version (see sources/*), creates a `TableEnvelope`, and calls `rowEvents` per row change (`truncateEvent` for a
 * Postgres TRUNCATE).
 *
 * Schemas, as Debezium's TableSchemaBuilder and Envelope build them (checked against 3.6.1.Final):
 *   key       `<topic>.Key`   struct of the key columns, required; no key columns → null key schema and key
 *   row       `<topic>.Value` struct of all columns, optional (used for `before` and `after`)
 *   envelope  `<topic>.Envelope` version 2: before, after, source, transaction, op, ts_ms, ts_us, ts_ns
 *             (op required, ts_* optional int64, transaction the optional `event.block` struct)
 * A primary-key change becomes a delete of the old key (header `__debezium.newkey`), its tombstone, and a create of
 * the new key (header `__debezium.oldkey`); header values are the keys as JSON text.
 */
export type Op = 'c' | 'u' | 'd' | 'r' | 't' | 'm';

export interface ColumnSchema {
  readonly name: string;
  readonly schema: ConnectSchema;
}

export interface TableEnvelopeOptions {
  /** `<topic.prefix>.<db|schema>.<table>` */
  readonly topic: string;
  readonly columns: readonly ColumnSchema[];
  /** key column names in key order; empty → null key */
  readonly keyColumns: readonly string[];
  readonly sourceSchema: ConnectSchema;
  readonly tombstonesOnDelete: boolean;
}

export interface TransactionBlock {
  readonly id: string;
  readonly total_order: bigint;
  readonly data_collection_order: bigint;
}

/** Debezium's transaction block (SchemaFactory.transactionBlockSchema): optional struct `event.block` v1. */
export const TRANSACTION_BLOCK_SCHEMA: ConnectSchema = Schema.optional(
  Schema.struct(
    'event.block',
    [
      Schema.field('id', Schema.string()),
      Schema.field('total_order', Schema.int64()),
      Schema.field('data_collection_order', Schema.int64()),
    ],
    { version: 1 },
  ),
);

export interface RowChange {
  readonly op: Exclude<Op, 't' | 'm'>;
  readonly before: StructValue | null;
  readonly after: StructValue | null;
  readonly source: StructValue;
  readonly transaction?: TransactionBlock | null;
  /** processing time in micros since epoch (envelope ts_*); defaults to now */
  readonly processedMicros?: bigint;
}

/** A truncate of the whole table (Postgres): key null, before/after null, op 't'. */
export interface TruncateChange {
  readonly source: StructValue;
  readonly transaction?: TransactionBlock | null;
  readonly processedMicros?: bigint;
}

export function nowMicros(): bigint {
  // Date.now() has millisecond resolution; performance.timeOrigin + now() gives sub-ms, good enough for ts_us.
  return BigInt(Math.round((performance.timeOrigin + performance.now()) * 1000));
}

export class TableEnvelope {
  readonly topic: string;
  readonly keySchema: ConnectSchema | null;
  readonly rowSchema: ConnectSchema;
  readonly envelopeSchema: ConnectSchema;
  private readonly keyColumns: readonly string[];
  private readonly tombstones: boolean;

  constructor(options: TableEnvelopeOptions) {
    this.topic = options.topic;
    this.keyColumns = options.keyColumns;
    this.tombstones = options.tombstonesOnDelete;
    const byName = new Map(options.columns.map((c) => [c.name, c] as const));
    const keyFields: Field[] = options.keyColumns.map((name) => {
      const column = byName.get(name);
      if (!column) throw new Error(`key column ${name} is not a column of ${options.topic}`);
      return Schema.field(name, column.schema);
    });
    this.keySchema = keyFields.length === 0 ? null : Schema.struct(`${options.topic}.Key`, keyFields);
    this.rowSchema = Schema.optional(
      Schema.struct(`${options.topic}.Value`, options.columns.map((c) => Schema.field(c.name, c.schema))),
    );
    this.envelopeSchema = Schema.struct(
      `${options.topic}.Envelope`,
      [
        Schema.field('before', this.rowSchema),
        Schema.field('after', this.rowSchema),
        Schema.field('source', options.sourceSchema),
        Schema.field('transaction', TRANSACTION_BLOCK_SCHEMA),
        Schema.field('op', Schema.string()),
        Schema.field('ts_ms', Schema.optional(Schema.int64())),
        Schema.field('ts_us', Schema.optional(Schema.int64())),
        Schema.field('ts_ns', Schema.optional(Schema.int64())),
      ],
      { version: 2 },
    );
  }

  keyOf(row: StructValue | null): StructValue | null {
    if (this.keySchema === null || row === null) return null;
    const key: StructValue = {};
    for (const name of this.keyColumns) key[name] = row[name] ?? null;
    return key;
  }

  private envelope(op: Op, change: RowChange | (TruncateChange & { before: null; after: null })): StructValue {
    const t = timeFields(change.processedMicros ?? nowMicros());
    return {
      before: change.before,
      after: change.after,
      source: change.source,
      transaction: change.transaction ?? null,
      op,
      ts_ms: t.ts_ms,
      ts_us: t.ts_us,
      ts_ns: t.ts_ns,
    };
  }

  private record(key: StructValue | null, value: StructValue | null, headers?: Record<string, string>): ChangeEvent {
    return {
      topic: this.topic,
      keySchema: this.keySchema,
      key,
      valueSchema: value === null ? null : this.envelopeSchema,
      value,
      ...(headers ? { headers } : {}),
    };
  }

  /**
   * The truncate event for this table: null key and key schema, `before` and `after` null, op 't' (Debezium's
   * Envelope.truncate). No tombstone follows.
   */
  truncateEvent(change: TruncateChange): ChangeEvent {
    // Debezium's EventDispatcher sends truncates with a null key *schema* too ("sent to table topics without keys").
    return { ...this.record(null, this.envelope('t', { ...change, before: null, after: null })), keySchema: null };
  }

  /**
   * The records for one row change: the envelope, plus a tombstone after a delete, and for an update that
   * changes the primary key a delete (+ tombstone) of the old key followed by a create of the new one, with
   * Debezium's `__debezium.newkey` / `__debezium.oldkey` headers (keys as JSON text).
   */
  rowEvents(change: RowChange): ChangeEvent[] {
    if (change.op === 'u' && this.keySchema !== null && change.before !== null && change.after !== null) {
      const oldKey = this.keyOf(change.before);
      const newKey = this.keyOf(change.after);
      if (!keysEqual(oldKey, newKey)) {
        const out: ChangeEvent[] = [
          this.record(oldKey, this.envelope('d', { ...change, after: null }), {
            '__debezium.newkey': keyHeader(newKey),
          }),
        ];
        if (this.tombstones) out.push(this.record(oldKey, null));
        out.push(
          this.record(newKey, this.envelope('c', { ...change, before: null }), { '__debezium.oldkey': keyHeader(oldKey) }),
        );
        return out;
      }
    }
    const key = this.keyOf(change.op === 'd' ? change.before : change.after);
    const out = [this.record(key, this.envelope(change.op, change))];
    if (change.op === 'd' && this.tombstones) out.push(this.record(key, null));
    return out;
  }
}

function keysEqual(a: StructValue | null, b: StructValue | null): boolean {
  return keyHeader(a) === keyHeader(b);
}

/** JSON text of a key struct with bigints and bytes made JSON-safe, used for headers and comparisons. */
export function keyHeader(key: StructValue | null): string {
  return JSON.stringify(key, (_k, v: unknown) => {
    if (typeof v === 'bigint') return v.toString();
    if (v instanceof Uint8Array) return Buffer.from(v).toString('base64');
    return v;
  });
}
