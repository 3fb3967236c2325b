import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { connectToAvro } from '../../src/converters/avro-schema.js';
import { JsonConverter } from '../../src/converters/json.js';
import type { ChangeEvent } from '../../src/events/change-event.js';
import { TableEnvelope } from '../../src/events/envelope.js';
import {
  binarySchema,
  bitsSchema,
  dateSchema,
  decimalSchema,
  enumSchema,
  enumSetSchema,
  geometrySchema,
  intervalSchema,
  jsonSchema,
  pointSchema,
  timeSchema,
  timestampSchema,
  unsignedBigintSchema,
  uuidSchema,
  variableScaleDecimalSchema,
  xmlSchema,
  yearSchema,
  zonedTimeSchema,
  zonedTimestampSchema,
} from '../../src/events/logical.js';
import { MessageEnvelope } from '../../src/events/message.js';
import { quotedTableId, SchemaChangeEnvelope } from '../../src/events/schema-change.js';
import { Schema } from '../../src/events/schema.js';
import { binlogSource, MARIADB_SOURCE_SCHEMA, POSTGRES_SOURCE_SCHEMA, postgresSource, type PostgresSourceInfo } from '../../src/events/source-info.js';
import { dateFromText, timeFromText, timestampFromText, zonedTimeFromText, zonedTimestampFromText } from '../../src/events/temporal.js';
import { binlogTableTopic, postgresTableTopic } from '../../src/events/topics.js';
import { TransactionTracker } from '../../src/events/transaction.js';
import {
  binaryValue,
  bitsFromBigEndian,
  bitsFromBitString,
  decimalValue,
  enumSetValue,
  geometryValue,
  int64Value,
  intervalValue,
  pointValue,
  unsignedBigintValue,
  variableScaleDecimalValue,
} from '../../src/events/values.js';
import { parseExactJson, stringifyExact, type Exact } from './exact-json.js';

/**
 * Golden envelopes: events built from hand-written row values through the event model and the JSON converter,
 * compared field for field with fixtures/golden/*.json in both JSON modes (schemas.enable true: the whole golden
 * record; false: its "payload" parts). Each golden's "_doc" names the Debezium documentation section it follows
 * and is not compared. `UPDATE_GOLDEN=1` rewrites the files (keeping "_doc"); review the diff before committing.
 */

const GOLDEN_DIR = join(dirname(fileURLToPath(import.meta.url)), '../../fixtures/golden');

interface Scenario {
  readonly name: string;
  readonly doc: string;
  readonly events: () => ChangeEvent[];
  readonly decimalFormat?: 'BASE64' | 'NUMERIC';
  /** also compare the Avro schemas (key and value of the first record) with <name>.avro.json */
  readonly avro?: boolean;
}

// ----------------------------------------------------------------------------------------------------------------
// Postgres: Debezium's `customers` examples (postgresql.adoc, "Data change events")
// ----------------------------------------------------------------------------------------------------------------

const PG_PREFIX = 'PostgreSQL_server';
const pgCustomers = new TableEnvelope({
  topic: postgresTableTopic(PG_PREFIX, 'inventory', 'customers'),
  columns: [
    { name: 'id', schema: Schema.int32() },
    { name: 'first_name', schema: Schema.string() },
    { name: 'last_name', schema: Schema.string() },
    { name: 'email', schema: Schema.string() },
  ],
  keyColumns: ['id'],
  sourceSchema: POSTGRES_SOURCE_SCHEMA,
  tombstonesOnDelete: true,
});

function pgSource(overrides: Partial<PostgresSourceInfo>): Record<string, unknown> {
  return postgresSource({
    name: PG_PREFIX,
    commitMicros: 1_559_033_904_863_123n,
    snapshot: 'false',
    db: 'postgres',
    schema: 'inventory',
    table: 'customers',
    txId: 555n,
    lsn: 24_023_128n,
    lastCommitLsn: 24_023_119n,
    xmin: null,
    ...overrides,
  });
}

const anne = { id: 1, first_name: 'Anne', last_name: 'Kretchmar', email: 'annek@noanswer.org' };

// ----------------------------------------------------------------------------------------------------------------
// Postgres column types
// ----------------------------------------------------------------------------------------------------------------

