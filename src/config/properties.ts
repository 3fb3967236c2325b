import type { ConnectorKind } from './connector-config.js';

/**
 * THE table of Debezium (and Kafka Connect) connector properties Sluice knows. The config loader reports every
 * other key in one warning; `docs/debezium-properties.md` documents each row (a test keeps the two in sync).
 *
 * status:
 *   supported – Sluice honours the property (defaults are in `connector-config.ts`).
 *   ignored   – accepted so a Debezium config runs unchanged, but it has no effect in Sluice (see `note`).
 * A key ending in `.*` matches every key under that prefix.
 */
export type PropertyStatus = 'supported' | 'ignored';

export interface PropertyInfo {
  readonly key: string;
  readonly status: PropertyStatus;
  /** The connectors it applies to. */
  readonly connectors: readonly ConnectorKind[];
  /** Debezium's default where it differs from Sluice's (the doc shows both). */
  readonly debeziumDefault?: string;
  readonly note?: string;
}

const ALL: readonly ConnectorKind[] = ['postgresql', 'mysql', 'mariadb'];
const PG: readonly ConnectorKind[] = ['postgresql'];
const MY: readonly ConnectorKind[] = ['mysql', 'mariadb'];

const p = (
  key: string,
  connectors: readonly ConnectorKind[],
  extra: Partial<Pick<PropertyInfo, 'status' | 'debeziumDefault' | 'note'>> = {},
): PropertyInfo => ({ key, connectors, status: extra.status ?? 'supported', ...extra });

