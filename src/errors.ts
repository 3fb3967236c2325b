/**
 * Typed errors. Each carries the context a person needs to act (connector, table, position) and a message that
 * says what is wrong and how to fix it. `retriable` tells the engine whether restarting can help.
 */
export interface ErrorContext {
  readonly connector?: string;
  readonly table?: string;
  readonly position?: unknown;
  readonly [key: string]: unknown;
}

export class SluiceError extends Error {
  readonly context: ErrorContext;
  readonly retriable: boolean;
  constructor(message: string, options: { context?: ErrorContext; retriable?: boolean; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.context = options.context ?? {};
    this.retriable = options.retriable ?? false;
  }
}

/** The configuration is wrong; nothing was touched. */
export class ConfigError extends SluiceError {}

/** The database is reachable but not set up for CDC (wal_level, binlog format, grants...). */
export class PrerequisiteError extends SluiceError {}

/** A database or broker could not be reached or dropped the connection; restarting may help. */
export class ConnectionLostError extends SluiceError {
  constructor(message: string, options: { context?: ErrorContext; cause?: unknown } = {}) {
    super(message, { ...options, retriable: true });
  }
}

/** A stored offset cannot be resumed from (purged binlog, dropped slot...). */
export class OffsetError extends SluiceError {}

/** The Schema Registry refused a schema (incompatible or invalid); the connector stops without losing anything. */
export class SchemaEvolutionError extends SluiceError {}

/** Another instance of this connector took over (Kafka producer fenced). */
export class FencedError extends SluiceError {}

/** Bytes from the source could not be decoded. */
export class DecodeError extends SluiceError {}