const PG_TYPES_TABLE = new TableEnvelope({
  topic: postgresTableTopic(PG_PREFIX, 'public', 'all_types'),
  columns: [
    { name: 'id', schema: Schema.int32() },
    { name: 'c_smallint', schema: Schema.optional(Schema.int16()) },
    { name: 'c_bigint', schema: Schema.optional(Schema.int64()) },
    { name: 'c_numeric', schema: Schema.optional(decimalSchema(12, 3)) },
    { name: 'c_numeric_var', schema: Schema.optional(variableScaleDecimalSchema()) },
    { name: 'c_real', schema: Schema.optional(Schema.float32()) },
    { name: 'c_double', schema: Schema.optional(Schema.float64()) },
    { name: 'c_boolean', schema: Schema.optional(Schema.boolean()) },
    { name: 'c_text', schema: Schema.optional(Schema.string()) },
    { name: 'c_text_default', schema: Schema.string({ defaultValue: 'n/a' }) },
    { name: 'c_bytea', schema: Schema.optional(binarySchema('bytes')) },
    { name: 'c_date', schema: Schema.optional(dateSchema('adaptive')) },
    { name: 'c_time', schema: Schema.optional(timeSchema(6, 'adaptive')) },
    { name: 'c_time3', schema: Schema.optional(timeSchema(3, 'adaptive')) },
    { name: 'c_timestamp', schema: Schema.optional(timestampSchema(6, 'adaptive')) },
    { name: 'c_timestamp3', schema: Schema.optional(timestampSchema(3, 'adaptive')) },
    { name: 'c_timestamptz', schema: Schema.optional(zonedTimestampSchema()) },
    { name: 'c_timetz', schema: Schema.optional(zonedTimeSchema()) },
    { name: 'c_interval', schema: Schema.optional(intervalSchema('numeric')) },
    { name: 'c_json', schema: Schema.optional(jsonSchema()) },
    { name: 'c_jsonb', schema: Schema.optional(jsonSchema()) },
    { name: 'c_uuid', schema: Schema.optional(uuidSchema()) },
    { name: 'c_xml', schema: Schema.optional(xmlSchema()) },
    { name: 'c_bit1', schema: Schema.optional(Schema.boolean()) },
    { name: 'c_bit', schema: Schema.optional(bitsSchema(10)) },
    { name: 'c_enum', schema: Schema.optional(enumSchema(['sad', 'ok', 'happy'])) },
    { name: 'c_point', schema: Schema.optional(pointSchema()) },
    { name: 'c_int_array', schema: Schema.optional(Schema.array(Schema.optional(Schema.int32()))) },
    { name: 'c_null', schema: Schema.optional(Schema.string()) },
  ],
  keyColumns: ['id'],
  sourceSchema: POSTGRES_SOURCE_SCHEMA,
  tombstonesOnDelete: true,
});

const pgTypesRow = (t: TableEnvelope) => {
  const s = (name: string) => t.rowSchema.fields!.find((f) => f.name === name)!.schema;
  return {
    id: 1,
    c_smallint: -32768,
    c_bigint: int64Value('9223372036854775807'),
    c_numeric: decimalValue('-123456789.125', 3),
    c_numeric_var: variableScaleDecimalValue('3.14159265358979323846'),
    c_real: Math.fround(1.1),
    c_double: 0.1,
    c_boolean: true,
    c_text: 'héllo "wörld"\n',
    c_text_default: null,
    c_bytea: Buffer.from('deadbeef', 'hex'),
    c_date: dateFromText('2018-01-13', s('c_date')),
    c_time: timeFromText('09:48:27.123456', s('c_time')),
    c_time3: timeFromText('09:48:27.123', s('c_time3')),
    c_timestamp: timestampFromText('2018-01-13 09:48:27.123456', s('c_timestamp')),
    c_timestamp3: timestampFromText('1969-12-31 23:59:59.999', s('c_timestamp3')),
    c_timestamptz: zonedTimestampFromText('2018-01-13 09:48:27.123456+01', 6),
    c_timetz: zonedTimeFromText('09:48:27.5+01'),
    c_interval: intervalValue({ years: 1, months: 2, days: 3, hours: 4, minutes: 5, seconds: '6.789' }),
    c_json: '{"a": 1.10, "b": [1, 2]}',
    c_jsonb: '{"a": 1.10, "b": [1, 2]}',
    c_uuid: 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
    c_xml: '<doc><a>1</a></doc>',
    c_bit1: true,
    c_bit: bitsFromBitString('1000000101'),
    c_enum: 'happy',
    c_point: pointValue(1.5, -2),
    c_int_array: [1, null, 3],
    c_null: null,
  };
};

