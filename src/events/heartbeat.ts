import type { ChangeEvent } from './change-event.js';
import { Schema, type ConnectSchema } from './schema.js';
import { heartbeatTopic } from './topics.js';

/**
 * Heartbeat records (`heartbeat.interval.ms` > 0), as Debezium's HeartbeatImpl and SchemaFactory define them:
 *
 *   topic  `__debezium-heartbeat.<topic.prefix>` (topic.heartbeat.prefix / topic.heartbeat.name change it)
 *   key    io.debezium.connector.common.ServerNameKey v1 { serverName: string } = topic.prefix
 *   value  io.debezium.connector.common.Heartbeat v1 { ts_ms: int64 }
 *   partition 0
 */

export const HEARTBEAT_KEY_SCHEMA: ConnectSchema = Schema.struct(
  'io.debezium.connector.common.ServerNameKey',
  [Schema.field('serverName', Schema.string())],
  { version: 1 },
);

export const HEARTBEAT_VALUE_SCHEMA: ConnectSchema = Schema.struct(
  'io.debezium.connector.common.Heartbeat',
  [Schema.field('ts_ms', Schema.int64())],
  { version: 1 },
);

export interface HeartbeatOptions {
  /** topic.heartbeat.prefix (default `__debezium-heartbeat`) */
  readonly heartbeatPrefix?: string;
  /** topic.heartbeat.name: the full topic name, overriding prefix + topic.prefix */
  readonly topicName?: string;
}

export function heartbeatEvent(topicPrefix: string, tsMs: bigint, options: HeartbeatOptions = {}): ChangeEvent {
  return {
    topic: heartbeatTopic(topicPrefix, options.heartbeatPrefix, options.topicName),
    keySchema: HEARTBEAT_KEY_SCHEMA,
    key: { serverName: topicPrefix },
    valueSchema: HEARTBEAT_VALUE_SCHEMA,
    value: { ts_ms: tsMs },
    partition: 0,
  };
}
