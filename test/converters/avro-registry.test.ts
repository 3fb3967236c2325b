import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import avro from 'avsc';
import { AvroConverter } from '../../src/converters/avro.js';
import { createConverter } from '../../src/converters/factory.js';
import { SchemaRegistryClient } from '../../src/converters/schema-registry-client.js';
import { ConnectionLostError, SchemaEvolutionError } from '../../src/errors.js';
import type { ChangeEvent } from '../../src/events/change-event.js';
import { TableEnvelope } from '../../src/events/envelope.js';
import { heartbeatEvent } from '../../src/events/heartbeat.js';
import {
  bitsSchema,
  decimalSchema,
  geometrySchema,
  jsonSchema,
  pointSchema,
  timestampSchema,
  variableScaleDecimalSchema,
  zonedTimestampSchema,
} from '../../src/events/logical.js';
import { Schema, type ConnectSchema } from '../../src/events/schema.js';
import { POSTGRES_SOURCE_SCHEMA, postgresSource } from '../../src/events/source-info.js';
import { TransactionTracker } from '../../src/events/transaction.js';
import {
  bitsFromBitString,
  decimalToPlainString,
  decimalValue,
  decodeDecimal,
  geometryValue,
  pointValue,
  variableScaleDecimalValue,
} from '../../src/events/values.js';
import { readerLong } from '../support/avro-reader-long.js';
import { startSchemaRegistry, type SchemaRegistryInstance } from '../support/schema-registry.js';

/**
 * Avro records through a Schema Registry (the test server, or SCHEMA_REGISTRY_URL), decoded by a reader that knows
 * only the Confluent wire format and the schema it fetches back over REST: none of the converter's own code.
 */

let registry: SchemaRegistryInstance;
before(async () => {
  registry = await startSchemaRegistry();
});
after(async () => {
  await registry?.stop();
});


async function readConfluent(bytes: Buffer): Promise<{ id: number; schema: unknown; value: unknown }> {
  assert.equal(bytes.readUInt8(0), 0, 'magic byte');
  const id = bytes.readUInt32BE(1);
  const response = await fetch(`${registry.url}/schemas/ids/${id}`);
  assert.equal(response.status, 200);
  const { schema } = (await response.json()) as { schema: string };
  const type = avro.Type.forSchema(JSON.parse(schema) as avro.Schema, {
    typeHook: (s: unknown) => (s === 'long' || (typeof s === 'object' && s !== null && (s as { type?: unknown }).type === 'long') ? readerLong : undefined),
  });
  return { id, schema: JSON.parse(schema), value: type.fromBuffer(bytes.subarray(5)) };
}

function plain(value: unknown): unknown {
  if (Buffer.isBuffer(value)) return value;
  if (Array.isArray(value)) return value.map(plain);
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
  return value;
}

async function versions(subject: string): Promise<number[]> {
  const response = await fetch(`${registry.url}/subjects/${encodeURIComponent(subject)}/versions`);
  return response.status === 404 ? [] : ((await response.json()) as number[]);
}

function table(topic: string, extra: { name: string; schema: ConnectSchema }[] = []): TableEnvelope {
  return new TableEnvelope({
    topic,
    columns: [
      { name: 'id', schema: Schema.int64() },
      { name: 'email', schema: Schema.string() },
      { name: 'balance', schema: Schema.optional(decimalSchema(30, 4)) },
      { name: 'seen_at', schema: Schema.optional(timestampSchema(6, 'adaptive')) },
      { name: 'updated', schema: Schema.optional(zonedTimestampSchema()) },
      { name: 'doc', schema: Schema.optional(jsonSchema()) },
      { name: 'tiny', schema: Schema.int16() },
      { name: 'raw', schema: Schema.optional(Schema.bytes()) },
      ...extra,
    ],
    keyColumns: ['id'],
    sourceSchema: POSTGRES_SOURCE_SCHEMA,
    tombstonesOnDelete: true,
  });
}

