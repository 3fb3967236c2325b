import type { ChangeEvent, JsonValue } from './change-event.js';
import type { TransactionBlock } from './envelope.js';
import { Schema, type ConnectSchema, type StructValue } from './schema.js';
import { transactionTopic } from './topics.js';

/**
 * Transaction metadata (`provide.transaction.metadata=true`), as Debezium's TransactionMonitor and
 * SchemaFactory define it (3.6.1.Final):
 *
 *   topic  `<topic.prefix>.transaction`
 *   key    io.debezium.connector.common.TransactionMetadataKey v1 { id: string }
 *   value  io.debezium.connector.common.TransactionMetadataValue v1
 *          { status: string (BEGIN|END), id: string, event_count: optional int64,
 *            data_collections: optional array of event.collection v1 { data_collection: string, event_count: int64 },
 *            ts_ms: int64 }
 *
 * BEGIN carries neither event_count nor data_collections (null); END carries the totals. Every data event of the
 * transaction gets the `transaction` block { id, total_order, data_collection_order }, both orders counted from 1.
 * Postgres writes the id as `<txId>:<LSN>` with the LSN last seen when each record is made (so BEGIN, the data
 * events and END of one transaction may carry different LSNs: pass `id` to block()/end()); MySQL/MariaDB write the
 * GTID (or file/position when GTIDs are off).
 *
 * Use one `TransactionTracker` per connector: begin() → block(collection) per event → end(). Its `state()` goes into
 * the source offset so that a transaction split across commit cycles keeps counting after a restart.
 */

export const TRANSACTION_KEY_SCHEMA: ConnectSchema = Schema.struct(
  'io.debezium.connector.common.TransactionMetadataKey',
  [Schema.field('id', Schema.string())],
  { version: 1 },
);

export const EVENT_COUNT_PER_DATA_COLLECTION_SCHEMA: ConnectSchema = Schema.optional(
  Schema.struct(
    'event.collection',
    [Schema.field('data_collection', Schema.string()), Schema.field('event_count', Schema.int64())],
    { version: 1 },
  ),
);

export const TRANSACTION_VALUE_SCHEMA: ConnectSchema = Schema.struct(
  'io.debezium.connector.common.TransactionMetadataValue',
  [
    Schema.field('status', Schema.string()),
    Schema.field('id', Schema.string()),
    Schema.field('event_count', Schema.optional(Schema.int64())),
    Schema.field('data_collections', Schema.optional(Schema.array(EVENT_COUNT_PER_DATA_COLLECTION_SCHEMA))),
    Schema.field('ts_ms', Schema.int64()),
  ],
  { version: 1 },
);

export type TransactionStatus = 'BEGIN' | 'END';

/** The `transaction` topic's BEGIN/END record. */
export function transactionEvent(
  topic: string,
  status: TransactionStatus,
  id: string,
  tsMs: bigint,
  counts?: { total: bigint; perCollection: ReadonlyMap<string, bigint> },
): ChangeEvent {
  const value: StructValue = {
    status,
    id,
    event_count: status === 'END' && counts ? counts.total : null,
    data_collections:
      status === 'END' && counts
        ? [...counts.perCollection].map(([data_collection, event_count]) => ({ data_collection, event_count }))
        : null,
    ts_ms: tsMs,
  };
  return { topic, keySchema: TRANSACTION_KEY_SCHEMA, key: { id }, valueSchema: TRANSACTION_VALUE_SCHEMA, value };
}

/** JSON-safe tracker state for the source offset (counts as decimal strings). */
export interface TransactionState {
  readonly id: string;
  readonly total: string;
  readonly perCollection: { readonly [collection: string]: string };
}

/** Counts the events of the transaction in progress and builds its metadata records. */
export class TransactionTracker {
  readonly topic: string;
  private id: string | null = null;
  private total = 0n;
  private perCollection = new Map<string, bigint>();

  constructor(topicPrefix: string, options: { topicName?: string } = {}) {
    this.topic = transactionTopic(topicPrefix, options.topicName);
  }

  get inProgress(): boolean {
    return this.id !== null;
  }

  get transactionId(): string | null {
    return this.id;
  }

  /** Starts a transaction; returns its BEGIN record. A transaction still open is ended first (its END comes first). */
  begin(id: string, tsMs: bigint): ChangeEvent[] {
    const out: ChangeEvent[] = [];
    if (this.id !== null) out.push(this.end(tsMs));
    this.id = id;
    this.total = 0n;
    this.perCollection = new Map();
    out.push(transactionEvent(this.topic, 'BEGIN', id, tsMs));
    return out;
  }

  /**
   * The `transaction` block for the next data event of `dataCollection` ('schema.table' / 'db.table'). `id`
   * overrides the id written in this block only (Postgres: `<txId>:<LSN of this event>`).
   */
  block(dataCollection: string, id?: string): TransactionBlock {
    if (this.id === null) throw new Error('TransactionTracker.block() outside a transaction: call begin() first');
    this.total += 1n;
    const order = (this.perCollection.get(dataCollection) ?? 0n) + 1n;
    this.perCollection.set(dataCollection, order);
    return { id: id ?? this.id, total_order: this.total, data_collection_order: order };
  }

  /** Ends the transaction in progress; returns its END record (`id` overrides the id written, as for block()). */
  end(tsMs: bigint, id?: string): ChangeEvent {
    if (this.id === null) throw new Error('TransactionTracker.end() outside a transaction');
    const event = transactionEvent(this.topic, 'END', id ?? this.id, tsMs, { total: this.total, perCollection: this.perCollection });
    this.id = null;
    this.total = 0n;
    this.perCollection = new Map();
    return event;
  }

  /** The state to store in the source offset (null when no transaction is open). */
  state(): (TransactionState & { [key: string]: JsonValue }) | null {
    if (this.id === null) return null;
    const perCollection: { [collection: string]: string } = {};
    for (const [k, v] of this.perCollection) perCollection[k] = v.toString();
    return { id: this.id, total: this.total.toString(), perCollection };
  }

  /** Continues a transaction from a stored state (no BEGIN is emitted again). */
  restore(state: TransactionState | null): void {
    if (state === null) {
      this.id = null;
      this.total = 0n;
      this.perCollection = new Map();
      return;
    }
    this.id = state.id;
    this.total = BigInt(state.total);
    this.perCollection = new Map(Object.entries(state.perCollection).map(([k, v]) => [k, BigInt(v)]));
  }
}
