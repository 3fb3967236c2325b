import { z } from 'zod';

/**
 * A connector's configuration, keyed by Debezium's own property names so a Debezium connector config runs
 * unchanged. Kafka Connect passes every value as a string; these schemas accept both strings and native values.
 * Sources read the parsed object (`ConnectorConfig`); unknown keys are kept and reported by the config loader
 * (see `properties.ts` for the table of supported keys, `load.ts` for the loader).
 *
 * Messages are written to follow a field path, e.g. `connectors[0].config.snapshot.mode: must be one of: ...`.
 */

const TRUE_FALSE = /^(true|false)$/i;
const WHOLE = /^\s*-?\d+\s*$/;

const bool = (fallback: boolean) =>
  z
    .preprocess(
      (v) => (typeof v === 'string' && TRUE_FALSE.test(v.trim()) ? v.trim().toLowerCase() === 'true' : v),
      z.boolean({ error: 'must be true or false' }),
    )
    .default(fallback);

const wholeNumber = (min: number) =>
  z.preprocess(
    (v) => (typeof v === 'string' && WHOLE.test(v) ? Number(v) : v),
    z
      .number({ error: 'must be a whole number' })
      .int({ error: 'must be a whole number' })
      .min(min, { error: `must be at least ${min}` }),
  );

const int = (fallback: number, min = 0) => wholeNumber(min).default(fallback);

const optionalInt = (min = 0) => wholeNumber(min).optional();

/** Debezium's comma-separated regex lists (a YAML list is accepted too). */
const list = z
  .union([z.string(), z.array(z.string())], { error: 'must be a comma-separated string or a list of strings' })
  .transform((v) => (Array.isArray(v) ? v : v.split(',')).map((s) => s.trim()).filter((s) => s.length > 0))
  .optional();

const text = () => z.string({ error: 'must be a string' });
const nonEmpty = () => text().min(1, { error: 'must not be empty' });

export const POSTGRES_CLASS = 'io.debezium.connector.postgresql.PostgresConnector';
export const MYSQL_CLASS = 'io.debezium.connector.mysql.MySqlConnector';
export const MARIADB_CLASS = 'io.debezium.connector.mariadb.MariaDbConnector';

export type ConnectorKind = 'postgresql' | 'mysql' | 'mariadb';

const connectorClass = z
  .enum([POSTGRES_CLASS, MYSQL_CLASS, MARIADB_CLASS, 'postgres', 'postgresql', 'mysql', 'mariadb'])
  .transform((v): ConnectorKind => {
    if (v === POSTGRES_CLASS || v === 'postgres' || v === 'postgresql') return 'postgresql';
    if (v === MYSQL_CLASS || v === 'mysql') return 'mysql';
    return 'mariadb';
  });

/** Kafka Connect converter classes Sluice implements, with short aliases. */
export const JSON_CONVERTER_CLASS = 'org.apache.kafka.connect.json.JsonConverter';
export const AVRO_CONVERTER_CLASS = 'io.confluent.connect.avro.AvroConverter';
const converterClass = z.enum([JSON_CONVERTER_CLASS, AVRO_CONVERTER_CLASS, 'json', 'avro']).optional();

