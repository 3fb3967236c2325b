import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TableEnvelope } from '../../src/events/envelope.js';
import { heartbeatEvent, HEARTBEAT_KEY_SCHEMA, HEARTBEAT_VALUE_SCHEMA } from '../../src/events/heartbeat.js';
import { parseMessageKeyColumns, validateMessageKeyColumns } from '../../src/events/key-columns.js';
import { MessageEnvelope } from '../../src/events/message.js';
import { quotedTableId, SchemaChangeEnvelope } from '../../src/events/schema-change.js';
import { Schema } from '../../src/events/schema.js';
import {
  binlogSource,
  DEBEZIUM_COMPAT_VERSION,
  MARIADB_SOURCE_SCHEMA,
  MYSQL_SOURCE_SCHEMA,
  POSTGRES_SOURCE_SCHEMA,
  postgresSource,
} from '../../src/events/source-info.js';
import {
  binlogTableTopic,
  dataChangeTopic,
  heartbeatTopic,
  messageTopic,
  postgresTableTopic,
  sanitizeTopicName,
  transactionTopic,
} from '../../src/events/topics.js';
import { TransactionTracker, TRANSACTION_KEY_SCHEMA, TRANSACTION_VALUE_SCHEMA } from '../../src/events/transaction.js';

const fieldNames = (s: { fields?: readonly { name: string }[] }) => (s.fields ?? []).map((f) => f.name);

describe('source blocks (Debezium 3.6 SourceInfoStructMakers)', () => {
  it('Postgres: common fields, then schema, table, txId, lsn, xmin, origin, origin_lsn', () => {
    assert.deepEqual(fieldNames(POSTGRES_SOURCE_SCHEMA), [
      'version', 'connector', 'name', 'ts_ms', 'snapshot', 'db', 'sequence', 'ts_us', 'ts_ns',
      'schema', 'table', 'txId', 'lsn', 'xmin', 'origin', 'origin_lsn',
    ]);
    assert.equal(POSTGRES_SOURCE_SCHEMA.name, 'io.debezium.connector.postgresql.Source');
    assert.equal(POSTGRES_SOURCE_SCHEMA.version, 1);
    const snapshot = POSTGRES_SOURCE_SCHEMA.fields![4]!.schema;
    assert.deepEqual(
      { name: snapshot.name, version: snapshot.version, optional: snapshot.optional, defaultValue: snapshot.defaultValue },
      { name: 'io.debezium.data.Enum', version: 1, optional: true, defaultValue: 'false' },
    );
    assert.equal(snapshot.parameters!['allowed'], 'true,first,first_in_data_collection,last_in_data_collection,last,false,incremental');
  });
  it('MySQL/MariaDB: common fields, then table, server_id, gtid, file, pos, row, thread, query', () => {
    for (const s of [MYSQL_SOURCE_SCHEMA, MARIADB_SOURCE_SCHEMA]) {
      assert.deepEqual(fieldNames(s), [
        'version', 'connector', 'name', 'ts_ms', 'snapshot', 'db', 'sequence', 'ts_us', 'ts_ns',
        'table', 'server_id', 'gtid', 'file', 'pos', 'row', 'thread', 'query',
      ]);
    }
    assert.equal(MARIADB_SOURCE_SCHEMA.name, 'io.debezium.connector.mariadb.Source');
    assert.equal(MYSQL_SOURCE_SCHEMA.name, 'io.debezium.connector.mysql.Source');
  });
  it('Postgres source values: sequence as JSON of string LSNs, incremental drops txId/lsn/xmin', () => {
    const base = {
      name: 'PostgreSQL_server', commitMicros: 1_559_033_904_863_123n, snapshot: 'true' as const, db: 'postgres',
      schema: 'public', table: 'customers', txId: 555n, lsn: 24_023_128n, lastCommitLsn: 24_023_119n,
    };
    const v = postgresSource(base);
    assert.deepEqual(Object.keys(v), fieldNames(POSTGRES_SOURCE_SCHEMA));
    assert.equal(v['sequence'], '["24023119","24023128"]');
    assert.equal(v['ts_ms'], 1_559_033_904_863n);
    assert.equal(v['ts_ns'], 1_559_033_904_863_123_000n);
    assert.equal(v['version'], DEBEZIUM_COMPAT_VERSION);
    const inc = postgresSource({ ...base, snapshot: 'incremental' });
    assert.deepEqual([inc['txId'], inc['lsn'], inc['xmin']], [null, null, null]);
    assert.equal(postgresSource({ ...base, lastCommitLsn: null })['sequence'], '[null,"24023128"]');
  });
  it('binlog source values follow the schema order', () => {
    const v = binlogSource({
      connector: 'mariadb', name: 'dbserver1', eventMicros: 1_000_000n, snapshot: 'false', db: 'inventory', table: 'customers',
      serverId: 223344n, gtid: '0-1-5', file: 'mysql-bin.000003', pos: 154n, row: 0, thread: 7n, query: null,
    });
    assert.deepEqual(Object.keys(v), fieldNames(MARIADB_SOURCE_SCHEMA));
    assert.equal(v['connector'], 'mariadb');
  });
});

