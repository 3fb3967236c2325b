import type { ChangeEvent } from './change-event.js';
import { TRANSACTION_BLOCK_SCHEMA, type TransactionBlock } from './envelope.js';
import { binarySchema, type BinaryHandlingMode } from './logical.js';
import { Schema, type ConnectSchema, type StructValue } from './schema.js';
import { messageTopic } from './topics.js';
import { binaryValue } from './values.js';

/**
 * Postgres logical decoding message events (`pg_logical_emit_message`, op 'm'), as Debezium's
 * LogicalDecodingMessageMonitor and PostgresSchemaFactory define them (3.6.1.Final):
 *
 *   topic  `<topic.prefix>.message`
 *   key    io.debezium.connector.postgresql.MessageKey v1 { prefix: optional string }
 *   value  io.debezium.connector.postgresql.MessageValue v1
 *          { op: string, ts_ms: optional int64, source, transaction: optional event.block,
 *            message: io.debezium.connector.postgresql.Message v1 { prefix: optional string,
 *                                                                   content: optional bytes (per binary.handling.mode) } }
 *
 * Unlike table envelopes the message value has no before/after and no ts_us/ts_ns. The source block carries empty
 * `schema` and `table`; non-transactional messages have a null txId and no transaction block.
 */

export function messageBlockSchema(binaryMode: BinaryHandlingMode = 'bytes'): ConnectSchema {
  return Schema.struct(
    'io.debezium.connector.postgresql.Message',
    [
      Schema.field('prefix', Schema.optional(Schema.string())),
      Schema.field('content', Schema.optional(binarySchema(binaryMode))),
    ],
    { version: 1 },
  );
}

export const MESSAGE_KEY_SCHEMA: ConnectSchema = Schema.struct(
  'io.debezium.connector.postgresql.MessageKey',
  [Schema.field('prefix', Schema.optional(Schema.string()))],
  { version: 1 },
);

export function messageValueSchema(sourceSchema: ConnectSchema, binaryMode: BinaryHandlingMode = 'bytes'): ConnectSchema {
  return Schema.struct(
    'io.debezium.connector.postgresql.MessageValue',
    [
      Schema.field('op', Schema.string()),
      Schema.field('ts_ms', Schema.optional(Schema.int64())),
      Schema.field('source', sourceSchema),
      Schema.field('transaction', TRANSACTION_BLOCK_SCHEMA),
      Schema.field('message', messageBlockSchema(binaryMode)),
    ],
    { version: 1 },
  );
}

export interface LogicalMessage {
  readonly prefix: string;
  readonly content: Uint8Array;
  readonly source: StructValue;
  readonly transaction?: TransactionBlock | null;
  /** value ts_ms: the message's time (Debezium passes the commit/processing time in milliseconds) */
  readonly tsMs: bigint;
}

/** Builds message events for one connector; schemas are built once. */
export class MessageEnvelope {
  readonly topic: string;
  readonly keySchema = MESSAGE_KEY_SCHEMA;
  readonly valueSchema: ConnectSchema;
  private readonly binaryMode: BinaryHandlingMode;

  constructor(options: { topicPrefix: string; sourceSchema: ConnectSchema; binaryMode?: BinaryHandlingMode }) {
    this.topic = messageTopic(options.topicPrefix);
    this.binaryMode = options.binaryMode ?? 'bytes';
    this.valueSchema = messageValueSchema(options.sourceSchema, this.binaryMode);
  }

  event(message: LogicalMessage): ChangeEvent {
    return {
      topic: this.topic,
      keySchema: this.keySchema,
      key: { prefix: message.prefix },
      valueSchema: this.valueSchema,
      value: {
        op: 'm',
        ts_ms: message.tsMs,
        source: message.source,
        transaction: message.transaction ?? null,
        message: { prefix: message.prefix, content: binaryValue(message.content, this.binaryMode) },
      },
    };
  }
}
