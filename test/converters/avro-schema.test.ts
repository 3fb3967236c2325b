import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import avro from 'avsc';
import { avscType, BIGINT_LONG_TYPE } from '../../src/converters/avro-long.js';
import { connectToAvro, scrubAvroName } from '../../src/converters/avro-schema.js';
import { describeAvroChanges } from '../../src/converters/avro-diff.js';
import { TableEnvelope } from '../../src/events/envelope.js';
import {
  dateSchema,
  decimalSchema,
  enumSchema,
  geometrySchema,
  timeSchema,
  timestampSchema,
  variableScaleDecimalSchema,
  zonedTimestampSchema,
} from '../../src/events/logical.js';
import { Schema } from '../../src/events/schema.js';
import { POSTGRES_SOURCE_SCHEMA } from '../../src/events/source-info.js';
import { parseExactJson } from './exact-json.js';

const avroOf = (s: Parameters<typeof connectToAvro>[0]) => parseExactJson(connectToAvro(s).text);

describe('Connect → Avro schema (Confluent AvroData rules)', () => {
  it('primitives, int8/int16 with connect.type', () => {
    assert.equal(avroOf(Schema.int32()), 'int');
    assert.equal(avroOf(Schema.int64()), 'long');
    assert.equal(avroOf(Schema.float32()), 'float');
    assert.equal(avroOf(Schema.float64()), 'double');
    assert.equal(avroOf(Schema.bytes()), 'bytes');
    assert.deepEqual(avroOf(Schema.int8()), { type: 'int', 'connect.type': 'int8' });
    assert.deepEqual(avroOf(Schema.int16()), { type: 'int', 'connect.type': 'int16' });
    assert.deepEqual(avroOf(Schema.optional(Schema.string())), ['null', 'string']);
  });
  it('Decimal: bytes with scale, precision, connect metadata and logicalType, in Confluent’s order', () => {
    const text = connectToAvro(decimalSchema(10, 2)).text;
    assert.equal(
      text,
      '{"type":"bytes","scale":2,"precision":10,"connect.version":1,"connect.parameters":{"scale":"2",' +
        '"connect.decimal.precision":"10"},"connect.name":"org.apache.kafka.connect.data.Decimal","logicalType":"decimal"}',
    );
    const noPrecision = Schema.bytes({ name: 'org.apache.kafka.connect.data.Decimal', version: 1, parameters: { scale: '3' } });
    assert.deepEqual(avroOf(noPrecision), {
      type: 'bytes', scale: 3n, precision: 64n, 'connect.version': 1n, 'connect.parameters': { scale: '3' },
      'connect.name': 'org.apache.kafka.connect.data.Decimal', logicalType: 'decimal',
    });
  });
  it('Connect Date/Time/Timestamp get Avro logical types; Debezium ones only connect.name', () => {
    assert.deepEqual(avroOf(dateSchema('connect')), { type: 'int', 'connect.version': 1n, 'connect.name': 'org.apache.kafka.connect.data.Date', logicalType: 'date' });
    assert.deepEqual(avroOf(timeSchema(3, 'connect')), { type: 'int', 'connect.version': 1n, 'connect.name': 'org.apache.kafka.connect.data.Time', logicalType: 'time-millis' });
    assert.deepEqual(avroOf(timestampSchema(3, 'connect')), {
      type: 'long', 'connect.version': 1n, 'connect.name': 'org.apache.kafka.connect.data.Timestamp', logicalType: 'timestamp-millis',
    });
    assert.deepEqual(avroOf(timestampSchema(6, 'adaptive')), { type: 'long', 'connect.version': 1n, 'connect.name': 'io.debezium.time.MicroTimestamp' });
    assert.deepEqual(avroOf(Schema.optional(zonedTimestampSchema())), ['null', { type: 'string', 'connect.version': 1n, 'connect.name': 'io.debezium.time.ZonedTimestamp' }]);
    assert.deepEqual(avroOf(enumSchema(['a', 'b'])), {
      type: 'string', 'connect.version': 1n, 'connect.parameters': { allowed: 'a,b' }, 'connect.name': 'io.debezium.data.Enum',
    });
  });
  it('optional with a default puts the type first; fields carry the default', () => {
    const s = Schema.struct('ns.R', [
      Schema.field('a', Schema.optional(Schema.int32({ defaultValue: 7 }))),
      Schema.field('b', Schema.int64({ defaultValue: 9_223_372_036_854_775_807n })),
      Schema.field('c', Schema.optional(Schema.string())),
      Schema.field('d', Schema.bytes({ defaultValue: new Uint8Array([0x41, 0xe9]) })),
    ]);
    assert.equal(
      connectToAvro(s).text,
      '{"type":"record","name":"R","namespace":"ns","fields":[' +
        '{"name":"a","type":[{"type":"int","connect.default":7},"null"],"default":7},' +
        '{"name":"b","type":{"type":"long","connect.default":9223372036854775807},"default":9223372036854775807},' +
        '{"name":"c","type":["null","string"],"default":null},' +
        '{"name":"d","type":{"type":"bytes","connect.default":"A\u00e9"},"default":"A\u00e9"}' +
        '],"connect.name":"ns.R"}',
    );
  });
  it('structs: records named from the Connect name, defined once then referenced', () => {
    const t = new TableEnvelope({
      topic: 'dbserver1.inventory.customers',
      columns: [{ name: 'id', schema: Schema.int32() }],
      keyColumns: ['id'],
      sourceSchema: POSTGRES_SOURCE_SCHEMA,
      tombstonesOnDelete: true,
    });
    const env = avroOf(t.envelopeSchema) as { [k: string]: unknown };
    assert.equal(env['name'], 'Envelope');
    assert.equal(env['namespace'], 'dbserver1.inventory.customers');
    assert.equal(env['connect.version'], 2n);
    assert.equal(env['connect.name'], 'dbserver1.inventory.customers.Envelope');
    const fields = env['fields'] as { name: string; type: unknown }[];
    assert.deepEqual(fields.map((f) => f.name), ['before', 'after', 'source', 'transaction', 'op', 'ts_ms', 'ts_us', 'ts_ns']);
    assert.deepEqual((fields[0]!.type as unknown[])[1], {
      type: 'record', name: 'Value', fields: [{ name: 'id', type: 'int' }], 'connect.name': 'dbserver1.inventory.customers.Value',
    });
    assert.deepEqual(fields[1]!.type, ['null', 'Value']);
    const src = fields[2]!.type as { [k: string]: unknown };
    assert.deepEqual([src['name'], src['namespace'], src['connect.version']], ['Source', 'io.debezium.connector.postgresql', 1n]);
    const snapshot = (src['fields'] as { name: string }[])[4];
    assert.deepEqual(snapshot, {
      name: 'snapshot',
      type: [
        {
          type: 'string', 'connect.version': 1n,
          'connect.parameters': { allowed: 'true,first,first_in_data_collection,last_in_data_collection,last,false,incremental' },
          'connect.default': 'false', 'connect.name': 'io.debezium.data.Enum',
        },
        'null',
      ],
      default: 'false',
    });
    assert.deepEqual(fields[3]!.type, [
      'null',
      {
        type: 'record', name: 'block', namespace: 'event',
        fields: [{ name: 'id', type: 'string' }, { name: 'total_order', type: 'long' }, { name: 'data_collection_order', type: 'long' }],
        'connect.version': 1n, 'connect.name': 'event.block',
      },
    ]);
    // avsc accepts it, and so Avro does
    avscType(connectToAvro(t.envelopeSchema).schema);
  });
  it('logical structs: VariableScaleDecimal with connect.doc, Geometry optional, repeated use referenced', () => {
    const s = Schema.struct('x.Value', [
      Schema.field('a', variableScaleDecimalSchema()),
      Schema.field('b', Schema.optional(variableScaleDecimalSchema())),
      Schema.field('g', geometrySchema()),
    ]);
    const json = avroOf(s) as { fields: { name: string; type: unknown; default?: unknown }[] };
    assert.deepEqual(json.fields[0]!.type, {
      type: 'record', name: 'VariableScaleDecimal', namespace: 'io.debezium.data',
      fields: [{ name: 'scale', type: 'int' }, { name: 'value', type: 'bytes' }],
      'connect.doc': 'Variable scaled decimal', 'connect.version': 1n, 'connect.name': 'io.debezium.data.VariableScaleDecimal',
    });
    assert.deepEqual(json.fields[1], { name: 'b', type: ['null', 'io.debezium.data.VariableScaleDecimal'], default: null });
    assert.deepEqual(json.fields[2]!.default, null);
    assert.equal(((json.fields[2]!.type as unknown[])[1] as { name: string }).name, 'Geometry');
  });
  it('maps: string keys as Avro maps, others as arrays of MapEntry records', () => {
    assert.deepEqual(avroOf(Schema.map(Schema.string(), Schema.int32())), { type: 'map', values: 'int' });
    assert.deepEqual(avroOf(Schema.map(Schema.int16(), Schema.float64())), {
      type: 'array',
      items: {
        type: 'record', name: 'MapEntry', namespace: 'io.confluent.connect.avro',
        fields: [{ name: 'key', type: { type: 'int', 'connect.type': 'int16' } }, { name: 'value', type: 'double' }],
      },
    });
  });
  it('unnamed structs are ConnectDefault, ConnectDefault2, ...', () => {
    const s = Schema.struct(undefined, [Schema.field('inner', Schema.struct(undefined, [Schema.field('x', Schema.int32())]))]);
    const json = avroOf(s) as { name: string; namespace: string; fields: { type: { name: string } }[] };
    assert.deepEqual([json.name, json.namespace, json.fields[0]!.type.name], ['ConnectDefault', 'io.confluent.connect.avro', 'ConnectDefault2']);
  });
  it('scrubs invalid names with Confluent’s rules, keeps connect.name', () => {
    assert.equal(scrubAvroName('customers'), 'customers');
    assert.equal(scrubAvroName('my-table'), 'my_table');
    assert.equal(scrubAvroName('1abc'), 'x1abc');
    assert.equal(scrubAvroName('a b'), 'a_b');
    assert.equal(scrubAvroName('naïve'), 'na_C3_AFve');
    assert.equal(scrubAvroName('_ok_9'), '_ok_9');
    const s = Schema.struct('my-server.1db.my table.Value', [Schema.field('2nd col', Schema.int32()), Schema.field('e-mail', Schema.string())]);
    const json = avroOf(s) as { name: string; namespace: string; fields: { name: string }[]; 'connect.name': string };
    assert.deepEqual(
      [json.namespace, json.name, json.fields.map((f) => f.name), json['connect.name']],
      ['my_server.x1db.my_table', 'Value', ['x2nd_col', 'e_mail'], 'my-server.1db.my table.Value'],
    );
    const translation = connectToAvro(s);
    const type = avscType(translation.schema);
    const decoded = type.fromBuffer(type.toBuffer(translation.encode({ '2nd col': 5, 'e-mail': 'a@b' })));
    assert.deepEqual({ ...(decoded as object) }, { x2nd_col: 5, e_mail: 'a@b' });
  });
});