export const PROPERTIES: readonly PropertyInfo[] = [
  // Kafka Connect
  p('name', ALL, { note: 'The connector name; also accepted beside `config` as Kafka Connect posts it.' }),
  p('connector.class', ALL, { note: 'Also accepts the short names `postgres`, `postgresql`, `mysql`, `mariadb`.' }),
  p('tasks.max', ALL, { status: 'ignored', note: 'These connectors always run a single task.' }),

  // connection
  p('topic.prefix', ALL),
  p('database.server.name', ALL, { note: 'Debezium 1.x name of `topic.prefix`; used when `topic.prefix` is absent.' }),
  p('database.hostname', ALL),
  p('database.port', ALL, { note: 'Defaults to 5432 (Postgres) or 3306 (MySQL/MariaDB) in the source.' }),
  p('database.user', ALL),
  p('database.password', ALL, { note: 'Use `${ENV_VAR}` substitution; never logged.' }),
  p('database.dbname', PG),
  p('database.sslmode', PG, { debeziumDefault: 'prefer' }),
  p('database.server.id', MY, { debeziumDefault: '(required)', note: 'Sluice picks a default; set it when several replicas read one server.' }),
  p('database.connectionTimeZone', MY, { status: 'ignored', note: 'Not needed: Sluice reads TIMESTAMP columns in UTC on both the snapshot and the binlog path, whatever the server or session time zone.' }),
  p('binlog.resume.mode', MY, { debeziumDefault: '(none: Sluice only)', note: '`auto` (by GTID when the server has GTIDs, else by file/position), `gtid` or `position`.' }),

  // filters
  p('database.include.list', MY),
  p('database.exclude.list', MY),
  p('schema.include.list', PG),
  p('schema.exclude.list', PG),
  p('table.include.list', ALL),
  p('table.exclude.list', ALL),
  p('column.include.list', ALL),
  p('column.exclude.list', ALL),
  p('message.key.columns', ALL),

  // snapshot
  p('snapshot.mode', ALL),
  p('snapshot.locking.mode', ALL, { note: 'Values differ per connector in Debezium; the source rejects ones it cannot honour.' }),
  p('snapshot.fetch.size', ALL),

  // types
  p('decimal.handling.mode', ALL),
  p('time.precision.mode', ALL, { note: 'Unset: `adaptive` (Postgres) or `adaptive_time_microseconds` (MySQL/MariaDB), as Debezium.' }),
  p('binary.handling.mode', ALL),
  p('bigint.unsigned.handling.mode', MY),
  p('interval.handling.mode', PG),
  p('hstore.handling.mode', PG),
  p('include.unknown.datatypes', ALL, { debeziumDefault: 'false' }),

  // events
  p('tombstones.on.delete', ALL),
  p('provide.transaction.metadata', ALL),
  p('include.schema.changes', MY),
  p('skipped.operations', ALL, { debeziumDefault: 't' }),
  p('heartbeat.interval.ms', ALL, { debeziumDefault: '0', note: 'Unset: the Postgres source sends heartbeats every 10 s so an idle slot does not hold WAL back.' }),
  p('heartbeat.action.query', ALL),
  p('heartbeat.topics.prefix', ALL, { note: 'Debezium 1.x name of `topic.heartbeat.prefix`.' }),
  p('topic.heartbeat.prefix', ALL),

  // Postgres
  p('plugin.name', PG, { debeziumDefault: 'decoderbufs', note: 'Only `pgoutput` is supported.' }),
  p('slot.name', PG),
  p('slot.drop.on.stop', PG),
  p('publication.name', PG),
  p('publication.autocreate.mode', PG),
  p('unavailable.value.placeholder', PG),
  p('replica.identity.autoset.values', PG),
  p('status.update.interval.ms', PG),
  p('money.fraction.digits', PG),
  p('message.prefix.include.list', PG),
  p('message.prefix.exclude.list', PG),
  p('sluice.postgres.protocol.version', PG, { debeziumDefault: '(none: Sluice only)', note: 'pgoutput protocol: 2 (streams large in-progress transactions) on Postgres 14+, else 1.' }),
  p('sluice.postgres.spill.directory', PG, { debeziumDefault: '(none: Sluice only)', note: 'Where streamed in-progress transactions wait for their commit; default the OS temp directory.' }),

  // engine
  p('max.batch.size', ALL, { debeziumDefault: '2048', note: 'In Sluice: the most events in one commit cycle (one sink commit).' }),
  p('max.queue.size', ALL, { debeziumDefault: '8192', note: 'Events pulled from the source and waiting for a commit cycle; must be ≥ `max.batch.size`.' }),
  p('commit.interval.ms', ALL, { debeziumDefault: '(none: Sluice only)', note: 'How long a commit cycle waits for more events after its first one.' }),
  p('poll.interval.ms', ALL, { status: 'ignored', note: 'Sluice batches by `commit.interval.ms`.' }),
  p('offset.flush.interval.ms', ALL, { status: 'ignored', note: 'A Kafka Connect worker property; Sluice stores the offset in every commit cycle.' }),
  p('errors.max.retries', ALL, { note: 'Restarts after retriable failures (connection lost...); -1 = no limit, 0 = none.' }),
  p('retriable.restart.connector.wait.ms', ALL, { debeziumDefault: '10000', note: 'In Sluice: the first restart delay; it doubles per attempt (with jitter) up to `restart.backoff.max.ms`.' }),
  p('restart.backoff.max.ms', ALL, { debeziumDefault: '(none: Sluice only)' }),

  // converters
  p('key.converter', ALL, { note: 'JsonConverter or Confluent AvroConverter (or `json` / `avro`); default JsonConverter, as a Kafka Connect worker.' }),
  p('value.converter', ALL, { note: 'As `key.converter`.' }),
  p('key.converter.schemas.enable', ALL),
  p('value.converter.schemas.enable', ALL),
  p('key.converter.schema.registry.url', ALL, { note: 'Overridden by the `SCHEMA_REGISTRY_URL` environment variable.' }),
  p('value.converter.schema.registry.url', ALL, { note: 'Overridden by the `SCHEMA_REGISTRY_URL` environment variable.' }),
  p('key.converter.*', ALL, { note: 'Passed to the key converter without the prefix (e.g. `basic.auth.user.info`).' }),
  p('value.converter.*', ALL, { note: 'Passed to the value converter without the prefix.' }),

  // MySQL schema history: Debezium requires it, Sluice keeps none
  p('schema.history.internal.kafka.bootstrap.servers', MY, { status: 'ignored', note: 'Sluice keeps no schema-history topic.' }),
  p('schema.history.internal.kafka.topic', MY, { status: 'ignored', note: 'Sluice keeps no schema-history topic.' }),
  p('schema.history.internal.*', MY, { status: 'ignored', note: 'Sluice keeps no schema-history topic.' }),
  p('database.history.*', MY, { status: 'ignored', note: 'Debezium 1.x name of `schema.history.internal.*`.' }),
];

const exact = new Map(PROPERTIES.filter((r) => !r.key.endsWith('.*')).map((r) => [r.key, r] as const));
const prefixes = PROPERTIES.filter((r) => r.key.endsWith('.*')).map((r) => ({ prefix: r.key.slice(0, -1), row: r }));

/** The table row describing `key`, or undefined when Sluice does not know it. */
export function lookupProperty(key: string): PropertyInfo | undefined {
  const hit = exact.get(key);
  if (hit) return hit;
  return prefixes.find((x) => key.startsWith(x.prefix) && key.length > x.prefix.length)?.row;
}

export interface PropertyReport {
  /** Keys Sluice does not support at all. */
  readonly unsupported: string[];
  /** Keys that exist but not for this connector (e.g. `slot.name` on MySQL). */
  readonly notApplicable: string[];
}

/** Sorts a connector's keys into what Sluice cannot honour. */
export function checkProperties(keys: Iterable<string>, kind: ConnectorKind | undefined): PropertyReport {
  const unsupported: string[] = [];
  const notApplicable: string[] = [];
  for (const key of keys) {
    const row = lookupProperty(key);
    if (!row) unsupported.push(key);
    else if (kind !== undefined && !row.connectors.includes(kind)) notApplicable.push(key);
  }
  return { unsupported: unsupported.sort(), notApplicable: notApplicable.sort() };
}