// ----------------------------------------------------------------------------------------------------------------
// MariaDB: Debezium's `customers` examples (mariadb.adoc / shared-mariadb-mysql.adoc) and column types
// ----------------------------------------------------------------------------------------------------------------

const MARIA_PREFIX = 'mariadb-server-1';
const mariaCustomers = new TableEnvelope({
  topic: binlogTableTopic(MARIA_PREFIX, 'inventory', 'customers'),
  columns: [
    { name: 'id', schema: Schema.int32() },
    { name: 'first_name', schema: Schema.string() },
    { name: 'last_name', schema: Schema.string() },
    { name: 'email', schema: Schema.string() },
  ],
  keyColumns: ['id'],
  sourceSchema: MARIADB_SOURCE_SCHEMA,
  tombstonesOnDelete: true,
});

const MARIA_TYPES_TABLE = new TableEnvelope({
  topic: binlogTableTopic(MARIA_PREFIX, 'inventory', 'all_types'),
  columns: [
    { name: 'id', schema: Schema.int32() },
    { name: 'c_tinyint', schema: Schema.optional(Schema.int16()) },
    { name: 'c_mediumint', schema: Schema.optional(Schema.int32()) },
    { name: 'c_bigint', schema: Schema.optional(Schema.int64()) },
    { name: 'c_bigint_unsigned', schema: Schema.optional(unsignedBigintSchema('long')) },
    { name: 'c_decimal', schema: Schema.optional(decimalSchema(10, 2)) },
    { name: 'c_float', schema: Schema.optional(Schema.float32()) },
    { name: 'c_double', schema: Schema.optional(Schema.float64()) },
    { name: 'c_bit1', schema: Schema.optional(Schema.boolean()) },
    { name: 'c_bit', schema: Schema.optional(bitsSchema(12)) },
    { name: 'c_char', schema: Schema.optional(Schema.string()) },
    { name: 'c_varchar', schema: Schema.string({ defaultValue: 'none' }) },
    { name: 'c_blob', schema: Schema.optional(binarySchema('bytes')) },
    { name: 'c_date', schema: Schema.optional(dateSchema('adaptive_time_microseconds')) },
    { name: 'c_zero_date', schema: Schema.optional(dateSchema('adaptive_time_microseconds')) },
    { name: 'c_time', schema: Schema.optional(timeSchema(6, 'adaptive_time_microseconds')) },
    { name: 'c_time_negative', schema: Schema.optional(timeSchema(0, 'adaptive_time_microseconds')) },
    { name: 'c_datetime', schema: Schema.optional(timestampSchema(6, 'adaptive_time_microseconds')) },
    { name: 'c_datetime0', schema: Schema.optional(timestampSchema(0, 'adaptive_time_microseconds')) },
    { name: 'c_timestamp', schema: Schema.optional(zonedTimestampSchema()) },
    { name: 'c_year', schema: Schema.optional(yearSchema()) },
    { name: 'c_enum', schema: Schema.optional(enumSchema(['x-small', 'small', 'medium', 'large'])) },
    { name: 'c_set', schema: Schema.optional(enumSetSchema(['a', 'b', 'c'])) },
    { name: 'c_json', schema: Schema.optional(jsonSchema()) },
    { name: 'c_geometry', schema: geometrySchema() },
  ],
  keyColumns: ['id'],
  sourceSchema: MARIADB_SOURCE_SCHEMA,
  tombstonesOnDelete: true,
});