const source = { version: 'x' };
const customers = new TableEnvelope({
  topic: 'dbserver1.inventory.customers',
  columns: [
    { name: 'id', schema: Schema.int32() },
    { name: 'email', schema: Schema.string() },
  ],
  keyColumns: ['id'],
  sourceSchema: POSTGRES_SOURCE_SCHEMA,
  tombstonesOnDelete: true,
});

describe('TableEnvelope', () => {
  it('names key, value and envelope after the topic; envelope v2 in Debezium’s field order', () => {
    assert.equal(customers.keySchema!.name, 'dbserver1.inventory.customers.Key');
    assert.equal(customers.rowSchema.name, 'dbserver1.inventory.customers.Value');
    assert.equal(customers.rowSchema.optional, true);
    assert.equal(customers.envelopeSchema.name, 'dbserver1.inventory.customers.Envelope');
    assert.equal(customers.envelopeSchema.version, 2);
    assert.deepEqual(fieldNames(customers.envelopeSchema), ['before', 'after', 'source', 'transaction', 'op', 'ts_ms', 'ts_us', 'ts_ns']);
    const tx = customers.envelopeSchema.fields![3]!.schema;
    assert.deepEqual([tx.name, tx.version, tx.optional], ['event.block', 1, true]);
    assert.deepEqual(fieldNames(tx), ['id', 'total_order', 'data_collection_order']);
  });
  it('create/read/update events', () => {
    const [c] = customers.rowEvents({ op: 'c', before: null, after: { id: 1, email: 'a' }, source, processedMicros: 5_000n });
    assert.deepEqual(c!.key, { id: 1 });
    assert.deepEqual(c!.value, {
      before: null, after: { id: 1, email: 'a' }, source, transaction: null, op: 'c', ts_ms: 5n, ts_us: 5_000n, ts_ns: 5_000_000n,
    });
    const [r] = customers.rowEvents({ op: 'r', before: null, after: { id: 1, email: 'a' }, source });
    assert.equal(r!.value!['op'], 'r');
    const u = customers.rowEvents({ op: 'u', before: { id: 1, email: 'a' }, after: { id: 1, email: 'b' }, source });
    assert.equal(u.length, 1);
    assert.equal(u[0]!.headers, undefined);
  });
  it('delete is followed by a tombstone with the same key', () => {
    const [d, t] = customers.rowEvents({ op: 'd', before: { id: 1, email: 'a' }, after: null, source });
    assert.equal(d!.value!['op'], 'd');
    assert.deepEqual(t!.key, { id: 1 });
    assert.equal(t!.value, null);
    assert.equal(t!.valueSchema, null);
    const noTombstones = new TableEnvelope({ topic: 't', columns: [{ name: 'id', schema: Schema.int32() }], keyColumns: ['id'], sourceSchema: POSTGRES_SOURCE_SCHEMA, tombstonesOnDelete: false });
    assert.equal(noTombstones.rowEvents({ op: 'd', before: { id: 1 }, after: null, source }).length, 1);
  });
  it('a primary key change is delete(old) + tombstone + create(new) with the key headers', () => {
    const events = customers.rowEvents({ op: 'u', before: { id: 1, email: 'a' }, after: { id: 2, email: 'a' }, source });
    assert.deepEqual(events.map((e) => [e.key, e.value === null ? null : e.value['op']]), [[{ id: 1 }, 'd'], [{ id: 1 }, null], [{ id: 2 }, 'c']]);
    assert.deepEqual(events[0]!.headers, { '__debezium.newkey': '{"id":2}' });
    assert.deepEqual(events[2]!.headers, { '__debezium.oldkey': '{"id":1}' });
    assert.equal(events[0]!.value!['after'], null);
    assert.equal(events[2]!.value!['before'], null);
  });
  it('truncate: null key and key schema, no before/after', () => {
    const t = customers.truncateEvent({ source, processedMicros: 1000n });
    assert.equal(t.key, null);
    assert.equal(t.keySchema, null);
    assert.equal(t.value!['op'], 't');
    assert.equal(t.value!['before'], null);
    assert.equal(t.value!['after'], null);
  });
  it('a table without key columns has a null key', () => {
    const keyless = new TableEnvelope({ topic: 't', columns: [{ name: 'x', schema: Schema.int32() }], keyColumns: [], sourceSchema: POSTGRES_SOURCE_SCHEMA, tombstonesOnDelete: true });
    const [e] = keyless.rowEvents({ op: 'c', before: null, after: { x: 1 }, source });
    assert.equal(e!.keySchema, null);
    assert.equal(e!.key, null);
  });
});