describe('BigInt longs', () => {
  it('round-trip every edge of int64 exactly', () => {
    const type = avscType('long');
    for (const n of [0n, 1n, -1n, 2n ** 53n + 1n, -(2n ** 53n) - 1n, 2n ** 63n - 1n, -(2n ** 63n), 1_704_164_645_123_456_789n]) {
      assert.equal(type.fromBuffer(type.toBuffer(n)), n);
    }
    assert.equal(type, BIGINT_LONG_TYPE);
    assert.throws(() => type.toBuffer(2n ** 63n));
    assert.throws(() => type.toBuffer(5));
  });
  it('use the standard zigzag varint encoding (readable by any Avro decoder)', () => {
    const plain = avro.Type.forSchema('long');
    const type = avscType('long');
    for (const n of [0, 1, -1, 300, -(2 ** 40), 2 ** 52 - 1]) {
      assert.deepEqual(type.toBuffer(BigInt(n)), plain.toBuffer(n));
    }
  });
  it('inside records and unions', () => {
    const s = Schema.struct('r.R', [Schema.field('a', Schema.optional(Schema.int64())), Schema.field('b', Schema.int64())]);
    const t = connectToAvro(s);
    const type = avscType(t.schema);
    const value = { a: 2n ** 63n - 1n, b: -(2n ** 63n) };
    assert.deepEqual({ ...(type.fromBuffer(type.toBuffer(t.encode(value))) as object) }, value);
    assert.deepEqual({ ...(type.fromBuffer(type.toBuffer(t.encode({ a: null, b: 0n }))) as object) }, { a: null, b: 0n });
  });
});

describe('describeAvroChanges', () => {
  const v1 = connectToAvro(Schema.struct('t.Value', [Schema.field('id', Schema.int32()), Schema.field('name', Schema.string())])).text;
  it('names added fields without default, removed fields and type changes', () => {
    const v2 = connectToAvro(
      Schema.struct('t.Value', [Schema.field('id', Schema.int64()), Schema.field('email', Schema.string()), Schema.field('opt', Schema.optional(Schema.string()))]),
    ).text;
    assert.deepEqual(describeAvroChanges(v1, v2), [
      'field "id" of record t.Value: type changed from int to long',
      'field "email" (string) was added to record t.Value without a default',
      'field "opt" (optional string) was added to record t.Value with a default',
      'field "name" (string) was removed from record t.Value (it had no default)',
    ]);
    const v3 = connectToAvro(Schema.struct('t.Value', [Schema.field('id', Schema.int32()), Schema.field('name', Schema.optional(Schema.string()))])).text;
    assert.deepEqual(describeAvroChanges(v1, v3), ['field "name" of record t.Value: type changed from string to optional string']);
  });
});