const mariaTypesRow = (t: TableEnvelope) => {
  const s = (name: string) => t.rowSchema.fields!.find((f) => f.name === name)!.schema;
  return {
    id: 1,
    c_tinyint: -128,
    c_mediumint: 8_388_607,
    c_bigint: int64Value('-9223372036854775808'),
    c_bigint_unsigned: unsignedBigintValue('18446744073709551615', 'long'),
    c_decimal: decimalValue('12345678.90', 2),
    c_float: Math.fround(3.14),
    c_double: 2.718281828459045,
    c_bit1: false,
    c_bit: bitsFromBigEndian(Buffer.from([0x08, 0x01]), 12),
    c_char: 'abc',
    c_varchar: null,
    c_blob: binaryValue(Buffer.from([0, 1, 2, 255]), 'bytes'),
    c_date: dateFromText('2018-01-13', s('c_date')),
    c_zero_date: dateFromText('0000-00-00', s('c_zero_date')),
    c_time: timeFromText('838:59:59.000000', s('c_time')),
    c_time_negative: timeFromText('-00:00:01', s('c_time_negative')),
    c_datetime: timestampFromText('2018-01-13 09:48:27.123456', s('c_datetime')),
    c_datetime0: timestampFromText('2018-01-13 09:48:27', s('c_datetime0')),
    c_timestamp: zonedTimestampFromText('2018-01-13 09:48:27.5+00:00', 6),
    c_year: 2018,
    c_enum: 'x-small',
    c_set: enumSetValue(['a', 'c']),
    c_json: '{"k": [1, "two", null]}',
    c_geometry: geometryValue(Buffer.from('0101000000000000000000f03f0000000000000040', 'hex'), 4326),
  };
};

function mariaSource(overrides: Partial<Parameters<typeof binlogSource>[0]> = {}): Record<string, unknown> {
  return binlogSource({
    connector: 'mariadb',
    name: MARIA_PREFIX,
    eventMicros: 1_465_491_411_000_000n,
    snapshot: 'false',
    db: 'inventory',
    table: 'customers',
    serverId: 223_344n,
    gtid: '0-223344-5',
    file: 'mariadb-bin.000003',
    pos: 154n,
    row: 0,
    thread: 7n,
    query: null,
    ...overrides,
  });
}

// ----------------------------------------------------------------------------------------------------------------
// Scenarios
// ----------------------------------------------------------------------------------------------------------------

const PROCESSED = 1_559_033_904_863_841n;