export const connectorConfigShape = {
  'connector.class': connectorClass,
  'topic.prefix': text().regex(/^[A-Za-z0-9._-]+$/, { error: 'may hold only letters, digits, ".", "_" and "-"' }),
  /** Kafka Connect's task count; Debezium's Postgres and MySQL connectors always run one task. Accepted, ignored. */
  'tasks.max': int(1, 1),

  'database.hostname': nonEmpty(),
  'database.port': optionalInt(1),
  'database.user': nonEmpty(),
  'database.password': text().default(''),
  /** Postgres: the database to capture. */
  'database.dbname': text().optional(),
  'database.sslmode': z.enum(['disable', 'prefer', 'require', 'verify-ca', 'verify-full']).default('disable'),
  /** MySQL/MariaDB: this replica's server id; must differ from the server's. */
  'database.server.id': int(184054, 1),
  'database.connectionTimeZone': text().optional(),

  'database.include.list': list,
  'database.exclude.list': list,
  'schema.include.list': list,
  'schema.exclude.list': list,
  'table.include.list': list,
  'table.exclude.list': list,
  'column.include.list': list,
  'column.exclude.list': list,
  /** `db.table:col1,col2;db.other:colA` */
  'message.key.columns': text().optional(),

  'snapshot.mode': z
    .enum(['initial', 'initial_only', 'no_data', 'never', 'when_needed', 'always', 'recovery', 'schema_only', 'schema_only_recovery'])
    .default('initial'),
  'snapshot.locking.mode': z.enum(['minimal', 'none', 'extended', 'shared']).default('minimal'),
  'snapshot.fetch.size': int(10240, 1),

  'decimal.handling.mode': z.enum(['precise', 'string', 'double']).default('precise'),
  'time.precision.mode': z.enum(['adaptive', 'adaptive_time_microseconds', 'connect', 'isostring', 'microseconds', 'nanoseconds']).optional(),
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
  'heartbeat.action.query': text().optional(),
  'heartbeat.topics.prefix': text().default('__debezium-heartbeat'),

  // Postgres
  'plugin.name': z.literal('pgoutput', { error: 'must be pgoutput (the only logical decoding plugin Sluice reads)' }).default('pgoutput'),
  'slot.name': text().regex(/^[a-z0-9_]{1,63}$/, { error: 'must be 1-63 lower-case letters, digits or "_"' }).default('debezium'),
  'slot.drop.on.stop': bool(false),
  'publication.name': text().default('dbz_publication'),
  'publication.autocreate.mode': z.enum(['all_tables', 'filtered', 'disabled', 'no_tables']).default('all_tables'),
  'unavailable.value.placeholder': text().default('__debezium_unavailable_value'),
  /** `schema.table:FULL,schema.other:DEFAULT` */
  'replica.identity.autoset.values': text().optional(),
  'status.update.interval.ms': int(10000, 1),

  // Sluice's own engine knobs (Debezium's names where it has one)
  'max.batch.size': int(10000, 1),
  'commit.interval.ms': int(100, 1),
  'max.queue.size': int(20000, 1),

  // Restarts after retriable failures (Debezium's names; Sluice backs off exponentially from the initial wait)
  /** -1: retry forever; 0: never restart; n: at most n restarts in a row without progress. */
  'errors.max.retries': int(-1, -1),
  /** The first restart delay; it doubles per attempt up to `restart.backoff.max.ms`. */
  'retriable.restart.connector.wait.ms': int(1000, 0),
  'restart.backoff.max.ms': int(60000, 1),

  // Converters, Kafka Connect names
  'key.converter': converterClass,
  'value.converter': converterClass,
  'key.converter.schemas.enable': bool(true),
  'value.converter.schemas.enable': bool(true),
  'key.converter.schema.registry.url': text().optional(),
  'value.converter.schema.registry.url': text().optional(),
};

export const connectorConfigSchema = z
  .object(connectorConfigShape)
  .loose()
  .superRefine(
    (cfg, ctx) => {
      // runs even when other fields failed, so every problem is reported at once
      const kind = cfg['connector.class'] as unknown;
      const postgres = kind === 'postgresql' || kind === 'postgres' || kind === POSTGRES_CLASS;
      if (postgres && (typeof cfg['database.dbname'] !== 'string' || cfg['database.dbname'] === '')) {
        ctx.addIssue({ code: 'custom', path: ['database.dbname'], message: 'is required for a Postgres connector (the database to capture)' });
      }
      const batch = cfg['max.batch.size'] as unknown;
      const queue = cfg['max.queue.size'] as unknown;
      if (typeof batch === 'number' && typeof queue === 'number' && queue < batch) {
        ctx.addIssue({ code: 'custom', path: ['max.queue.size'], message: `must be at least max.batch.size (${batch})` });
      }
    },
    { when: () => true },
  );

export type ConnectorConfig = z.output<typeof connectorConfigSchema>;

/** Parses a config, throwing zod's error; the loader in config/ turns it into a readable ConfigError. */
export function parseConnectorConfig(input: Record<string, unknown>): ConnectorConfig {
  return connectorConfigSchema.parse(input);
}
