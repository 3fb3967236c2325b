import { z } from 'zod';

/**
 * A connector's configuration, keyed by Debezium's own property names so a Debezium connector config runs
 * unchanged. Kafka Connect passes every value as a string; these schemas accept both strings and native values.
 * Sources read the parsed object (`ConnectorConfig`); unknown keys are kept and reported by the config loader.
 */

const bool = (fallback: boolean) =>
  z
    .union([z.boolean(), z.enum(['true', 'false', 'TRUE', 'FALSE', 'True', 'False'])])
    .transform((v) => (typeof v === 'boolean' ? v : v.toLowerCase() === 'true'))
    .default(fallback);

const int = (fallback: number, min = 0) =>
  z.union([z.number(), z.string().regex(/^-?\d+$/, 'must be a whole number')]).transform(Number).pipe(
    z.number().int().min(min),
  ).default(fallback);

const optionalInt = (min = 0) =>
  z.union([z.number(), z.string().regex(/^-?\d+$/, 'must be a whole number')]).transform(Number).pipe(
    z.number().int().min(min),
  ).optional();

/** Debezium's comma-separated regex lists. */
const list = z
  .union([z.string(), z.array(z.string())])
  .transform((v) => (Array.isArray(v) ? v : v.split(',')).map((s) => s.trim()).filter((s) => s.length > 0))
  .optional();

export const POSTGRES_CLASS = 'io.debezium.connector.postgresql.PostgresConnector';
export const MYSQL_CLASS = 'io.debezium.connector.mysql.MySqlConnector';
export const MARIADB_CLASS = 'io.debezium.connector.mariadb.MariaDbConnector';

const connectorClass = z
  .enum([POSTGRES_CLASS, MYSQL_CLASS, MARIADB_CLASS, 'postgres', 'postgresql', 'mysql', 'mariadb'])
  .transform((v): 'postgresql' | 'mysql' | 'mariadb' => {
    if (v === POSTGRES_CLASS || v === 'postgres' || v === 'postgresql') return 'postgresql';
    if (v === MYSQL_CLASS || v === 'mysql') return 'mysql';
    return 'mariadb';
  });

export const connectorConfigSchema = z
  .object({
    'connector.class': connectorClass,
    'topic.prefix': z.string().regex(/^[A-Za-z0-9._-]+$/, 'may hold only letters, digits, ".", "_" and "-"'),

    'database.hostname': z.string().min(1),
    'database.port': optionalInt(1),
    'database.user': z.string().min(1),
    'database.password': z.string().default(''),
    /** Postgres: the database to capture. */
    'database.dbname': z.string().optional(),
    'database.sslmode': z.enum(['disable', 'prefer', 'require', 'verify-ca', 'verify-full']).default('disable'),
    /** MySQL/MariaDB: this replica's server id; must differ from the server's. */
    'database.server.id': int(184054, 1),
    'database.connectionTimeZone': z.string().optional(),

    'database.include.list': list,
    'database.exclude.list': list,
    'schema.include.list': list,
    'schema.exclude.list': list,
    'table.include.list': list,
    'table.exclude.list': list,
    'column.include.list': list,
    'column.exclude.list': list,
    /** `db.table:col1,col2;db.other:colA` */
    'message.key.columns': z.string().optional(),

    'snapshot.mode': z
      .enum(['initial', 'initial_only', 'no_data', 'never', 'when_needed', 'always', 'recovery', 'schema_only', 'schema_only_recovery'])
      .default('initial'),
    'snapshot.locking.mode': z.enum(['minimal', 'none', 'extended', 'shared']).default('minimal'),
    'snapshot.fetch.size': int(10240, 1),

    'decimal.handling.mode': z.enum(['precise', 'string', 'double']).default('precise'),
    'time.precision.mode': z
      .enum(['adaptive', 'adaptive_time_microseconds', 'connect', 'isostring'])
      .optional(),
    'binary.handling.mode': z.enum(['bytes', 'base64', 'base64-url-safe', 'hex']).default('bytes'),
    'bigint.unsigned.handling.mode': z.enum(['long', 'precise']).default('long'),
    'interval.handling.mode': z.enum(['numeric', 'string']).default('numeric'),
    'hstore.handling.mode': z.enum(['json', 'map']).default('json'),
    'include.unknown.datatypes': bool(true),

    'tombstones.on.delete': bool(true),
    'provide.transaction.metadata': bool(false),
    'include.schema.changes': bool(true),
    'skipped.operations': list,

    /** 0 disables; Sluice defaults to 10 s for Postgres so idle slots do not hold WAL back. */
    'heartbeat.interval.ms': optionalInt(0),
    'heartbeat.action.query': z.string().optional(),
    'heartbeat.topics.prefix': z.string().default('__debezium-heartbeat'),

    // Postgres
    'plugin.name': z.literal('pgoutput').default('pgoutput'),
    'slot.name': z.string().regex(/^[a-z0-9_]{1,63}$/, 'must be 1-63 lower-case letters, digits or "_"').default('debezium'),
    'slot.drop.on.stop': bool(false),
    'publication.name': z.string().default('dbz_publication'),
    'publication.autocreate.mode': z.enum(['all_tables', 'filtered', 'disabled', 'no_tables']).default('all_tables'),
    'unavailable.value.placeholder': z.string().default('__debezium_unavailable_value'),
    /** `schema.table:FULL,schema.other:DEFAULT` */
    'replica.identity.autoset.values': z.string().optional(),
    'status.update.interval.ms': int(10000, 1),

    // Sluice's own engine knobs (Debezium's names where it has one)
    'max.batch.size': int(10000, 1),
    'commit.interval.ms': int(100, 1),
    'max.queue.size': int(20000, 1),

    // Converters, Kafka Connect names
    'key.converter': z.string().optional(),
    'value.converter': z.string().optional(),
    'key.converter.schemas.enable': bool(true),
    'value.converter.schemas.enable': bool(true),
    'key.converter.schema.registry.url': z.string().optional(),
    'value.converter.schema.registry.url': z.string().optional(),
  })
  .loose()
  .superRefine((cfg, ctx) => {
    if (cfg['connector.class'] === 'postgresql' && !cfg['database.dbname']) {
      ctx.addIssue({ code: 'custom', path: ['database.dbname'], message: 'is required for a Postgres connector (the database to capture)' });
    }
  });

export type ConnectorConfig = z.output<typeof connectorConfigSchema>;

/** Parses a config, throwing zod's error; the loader in config/ turns it into a readable ConfigError. */
export function parseConnectorConfig(input: Record<string, unknown>): ConnectorConfig {
  return connectorConfigSchema.parse(input);
}