const scenarios: Scenario[] = [
  {
    name: 'postgres-insert',
    avro: true,
    doc: 'Debezium PostgreSQL connector docs, "Data change events" > "create events" (postgresql.adoc#postgresql-create-events), same table and values; the schema part follows Debezium 3.6.1 source (source.snapshot is an Enum string with default "false", ts_us/ts_ns optional, origin/origin_lsn since 3.5), where the documented schema example is outdated.',
    events: () => pgCustomers.rowEvents({ op: 'c', before: null, after: anne, source: pgSource({}), processedMicros: PROCESSED }),
  },
  {
    name: 'postgres-update',
    doc: 'Debezium PostgreSQL connector docs, "update events" (postgresql.adoc#postgresql-update-events): first_name Anne → Anne Marie, txId 556; `before` holds the whole old row as with REPLICA IDENTITY FULL (the docs example shows the DEFAULT identity).',
    events: () =>
      pgCustomers.rowEvents({
        op: 'u',
        before: anne,
        after: { ...anne, first_name: 'Anne Marie' },
        source: pgSource({ txId: 556n }),
        processedMicros: 1_465_584_025_523_000n,
      }),
  },
  {
    name: 'postgres-delete',
    doc: 'Debezium PostgreSQL connector docs, "delete events" and "Tombstone events" (postgresql.adoc#postgresql-delete-events, #postgresql-tombstone-events): the delete (txId 556, lsn 46523128) followed by a tombstone with the same key and a null value.',
    events: () =>
      pgCustomers.rowEvents({
        op: 'd',
        before: anne,
        after: null,
        source: pgSource({ txId: 556n, lsn: 46_523_128n, lastCommitLsn: 46_523_000n }),
        processedMicros: 1_465_581_902_461_496n,
      }),
  },
  {
    name: 'postgres-primary-key-change',
    doc: 'Debezium PostgreSQL connector docs, "Primary key updates" (postgresql.adoc#postgresql-primary-key-updates): an UPDATE of id 1 → 2 becomes a delete of the old key with header __debezium.newkey, its tombstone, and a create of the new key with header __debezium.oldkey (header values: the key as JSON text).',
    events: () =>
      pgCustomers.rowEvents({
        op: 'u',
        before: anne,
        after: { ...anne, id: 2 },
        source: pgSource({ txId: 557n, lsn: 46_523_200n }),
        processedMicros: PROCESSED,
      }),
  },
  {
    name: 'postgres-snapshot-read',
    doc: 'Debezium PostgreSQL connector docs, "Snapshots" and the source field `snapshot` (postgresql.adoc#postgresql-snapshots, #postgresql-create-events item 8): a snapshot read is op "r" with before null; the first record of the snapshot has snapshot "first", the last "last", others "true".',
    events: () => [
      ...pgCustomers.rowEvents({ op: 'r', before: null, after: anne, source: pgSource({ snapshot: 'first', lastCommitLsn: null }), processedMicros: PROCESSED }),
      ...pgCustomers.rowEvents({
        op: 'r',
        before: null,
        after: { id: 2, first_name: 'George', last_name: 'Bailey', email: 'gbailey@foobar.com' },
        source: pgSource({ snapshot: 'last', lastCommitLsn: null }),
        processedMicros: PROCESSED + 1n,
      }),
    ],
  },
  {
    name: 'postgres-truncate',
    doc: 'Debezium PostgreSQL connector docs, "truncate events" (postgresql.adoc#postgresql-truncate-events): null key (and key schema), op "t", no before/after, txId 556, lsn 46523128.',
    events: () => [
      pgCustomers.truncateEvent({ source: pgSource({ txId: 556n, lsn: 46_523_128n }), processedMicros: 1_559_033_904_961_654n }),
    ],
  },
  {
    name: 'postgres-message',
    doc: 'Debezium PostgreSQL connector docs, "message events" (postgresql.adoc#postgresql-message-events): prefix "foo", content "bar" (base64 "YmFy"; the docs print "Ymfy"), empty schema/table in the source block; value fields op, ts_ms, source, transaction, message as in Debezium 3.6.1 PostgresSchemaFactory (no ts_us/ts_ns, unlike the docs example).',
    events: () => [
      new MessageEnvelope({ topicPrefix: PG_PREFIX, sourceSchema: POSTGRES_SOURCE_SCHEMA }).event({
        prefix: 'foo',
        content: Buffer.from('bar'),
        source: pgSource({ schema: '', table: '', txId: 556n, lsn: 46_523_128n }),
        tsMs: 1_559_033_904_961n,
      }),
    ],
  },
  {
    name: 'postgres-transaction',
    doc: 'Debezium PostgreSQL connector docs, "Transaction metadata" (postgresql.adoc#postgresql-transaction-metadata): BEGIN (id 571:53195829), two enriched data events (s1.a, s2.a), END with event_count 2 and per-collection counts; ids in the txID:LSN form with the LSN of each record, as in the docs (data events and END 571:53195832).',
    events: () => {
      const tx = new TransactionTracker(PG_PREFIX);
      const mk = (schema: string) =>
        new TableEnvelope({
          topic: postgresTableTopic(PG_PREFIX, schema, 'a'),
          columns: [{ name: 'pk', schema: Schema.string() }, { name: 'aa', schema: Schema.optional(Schema.string()) }],
          keyColumns: ['pk'],
          sourceSchema: POSTGRES_SOURCE_SCHEMA,
          tombstonesOnDelete: true,
        });
      const events = [...tx.begin('571:53195829', 1_486_500_577_125n)];
      for (const schema of ['s1', 's2']) {
        events.push(
          ...mk(schema).rowEvents({
            op: 'c',
            before: null,
            after: { pk: '2', aa: '1' },
            source: pgSource({ schema, table: 'a', txId: 571n, lsn: 53_195_832n }),
            transaction: tx.block(`${schema}.a`, '571:53195832'),
            processedMicros: 1_580_390_884_335_451n,
          }),
        );
      }
      events.push(tx.end(1_486_500_577_691n, '571:53195832'));
      return events;
    },
  },
  {
    name: 'postgres-column-types',
    avro: true,
    doc: 'Debezium PostgreSQL connector docs, "Data type mappings" (postgresql.adoc#postgresql-data-types: basic, temporal with time.precision.mode=adaptive, decimal with decimal.handling.mode=precise, binary.handling.mode=bytes, interval.handling.mode=numeric, geometric POINT): one row of each type; decimal.format=BASE64.',
    events: () => PG_TYPES_TABLE.rowEvents({ op: 'c', before: null, after: pgTypesRow(PG_TYPES_TABLE), source: pgSource({ schema: 'public', table: 'all_types' }), processedMicros: PROCESSED }),
  },
  {
    name: 'postgres-column-types-numeric',
    doc: 'As postgres-column-types, written with the JsonConverter option decimal.format=NUMERIC: Connect Decimals as exact JSON numbers instead of base64 (the VariableScaleDecimal struct is unaffected).',
    decimalFormat: 'NUMERIC',
    events: () => PG_TYPES_TABLE.rowEvents({ op: 'c', before: null, after: pgTypesRow(PG_TYPES_TABLE), source: pgSource({ schema: 'public', table: 'all_types' }), processedMicros: PROCESSED }),
  },
  {
    name: 'mariadb-insert',
    doc: 'Debezium MariaDB connector docs, "create events" (mariadb.adoc / shared-mariadb-mysql.adoc tag create-events): customer 1004 Anne Kretchmar, binlog file/pos 154, thread 7; the schema part follows Debezium 3.6.1 source (io.debezium.connector.mariadb.Source).',
    events: () =>
      mariaCustomers.rowEvents({
        op: 'c',
        before: null,
        after: { ...anne, id: 1004 },
        source: mariaSource({ query: "INSERT INTO customers (first_name, last_name, email) VALUES ('Anne', 'Kretchmar', 'annek@noanswer.org')" }),
        processedMicros: 1_465_491_411_815_437n,
      }),
  },
  {
    name: 'mariadb-column-types',
    avro: true,
    doc: 'Debezium MariaDB connector docs, "Data type mappings" (shared-mariadb-mysql.adoc tags basic-data-types, temporal-data-types, decimal-data-types, spatial-data-types) with the MariaDB defaults: time.precision.mode=adaptive_time_microseconds, decimal.handling.mode=precise, bigint.unsigned.handling.mode=long (so 18446744073709551615 wraps to -1 as in Debezium), binary.handling.mode=bytes; a zero date in a nullable column is null; TIMESTAMP is a UTC ZonedTimestamp.',
    events: () =>
      MARIA_TYPES_TABLE.rowEvents({
        op: 'c',
        before: null,
        after: mariaTypesRow(MARIA_TYPES_TABLE),
        source: mariaSource({ table: 'all_types', pos: 1_024n }),
        processedMicros: PROCESSED,
      }),
  },
  {
    name: 'mariadb-schema-change',
    doc: 'Debezium MariaDB connector docs, "Schema change topic" (shared-mariadb-mysql.adoc tag schema-change): ALTER TABLE customers ADD middle_name; structure of io.debezium.connector.mariadb.SchemaChangeKey/Value and tableChanges as in Debezium 3.6.1 ConnectTableChangeSerializer (the docs example also shows an "attributes" field that 3.6.1 does not write).',
    events: () => {
      const col = (name: string, position: number, optional: boolean, extra: Record<string, unknown> = {}) => ({
        name, jdbcType: 12, typeName: 'VARCHAR', typeExpression: 'VARCHAR', charsetName: 'utf8mb4', length: 255, position,
        optional, autoIncremented: false, generated: false, ...extra,
      });
      return [
        new SchemaChangeEnvelope({ connector: 'mariadb', topicPrefix: MARIA_PREFIX, sourceSchema: MARIADB_SOURCE_SCHEMA }).event({
          source: mariaSource({ eventMicros: 1_651_535_750_218_000n, pos: 570n, thread: null, gtid: null }),
          tsMs: 1_651_535_750_218n,
          databaseName: 'inventory',
          schemaName: null,
          ddl: 'ALTER TABLE customers ADD middle_name varchar(255) AFTER first_name',
          tableChanges: [
            {
              type: 'ALTER',
              id: quotedTableId('inventory', 'customers'),
              table: {
                defaultCharsetName: 'utf8mb4',
                primaryKeyColumnNames: ['id'],
                columns: [
                  { name: 'id', jdbcType: 4, typeName: 'INT', typeExpression: 'INT', position: 1, optional: false, autoIncremented: true, generated: true },
                  col('first_name', 2, false),
                  col('middle_name', 3, true),
                  col('last_name', 4, false),
                  col('email', 5, false),
                ],
              },
            },
          ],
        }),
      ];
    },
  },
];

