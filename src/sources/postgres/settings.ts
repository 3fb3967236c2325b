import { compileRegexList } from '../../config/regex-list.js';
/**
 * The Postgres source's settings, read from a parsed ConnectorConfig (Debezium property names). A few properties
 * the shared config schema does not list yet are read from the loose config object here:
 *   money.fraction.digits (default 2), message.prefix.include.list / message.prefix.exclude.list,
 *   topic.heartbeat.prefix (Debezium's name; `heartbeat.topics.prefix` is accepted too),
 *   sluice.postgres.protocol.version (1 or 2; default 2 on Postgres 14+, else 1),
 *   sluice.postgres.spill.directory (where streamed in-progress transactions are spilled; default the OS temp dir).
 */
import { tmpdir } from 'node:os';
import type { ConnectorConfig } from '../../config/connector-config.js';
import { ConfigError } from '../../errors.js';
import type { TimePrecisionMode } from '../../events/logical.js';
import { parseMessageKeyColumns, type MessageKeyColumns } from '../../events/key-columns.js';
import { TableFilter, parseReplicaIdentityRules, type ReplicaIdentityRule } from './filters.js';
import type { PgConnectionOptions } from './replication-connection.js';
import type { MappingOptions } from './type-mapping.js';

export type SnapshotMode = 'initial' | 'initial_only' | 'no_data' | 'when_needed' | 'always';

export interface PgSettings {
  readonly connection: PgConnectionOptions;
  readonly topicPrefix: string;
  readonly database: string;
  readonly slotName: string;
  readonly dropSlotOnStop: boolean;
  readonly publicationName: string;
  readonly publicationMode: 'all_tables' | 'filtered' | 'disabled' | 'no_tables';
  readonly snapshotMode: SnapshotMode;
  readonly fetchSize: number;
  readonly maxBatchSize: number;
  readonly heartbeatIntervalMs: number;
  readonly heartbeatActionQuery: string | null;
  readonly heartbeatTopicPrefix: string;
  readonly statusIntervalMs: number;
  readonly filter: TableFilter;
  readonly mapping: MappingOptions;
  readonly tombstonesOnDelete: boolean;
  readonly provideTransactionMetadata: boolean;
  /** ops not emitted: c, u, d, t (Debezium's default skips truncates) */
  readonly skippedOperations: ReadonlySet<string>;
  readonly messageKeyColumns: MessageKeyColumns | null;
  readonly replicaIdentityRules: readonly ReplicaIdentityRule[];
  readonly messagePrefixInclude: readonly RegExp[] | null;
  readonly messagePrefixExclude: readonly RegExp[] | null;
  readonly protocolVersion: 1 | 2 | null;
  readonly spillDirectory: string;
}

function extra(config: ConnectorConfig, key: string): unknown {
  return (config as Record<string, unknown>)[key];
}

function regexList(value: unknown, key: string): RegExp[] | null {
  if (value === undefined || value === null || value === '') return null;
  const items = (Array.isArray(value) ? value.map(String) : String(value).split(',')).map((s) => s.trim()).filter(Boolean);
  return compileRegexList(items, key);
}