const source = postgresSource({
  name: 'it', commitMicros: 1_700_000_000_123_456n, snapshot: 'false', db: 'app', schema: 'public', table: 'accounts',
  txId: 9_223_372_036_854_775_807n, lsn: 2n ** 63n - 2n, lastCommitLsn: null,
});

const row = {
  id: -(2n ** 63n),
  email: 'a@example.com',
  balance: decimalValue('-12345678901234567890123456.1234', 4),
  seen_at: 1_704_164_645_123_456n,
  updated: '2024-01-02T03:04:05.123456Z',
  doc: '{"a": 1.50, "b": [true, null]}',
  tiny: -32768,
  raw: Buffer.from([0, 1, 254, 255]),
};

describe('Avro converter with a Schema Registry', () => {
  it('writes the Confluent wire format; a REST-only reader gets every value back exactly', async () => {
    const topic = `it_${randomUUID().slice(0, 8)}.public.accounts`;
    const converter = createConverter({
      'key.converter': 'io.confluent.connect.avro.AvroConverter',
      'key.converter.schema.registry.url': registry.url,
      'value.converter': 'io.confluent.connect.avro.AvroConverter',
      'value.converter.schema.registry.url': registry.url,
    });
    const [event] = table(topic).rowEvents({ op: 'c', before: null, after: row, source, processedMicros: 1_700_000_000_999_999n });
    const key = await readConfluent((await converter.serializeKey(event!))!);
    assert.deepEqual(plain(key.value), { id: -(2n ** 63n) });
    // the test registry answers with full names, Confluent with name + namespace: accept both spellings
    const keySchema = key.schema as { name: string; namespace?: string };
    assert.equal(keySchema.namespace ? `${keySchema.namespace}.${keySchema.name}` : keySchema.name, `${topic}.Key`);
    const value = await readConfluent((await converter.serializeValue(event!))!);
    const v = plain(value.value) as { after: { balance: Buffer }; source: Record<string, unknown> } & Record<string, unknown>;
    assert.equal(v['op'], 'c');
    assert.equal(v['before'], null);
    assert.deepEqual(v['ts_ns'], 1_700_000_000_999_999_000n);
    assert.deepEqual({ ...v.after, balance: null }, { ...row, balance: null });
    assert.equal(decimalToPlainString(decodeDecimal(v.after.balance, 4)), '-12345678901234567890123456.1234');
    assert.equal(v.source['txId'], 9_223_372_036_854_775_807n);
    assert.equal(v.source['lsn'], 2n ** 63n - 2n);
    assert.equal(v.source['snapshot'], 'false');
    assert.deepEqual(await versions(`${topic}-key`), [1]);
    assert.deepEqual(await versions(`${topic}-value`), [1]);
  });

  it('logical types, arrays with nulls, maps and names needing scrubbing survive the round trip', async () => {
    const topic = `it-${randomUUID().slice(0, 8)}.public.all_types`;
    const converter = new AvroConverter({ isKey: false, registry: new SchemaRegistryClient({ url: registry.url }) });
    const wide = new TableEnvelope({
      topic,
      columns: [
        { name: 'id', schema: Schema.int32() },
        { name: 'vsd', schema: Schema.optional(variableScaleDecimalSchema()) },
        { name: 'point', schema: Schema.optional(pointSchema()) },
        { name: 'geom', schema: geometrySchema() },
        { name: 'bits', schema: Schema.optional(bitsSchema(10)) },
        { name: 'ints', schema: Schema.optional(Schema.array(Schema.optional(Schema.int64()))) },
        { name: 'tags', schema: Schema.optional(Schema.map(Schema.string(), Schema.optional(Schema.string()))) },
        { name: 'pairs', schema: Schema.optional(Schema.map(Schema.int16(), Schema.float64())) },
        { name: '2nd col', schema: Schema.optional(Schema.int8()) },
        { name: 'f32', schema: Schema.float32() },
      ],
      keyColumns: ['id'],
      sourceSchema: POSTGRES_SOURCE_SCHEMA,
      tombstonesOnDelete: true,
    });
    const after = {
      id: 7,
      vsd: variableScaleDecimalValue('-3.14159265358979323846264338327950288'),
      point: pointValue(1.5, -2),
      geom: geometryValue(Buffer.from('0101000000000000000000f03f0000000000000040', 'hex'), 4326),
      bits: bitsFromBitString('1000000101'),
      ints: [2n ** 63n - 1n, null, -(2n ** 63n)],
      tags: new Map([['a', 'x'], ['b', null]]),
      pairs: new Map([[3, 0.5], [-4, 1.25]]),
      '2nd col': -128,
      f32: Math.fround(1.1),
    };
    const [e] = wide.rowEvents({ op: 'c', before: null, after, source });
    const decoded = plain((await readConfluent((await converter.fromConnectData(topic, e!.valueSchema, e!.value))!)).value) as {
      after: Record<string, unknown>;
    };
    assert.deepEqual(decoded.after, {
      id: 7,
      vsd: { scale: 35, value: Buffer.from((after.vsd as { value: Uint8Array }).value) },
      point: { x: 1.5, y: -2, wkb: Buffer.from(after.point.wkb!), srid: null },
      geom: { wkb: after.geom.wkb, srid: 4326 },
      bits: Buffer.from([5, 2]),
      ints: [2n ** 63n - 1n, null, -(2n ** 63n)],
      tags: { a: 'x', b: null },
      pairs: [{ key: 3, value: 0.5 }, { key: -4, value: 1.25 }],
      x2nd_col: -128,
      f32: Math.fround(1.1),
    });
  });

  it('tombstones and null keys are null record parts', async () => {
    const topic = `it_${randomUUID().slice(0, 8)}.public.accounts`;
    const converter = new AvroConverter({ isKey: false, registry: new SchemaRegistryClient({ url: registry.url }) });
    const events = table(topic).rowEvents({ op: 'd', before: row, after: null, source });
    assert.equal(events.length, 2);
    assert.equal(await converter.fromConnectData(topic, events[1]!.valueSchema, events[1]!.value), null);
    const truncate = table(topic).truncateEvent({ source });
    const keyConverter = new AvroConverter({ isKey: true, registry: new SchemaRegistryClient({ url: registry.url }) });
    assert.equal(await keyConverter.fromConnectData(topic, truncate.keySchema, truncate.key), null);
  });

  it('registers once per schema, however many records', async () => {
    const topic = `it_${randomUUID().slice(0, 8)}.public.accounts`;
    const client = new SchemaRegistryClient({ url: registry.url });
    let calls = 0;
    const register = client.register.bind(client);
    client.register = (subject: string, schema: string) => {
      calls++;
      return register(subject, schema);
    };
    const converter = new AvroConverter({ isKey: false, registry: client });
    const t = table(topic);
    const outputs = await Promise.all(
      Array.from({ length: 50 }, (_, i) => {
        const [e] = t.rowEvents({ op: 'c', before: null, after: { ...row, id: BigInt(i) }, source });
        return converter.fromConnectData(topic, e!.valueSchema, e!.value);
      }),
    );
    assert.equal(calls, 1);
    assert.equal(new Set(outputs.map((b) => b!.readUInt32BE(1))).size, 1);
  });

  it('a compatible change registers a new version; an incompatible one is a SchemaEvolutionError naming what changed', async () => {
    const topic = `it_${randomUUID().slice(0, 8)}.public.accounts`;
    const converter = new AvroConverter({ isKey: false, registry: new SchemaRegistryClient({ url: registry.url }) });
    const produce = async (t: TableEnvelope, after: Record<string, unknown>) => {
      const [e] = t.rowEvents({ op: 'c', before: null, after, source });
      return converter.fromConnectData(topic, e!.valueSchema, e!.value);
    };
    const v1 = await produce(table(topic), row);
    // a new nullable column: compatible under BACKWARD
    const v2 = await produce(table(topic, [{ name: 'phone', schema: Schema.optional(Schema.string()) }]), { ...row, phone: '555' });
    assert.notEqual(v1!.readUInt32BE(1), v2!.readUInt32BE(1));
    assert.deepEqual(await versions(`${topic}-value`), [1, 2]);
    const decoded = plain((await readConfluent(v2!)).value) as { after: Record<string, unknown> };
    assert.equal(decoded.after['phone'], '555');

    // a new NOT NULL column without a default: incompatible
    const broken = table(topic, [
      { name: 'phone', schema: Schema.optional(Schema.string()) },
      { name: 'age', schema: Schema.int32() },
    ]);
    await assert.rejects(
      produce(broken, { ...row, phone: null, age: 3 }),
      (error: unknown) => {
        assert.ok(error instanceof SchemaEvolutionError, String(error));
        assert.equal(error.retriable, false);
        assert.match(error.message, new RegExp(`subject "${topic.replaceAll('.', '\\.')}-value"`));
        assert.match(error.message, /compatibility level BACKWARD/);
        assert.match(error.message, /field "age" \(int\) was added to record it_\w+\.public\.accounts\.Value without a default/);
        assert.equal(error.context['subject'], `${topic}-value`);
        return true;
      },
    );
    assert.deepEqual(await versions(`${topic}-value`), [1, 2]);

    // a type change, under FULL compatibility
    const subject = `${topic}-value`;
    await fetch(`${registry.url}/config/${encodeURIComponent(subject)}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/vnd.schemaregistry.v1+json' },
      body: JSON.stringify({ compatibility: 'FULL' }),
    });
    const typeChanged = new TableEnvelope({
      topic,
      columns: [
        { name: 'id', schema: Schema.int64() },
        { name: 'email', schema: Schema.int32() },
      ],
      keyColumns: ['id'],
      sourceSchema: POSTGRES_SOURCE_SCHEMA,
      tombstonesOnDelete: true,
    });
    await assert.rejects(produce(typeChanged, { id: 1n, email: 5 }), (error: unknown) => {
      assert.ok(error instanceof SchemaEvolutionError);
      assert.match(error.message, /compatibility level FULL/);
      assert.match(error.message, /field "email" of record [\w.]+\.Value: type changed from string to int/);
      return true;
    });
  });

  it('transaction, heartbeat events register under their own subjects', async () => {
    const prefix = `it_${randomUUID().slice(0, 8)}`;
    const converter = createConverter({
      'key.converter': 'avro',
      'key.converter.schema.registry.url': registry.url,
      'value.converter': 'avro',
      'value.converter.schema.registry.url': registry.url,
    });
    const tx = new TransactionTracker(prefix);
    const events: ChangeEvent[] = [...tx.begin('1:2', 5n)];
    tx.block('public.accounts');
    events.push(tx.end(6n), heartbeatEvent(prefix, 7n));
    for (const e of events) {
      const value = await readConfluent((await converter.serializeValue(e))!);
      assert.ok(value.value);
      await converter.serializeKey(e);
    }
    const end = plain((await readConfluent((await converter.serializeValue(events[1]!))!)).value) as Record<string, unknown>;
    assert.deepEqual(end, {
      status: 'END', id: '1:2', event_count: 1n, data_collections: [{ data_collection: 'public.accounts', event_count: 1n }], ts_ms: 6n,
    });
    assert.deepEqual(await versions(`${prefix}.transaction-value`), [1]);
    assert.deepEqual(await versions(`__debezium-heartbeat.${prefix}-key`), [1]);
  });

  it('an unreachable registry is a retriable ConnectionLostError', async () => {
    const converter = new AvroConverter({ isKey: false, registry: new SchemaRegistryClient({ url: 'http://127.0.0.1:9', timeoutMs: 2000 }) });
    const [e] = table('x.y.z').rowEvents({ op: 'c', before: null, after: row, source });
    await assert.rejects(converter.fromConnectData('x.y.z', e!.valueSchema, e!.value), (error: unknown) => {
      assert.ok(error instanceof ConnectionLostError);
      assert.equal(error.retriable, true);
      return true;
    });
  });
});