// ----------------------------------------------------------------------------------------------------------------

interface GoldenRecord {
  topic: string;
  headers?: Record<string, string>;
  key: Exact;
  value: Exact;
}

function render(scenario: Scenario, schemasEnable: boolean): GoldenRecord[] {
  const converter = new JsonConverter({ schemasEnable, decimalFormat: scenario.decimalFormat ?? 'BASE64' });
  return scenario.events().map((e) => {
    const key = converter.toJsonText(e.keySchema, e.key);
    const value = converter.toJsonText(e.valueSchema, e.value);
    return {
      topic: e.topic,
      ...(e.headers ? { headers: { ...e.headers } } : {}),
      ...(e.partition !== undefined ? { partition: BigInt(e.partition) } : {}),
      key: key === null ? null : parseExactJson(key),
      value: value === null ? null : parseExactJson(value),
    };
  });
}

const payloadOf = (part: Exact): Exact => (part === null ? null : (part as { payload: Exact }).payload);

describe('golden Avro schemas', () => {
  for (const scenario of scenarios.filter((s) => s.avro)) {
    it(scenario.name, () => {
      const file = join(GOLDEN_DIR, `${scenario.name}.avro.json`);
      const [event] = scenario.events();
      const actual = {
        key: event!.keySchema === null ? null : parseExactJson(connectToAvro(event!.keySchema).text),
        value: parseExactJson(connectToAvro(event!.valueSchema!).text),
      };
      if (process.env['UPDATE_GOLDEN'] === '1') {
        const doc =
          `Avro schemas (as registered) of the records in ${scenario.name}.json: Confluent's AvroData.fromConnectSchema rules ` +
          `(connect.meta.data=true) applied to Debezium's Connect schemas; names per Debezium's "Avro serialization" > "Naming" ` +
          `(configuration/avro.adoc#avro-naming). Debezium's docs show no Avro schema text, so the Connect side follows the JSON golden.`;
        writeFileSync(file, `${stringifyExact({ _doc: doc, ...actual } as unknown as Exact)}\n`);
      }
      const golden = parseExactJson(readFileSync(file, 'utf8')) as { [k: string]: Exact };
      assert.ok(typeof golden['_doc'] === 'string');
      assert.deepEqual(actual.key, golden['key']);
      assert.deepEqual(actual.value, golden['value']);
    });
  }
});