export function readSettings(config: ConnectorConfig): PgSettings {
  const database = config['database.dbname'];
  if (!database) throw new ConfigError('database.dbname is required for a Postgres connector (the database to capture)');
  const sslmode = config['database.sslmode'];
  const ssl = sslmode === 'disable' || sslmode === undefined ? undefined : sslmode === 'verify-ca' || sslmode === 'verify-full' ? { rejectUnauthorized: true } : { rejectUnauthorized: false };
  const rawMode = config['snapshot.mode'];
  let snapshotMode: SnapshotMode;
  switch (rawMode) {
    case 'never':
    case 'no_data':
    case 'schema_only':
      snapshotMode = 'no_data';
      break;
    case 'initial':
    case 'initial_only':
    case 'when_needed':
    case 'always':
      snapshotMode = rawMode;
      break;
    default:
      throw new ConfigError(`snapshot.mode=${String(rawMode)} is not supported by the Postgres source (use initial, initial_only, no_data, when_needed or always)`);
  }
  const skipped = config['skipped.operations'];
  const skippedOperations = new Set<string>(
    skipped === undefined ? ['t'] : skipped.map((s) => s.toLowerCase()).filter((s) => s !== 'none'),
  );
  const moneyDigitsRaw = extra(config, 'money.fraction.digits');
  const moneyFractionDigits = moneyDigitsRaw === undefined ? 2 : Number(moneyDigitsRaw);
  if (!Number.isInteger(moneyFractionDigits) || moneyFractionDigits < 0) throw new ConfigError('money.fraction.digits must be a whole number ≥ 0');
  const protoRaw = extra(config, 'sluice.postgres.protocol.version');
  const protocolVersion = protoRaw === undefined ? null : Number(protoRaw) === 1 ? 1 : Number(protoRaw) === 2 ? 2 : null;
  if (protoRaw !== undefined && protocolVersion === null) throw new ConfigError('sluice.postgres.protocol.version must be 1 or 2');
  const timeMode = (config['time.precision.mode'] ?? 'adaptive') as TimePrecisionMode;
  const heartbeatPrefix = (extra(config, 'topic.heartbeat.prefix') as string | undefined) ?? config['heartbeat.topics.prefix'] ?? '__debezium-heartbeat';
  return {
    connection: {
      host: config['database.hostname'],
      port: config['database.port'] ?? 5432,
      user: config['database.user'],
      password: config['database.password'] ?? '',
      database,
      ...(ssl === undefined ? {} : { ssl }),
      applicationName: `sluice-${config['topic.prefix']}`,
    },
    topicPrefix: config['topic.prefix'],
    database,
    slotName: config['slot.name'],
    dropSlotOnStop: config['slot.drop.on.stop'],
    publicationName: config['publication.name'],
    publicationMode: config['publication.autocreate.mode'],
    snapshotMode,
    fetchSize: config['snapshot.fetch.size'],
    maxBatchSize: config['max.batch.size'],
    heartbeatIntervalMs: config['heartbeat.interval.ms'] ?? 10_000,
    heartbeatActionQuery: config['heartbeat.action.query'] ?? null,
    heartbeatTopicPrefix: heartbeatPrefix,
    statusIntervalMs: config['status.update.interval.ms'],
    filter: new TableFilter({
      schemaInclude: config['schema.include.list'],
      schemaExclude: config['schema.exclude.list'],
      tableInclude: config['table.include.list'],
      tableExclude: config['table.exclude.list'],
      columnInclude: config['column.include.list'],
      columnExclude: config['column.exclude.list'],
    }),
    mapping: {
      decimalMode: config['decimal.handling.mode'],
      binaryMode: config['binary.handling.mode'],
      timePrecisionMode: timeMode,
      intervalMode: config['interval.handling.mode'],
      hstoreMode: config['hstore.handling.mode'],
      moneyFractionDigits,
      placeholder: config['unavailable.value.placeholder'],
    },
    tombstonesOnDelete: config['tombstones.on.delete'],
    provideTransactionMetadata: config['provide.transaction.metadata'],
    skippedOperations,
    messageKeyColumns: parseMessageKeyColumns(config['message.key.columns']),
    replicaIdentityRules: parseReplicaIdentityRules(config['replica.identity.autoset.values']),
    messagePrefixInclude: regexList(extra(config, 'message.prefix.include.list'), 'message.prefix.include.list'),
    messagePrefixExclude: regexList(extra(config, 'message.prefix.exclude.list'), 'message.prefix.exclude.list'),
    protocolVersion,
    spillDirectory: (extra(config, 'sluice.postgres.spill.directory') as string | undefined) ?? tmpdir(),
  };
}
