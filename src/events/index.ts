/**
 * The event model in one import: Connect-style schemas, logical types and exact value helpers, Debezium's envelope,
 * source blocks, transaction metadata, heartbeats, logical decoding messages, schema change events, topic naming
 * and `message.key.columns`. See docs/events.md.
 */
export * from './schema.js';
export * from './change-event.js';
export * from './source-info.js';
export * from './envelope.js';
export * from './logical.js';
export * from './values.js';
export * from './temporal.js';
export * from './topics.js';
export * from './key-columns.js';
export * from './transaction.js';
export * from './heartbeat.js';
export * from './message.js';
export * from './schema-change.js';