describe('golden envelopes', () => {
  for (const scenario of scenarios) {
    it(scenario.name, () => {
      const file = join(GOLDEN_DIR, `${scenario.name}.json`);
      const withSchemas = render(scenario, true);
      if (process.env['UPDATE_GOLDEN'] === '1') {
        mkdirSync(GOLDEN_DIR, { recursive: true });
        const golden = { _doc: scenario.doc, records: withSchemas } as unknown as Exact;
        writeFileSync(file, `${stringifyExact(golden)}\n`);
      }
      assert.ok(existsSync(file), `${file} is missing: run with UPDATE_GOLDEN=1 and review it`);
      const golden = parseExactJson(readFileSync(file, 'utf8')) as unknown as { _doc?: string; records: GoldenRecord[] };
      assert.ok(typeof golden._doc === 'string' && golden._doc.length > 0, 'every golden cites the Debezium doc section it follows');
      const expected = golden.records;
      // schemas.enable=true: the whole record
      assert.equal(withSchemas.length, expected.length);
      withSchemas.forEach((record, i) => assert.deepEqual(record, expected[i], `record ${i} (schemas.enable=true)`));
      // schemas.enable=false: the payload parts only
      const payloadOnly = render(scenario, false);
      payloadOnly.forEach((record, i) => {
        const want = expected[i]!;
        assert.deepEqual(record.key, payloadOf(want.key), `record ${i} key (schemas.enable=false)`);
        assert.deepEqual(record.value, payloadOf(want.value), `record ${i} value (schemas.enable=false)`);
      });
    });
  }
});