describe('transaction metadata', () => {
  it('BEGIN, blocks counted from 1 per transaction and per collection, END with counts', () => {
    const tx = new TransactionTracker('dbserver1');
    assert.equal(tx.topic, 'dbserver1.transaction');
    const [begin] = tx.begin('571:53195829', 1_486_500_577_125n);
    assert.deepEqual(begin!.key, { id: '571:53195829' });
    assert.deepEqual(begin!.value, { status: 'BEGIN', id: '571:53195829', event_count: null, data_collections: null, ts_ms: 1_486_500_577_125n });
    assert.equal(begin!.keySchema, TRANSACTION_KEY_SCHEMA);
    assert.deepEqual(tx.block('s1.a'), { id: '571:53195829', total_order: 1n, data_collection_order: 1n });
    assert.deepEqual(tx.block('s2.a'), { id: '571:53195829', total_order: 2n, data_collection_order: 1n });
    assert.deepEqual(tx.block('s1.a'), { id: '571:53195829', total_order: 3n, data_collection_order: 2n });
    const state = tx.state();
    const end = tx.end(1_486_500_577_691n);
    assert.deepEqual(end.value, {
      status: 'END', id: '571:53195829', event_count: 3n,
      data_collections: [{ data_collection: 's1.a', event_count: 2n }, { data_collection: 's2.a', event_count: 1n }],
      ts_ms: 1_486_500_577_691n,
    });
    assert.equal(tx.inProgress, false);
    // resume after a restart in the middle of the transaction
    const resumed = new TransactionTracker('dbserver1');
    resumed.restore(state);
    assert.deepEqual(resumed.block('s2.a'), { id: '571:53195829', total_order: 4n, data_collection_order: 2n });
  });
  it('schemas as SchemaFactory defines them', () => {
    assert.equal(TRANSACTION_KEY_SCHEMA.name, 'io.debezium.connector.common.TransactionMetadataKey');
    assert.equal(TRANSACTION_VALUE_SCHEMA.name, 'io.debezium.connector.common.TransactionMetadataValue');
    assert.deepEqual(fieldNames(TRANSACTION_VALUE_SCHEMA), ['status', 'id', 'event_count', 'data_collections', 'ts_ms']);
    const collections = TRANSACTION_VALUE_SCHEMA.fields![3]!.schema;
    assert.equal(collections.optional, true);
    assert.equal(collections.items!.name, 'event.collection');
    assert.deepEqual(fieldNames(collections.items!), ['data_collection', 'event_count']);
  });
});

