import { Logical, Schema, type ConnectSchema, type StructValue } from './schema.js';

/**
 * The `source` block of each connector, field for field and in the order Debezium writes it (checked against
 * Debezium 3.6.1.Final: AbstractSourceInfoStructMaker / SchemaFactory.sourceInfoSchemaBuilder, which gives the struct
 * `version: 1`; PostgresSourceInfoStructMaker, which since 3.5 ends with `origin` and `origin_lsn`;
 * BinlogSourceInfoStructMaker for MySQL and MariaDB). `ts_us` and `ts_ns` follow `sequence`.
 */
export type ConnectorName = 'postgresql' | 'mysql' | 'mariadb';

/** The Debezium version Sluice's envelopes are compatible with; written to `source.version`. */
export const DEBEZIUM_COMPAT_VERSION = '3.6.1.Final';

/** Debezium's SnapshotRecord values, lower-cased, in its enum order (the `allowed` parameter of the Enum schema). */
export const SNAPSHOT_VALUES = ['true', 'first', 'first_in_data_collection', 'last_in_data_collection', 'last', 'false', 'incremental'] as const;
export type SnapshotMarker = (typeof SNAPSHOT_VALUES)[number];

const snapshotSchema: ConnectSchema = {
  type: 'string',
  optional: true,
  name: Logical.Enum,
  version: 1,
  parameters: { allowed: SNAPSHOT_VALUES.join(',') },
  defaultValue: 'false',
};

const common = [
  Schema.field('version', Schema.string()),
  Schema.field('connector', Schema.string()),
  Schema.field('name', Schema.string()),
  Schema.field('ts_ms', Schema.int64()),
  Schema.field('snapshot', snapshotSchema),
  Schema.field('db', Schema.string()),
  Schema.field('sequence', Schema.optional(Schema.string())),
  Schema.field('ts_us', Schema.optional(Schema.int64())),
  Schema.field('ts_ns', Schema.optional(Schema.int64())),
];

export const POSTGRES_SOURCE_SCHEMA: ConnectSchema = Schema.struct(
  'io.debezium.connector.postgresql.Source',
  [
    ...common,
    Schema.field('schema', Schema.string()),
    Schema.field('table', Schema.string()),
    Schema.field('txId', Schema.optional(Schema.int64())),
    Schema.field('lsn', Schema.optional(Schema.int64())),
    Schema.field('xmin', Schema.optional(Schema.int64())),
    Schema.field('origin', Schema.optional(Schema.string())),
    Schema.field('origin_lsn', Schema.optional(Schema.int64())),
  ],
  { version: 1 },
);

const binlogFields = [
  ...common,
  Schema.field('table', Schema.optional(Schema.string())),
  Schema.field('server_id', Schema.int64()),
  Schema.field('gtid', Schema.optional(Schema.string())),
  Schema.field('file', Schema.string()),
  Schema.field('pos', Schema.int64()),
  Schema.field('row', Schema.int32()),
  Schema.field('thread', Schema.optional(Schema.int64())),
  Schema.field('query', Schema.optional(Schema.string())),
];

export const MYSQL_SOURCE_SCHEMA: ConnectSchema = Schema.struct('io.debezium.connector.mysql.Source', binlogFields, { version: 1 });
export const MARIADB_SOURCE_SCHEMA: ConnectSchema = Schema.struct('io.debezium.connector.mariadb.Source', binlogFields, {
  version: 1,
});

export function sourceSchemaFor(connector: ConnectorName): ConnectSchema {
  if (connector === 'postgresql') return POSTGRES_SOURCE_SCHEMA;
  return connector === 'mysql' ? MYSQL_SOURCE_SCHEMA : MARIADB_SOURCE_SCHEMA;
}

/** Event time with microsecond precision; ts_ms/ts_us/ts_ns are derived from it. */
export interface EventTime {
  /** microseconds since the epoch */
  readonly micros: bigint;
}

export function timeFields(micros: bigint): { ts_ms: bigint; ts_us: bigint; ts_ns: bigint } {
  const ms = micros / 1000n;
  // floor, like Instant.toEpochMilli (only matters before 1970)
  return { ts_ms: micros < 0n && ms * 1000n !== micros ? ms - 1n : ms, ts_us: micros, ts_ns: micros * 1000n };
}

export interface PostgresSourceInfo {
  /** topic.prefix */
  readonly name: string;
  /** commit time of the transaction (micros since epoch) */
  readonly commitMicros: bigint;
  readonly snapshot: SnapshotMarker;
  readonly db: string;
  readonly schema: string;
  readonly table: string;
  readonly txId: bigint | null;
  readonly lsn: bigint | null;
  readonly lastCommitLsn: bigint | null;
  readonly xmin?: bigint | null;
  /** replication origin of the transaction (pgoutput ORIGIN message), if any */
  readonly originName?: string | null;
  readonly originLsn?: bigint | null;
}

export function postgresSource(info: PostgresSourceInfo): StructValue {
  const t = timeFields(info.commitMicros);
  const sequence = JSON.stringify([
    info.lastCommitLsn === null ? null : info.lastCommitLsn.toString(),
    info.lsn === null ? null : info.lsn.toString(),
  ]);
  // Debezium leaves txId, lsn and xmin out of incremental-snapshot reads.
  const incremental = info.snapshot === 'incremental';
  return {
    version: DEBEZIUM_COMPAT_VERSION,
    connector: 'postgresql',
    name: info.name,
    ts_ms: t.ts_ms,
    snapshot: info.snapshot,
    db: info.db,
    sequence,
    ts_us: t.ts_us,
    ts_ns: t.ts_ns,
    schema: info.schema,
    table: info.table,
    txId: incremental ? null : info.txId,
    lsn: incremental ? null : info.lsn,
    xmin: incremental ? null : (info.xmin ?? null),
    origin: info.originName ?? null,
    origin_lsn: info.originLsn ?? null,
  };
}

export interface BinlogSourceInfo {
  readonly connector: 'mysql' | 'mariadb';
  readonly name: string;
  /** event time from the binlog header (seconds resolution there; micros here) */
  readonly eventMicros: bigint;
  readonly snapshot: SnapshotMarker;
  readonly db: string;
  readonly table: string | null;
  readonly serverId: bigint;
  readonly gtid: string | null;
  readonly file: string;
  readonly pos: bigint;
  readonly row: number;
  readonly thread: bigint | null;
  readonly query: string | null;
}

export function binlogSource(info: BinlogSourceInfo): StructValue {
  const t = timeFields(info.eventMicros);
  return {
    version: DEBEZIUM_COMPAT_VERSION,
    connector: info.connector,
    name: info.name,
    ts_ms: t.ts_ms,
    snapshot: info.snapshot,
    db: info.db,
    sequence: null,
    ts_us: t.ts_us,
    ts_ns: t.ts_ns,
    table: info.table,
    server_id: info.serverId,
    gtid: info.gtid,
    file: info.file,
    pos: info.pos,
    row: info.row,
    thread: info.thread,
    query: info.query,
  };
}