describe('heartbeat, message and schema change events', () => {
  it('heartbeat', () => {
    const h = heartbeatEvent('dbserver1', 42n);
    assert.equal(h.topic, '__debezium-heartbeat.dbserver1');
    assert.deepEqual([h.key, h.value, h.partition], [{ serverName: 'dbserver1' }, { ts_ms: 42n }, 0]);
    assert.equal(HEARTBEAT_KEY_SCHEMA.name, 'io.debezium.connector.common.ServerNameKey');
    assert.equal(HEARTBEAT_VALUE_SCHEMA.name, 'io.debezium.connector.common.Heartbeat');
    assert.equal(heartbeatEvent('p', 1n, { heartbeatPrefix: 'hb' }).topic, 'hb.p');
  });
  it('logical decoding message', () => {
    const m = new MessageEnvelope({ topicPrefix: 'PostgreSQL_server', sourceSchema: POSTGRES_SOURCE_SCHEMA, binaryMode: 'base64' });
    const e = m.event({ prefix: 'foo', content: Buffer.from('bar'), source, tsMs: 7n });
    assert.equal(e.topic, 'PostgreSQL_server.message');
    assert.deepEqual(e.key, { prefix: 'foo' });
    assert.deepEqual(fieldNames(m.valueSchema), ['op', 'ts_ms', 'source', 'transaction', 'message']);
    assert.equal(m.valueSchema.name, 'io.debezium.connector.postgresql.MessageValue');
    assert.deepEqual(e.value!['message'], { prefix: 'foo', content: 'YmFy' });
    assert.equal(e.value!['op'], 'm');
  });
  it('schema change (MariaDB)', () => {
    const sc = new SchemaChangeEnvelope({ connector: 'mariadb', topicPrefix: 'dbserver1', sourceSchema: MARIADB_SOURCE_SCHEMA });
    assert.equal(sc.keySchema.name, 'io.debezium.connector.mariadb.SchemaChangeKey');
    assert.equal(sc.valueSchema.name, 'io.debezium.connector.mariadb.SchemaChangeValue');
    assert.deepEqual(fieldNames(sc.valueSchema), ['source', 'ts_ms', 'databaseName', 'schemaName', 'ddl', 'tableChanges']);
    const e = sc.event({
      source, tsMs: 1n, databaseName: 'inventory', ddl: 'DROP TABLE t',
      tableChanges: [{ type: 'DROP', id: quotedTableId('inventory', 't'), table: null }],
    });
    assert.equal(e.topic, 'dbserver1');
    assert.equal(e.partition, 0);
    assert.deepEqual(e.value!['tableChanges'], [{ type: 'DROP', id: '"inventory"."t"', table: null }]);
    assert.equal(quotedTableId('a"b', 'c'), '"a""b"."c"');
  });
});

describe('topic names', () => {
  it('joins prefix and parts, sanitizes like Debezium', () => {
    assert.equal(binlogTableTopic('dbserver1', 'inventory', 'customers'), 'dbserver1.inventory.customers');
    assert.equal(postgresTableTopic('pg', 'public', 'my table$'), 'pg.public.my_table_');
    assert.equal(dataChangeTopic('p', ['', 't']), 'p.t');
    assert.equal(sanitizeTopicName('tëst'), 't_st');
    assert.equal(sanitizeTopicName('.'), '_');
    assert.equal(sanitizeTopicName('..'), '__');
    assert.equal(sanitizeTopicName('x'.repeat(300)).length, 249);
    assert.equal(transactionTopic('p'), 'p.transaction');
    assert.equal(heartbeatTopic('p'), '__debezium-heartbeat.p');
    assert.equal(messageTopic('p'), 'p.message');
  });
});

describe('message.key.columns', () => {
  it('matches table regexes case-insensitively, key in expression order', () => {
    const k = parseMessageKeyColumns('inventory.customers:pk1,pk2;(.*).purchaseorders:pk3,pk4')!;
    assert.deepEqual(k.keyColumnsFor('inventory.customers', ['pk2', 'x', 'pk1']), ['pk1', 'pk2']);
    assert.deepEqual(k.keyColumnsFor('other.PurchaseOrders', ['PK4', 'pk3']), ['pk3', 'PK4']);
    assert.equal(k.keyColumnsFor('inventory.orders', ['pk1']), null);
    // whole-string match: a prefix of the table name does not match
    assert.equal(k.keyColumnsFor('inventory.customers2', ['pk1']), null);
  });
  it('trims whitespace and counts a column once', () => {
    const k = parseMessageKeyColumns(' db.t1 : a , b ; db.t1:a')!;
    assert.deepEqual(k.keyColumnsFor('db.t1', ['b', 'a']), ['a', 'b']);
  });
  it('reports malformed entries with Debezium’s pattern', () => {
    assert.deepEqual(validateMessageKeyColumns('db.t:a'), []);
    assert.equal(validateMessageKeyColumns('db.t').length, 1);
    assert.equal(validateMessageKeyColumns('db.t:a;db.u:').length, 1);
    assert.throws(() => parseMessageKeyColumns('db.t'), /invalid format/);
    assert.throws(() => parseMessageKeyColumns('db.(t:a'), /not a valid regular expression/);
    assert.equal(parseMessageKeyColumns(undefined), null);
  });
});
