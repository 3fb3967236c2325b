import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { JsonConverter, float32Text } from '../../src/converters/json.js';
import { createConverter } from '../../src/converters/factory.js';
import { DataError } from '../../src/converters/connect-data.js';
import { decimalSchema, variableScaleDecimalSchema } from '../../src/events/logical.js';
import { Schema } from '../../src/events/schema.js';
import { POSTGRES_SOURCE_SCHEMA } from '../../src/events/source-info.js';
import { decimalValue, variableScaleDecimalValue } from '../../src/events/values.js';
import { parseExactJson } from './exact-json.js';

const withSchemas = new JsonConverter();
const payloadOnly = new JsonConverter({ schemasEnable: false });

describe('JsonConverter schema JSON', () => {
  it('writes fields in JsonConverter order, "field" last', () => {
    const key = Schema.struct('dbserver1.inventory.customers.Key', [Schema.field('id', Schema.int32())]);
    assert.equal(
      withSchemas.toJsonText(key, { id: 1001 }),
      '{"schema":{"type":"struct","fields":[{"type":"int32","optional":false,"field":"id"}],"optional":false,' +
        '"name":"dbserver1.inventory.customers.Key"},"payload":{"id":1001}}',
    );
    assert.equal(payloadOnly.toJsonText(key, { id: 1001 }), '{"id":1001}');
  });
  it('writes name, version, doc, parameters and default', () => {
    const snapshot = POSTGRES_SOURCE_SCHEMA.fields![4]!.schema;
    assert.equal(
      withSchemas.schemaJson(snapshot),
      '{"type":"string","optional":true,"name":"io.debezium.data.Enum","version":1,"parameters":{"allowed":' +
        '"true,first,first_in_data_collection,last_in_data_collection,last,false,incremental"},"default":"false"}',
    );
    assert.equal(
      withSchemas.schemaJson(variableScaleDecimalSchema()),
      '{"type":"struct","fields":[{"type":"int32","optional":false,"field":"scale"},{"type":"bytes","optional":false,' +
        '"field":"value"}],"optional":false,"name":"io.debezium.data.VariableScaleDecimal","version":1,"doc":"Variable scaled decimal"}',
    );
    const arr = Schema.array(Schema.optional(Schema.int32()));
    assert.equal(withSchemas.schemaJson(arr), '{"type":"array","items":{"type":"int32","optional":true},"optional":false}');
    const map = Schema.map(Schema.string(), Schema.int64());
    assert.equal(
      withSchemas.schemaJson(map),
      '{"type":"map","keys":{"type":"string","optional":false},"values":{"type":"int64","optional":false},"optional":false}',
    );
  });
  it('writes bigint defaults exactly', () => {
    const s = Schema.int64({ defaultValue: 9_223_372_036_854_775_807n });
    assert.equal(withSchemas.schemaJson(s), '{"type":"int64","optional":false,"default":9223372036854775807}');
  });
});

describe('JsonConverter values', () => {
  it('int64 extremes are written digit for digit', () => {
    const s = Schema.struct('t', [Schema.field('a', Schema.int64()), Schema.field('b', Schema.int64())]);
    const text = payloadOnly.toJsonText(s, { a: 9_223_372_036_854_775_807n, b: -9_223_372_036_854_775_808n })!;
    assert.equal(text, '{"a":9223372036854775807,"b":-9223372036854775808}');
    assert.deepEqual(parseExactJson(text), { a: 2n ** 63n - 1n, b: -(2n ** 63n) });
  });
  it('bytes as base64, decimals as base64 by default and as exact numbers with NUMERIC', () => {
    const s = Schema.struct('t', [
      Schema.field('raw', Schema.bytes()),
      Schema.field('price', decimalSchema(38, 10)),
      Schema.field('neg', decimalSchema(5, 3)),
    ]);
    const row = { raw: Buffer.from([0xfb, 0xff]), price: decimalValue('12345678901234567890123456.7890123456', 10), neg: decimalValue('-0.005', 3) };
    assert.equal(payloadOnly.toJsonText(s, row), `{"raw":"+/8=","price":"${Buffer.from(row.price as Uint8Array).toString('base64')}","neg":"+w=="}`);
    const numeric = new JsonConverter({ schemasEnable: false, decimalFormat: 'NUMERIC' });
    assert.equal(numeric.toJsonText(s, row), '{"raw":"+/8=","price":12345678901234567890123456.7890123456,"neg":-0.005}');
    // a VariableScaleDecimal is a struct, not a Connect Decimal: unaffected by decimal.format
    const vsd = Schema.struct('t', [Schema.field('n', variableScaleDecimalSchema())]);
    assert.equal(numeric.toJsonText(vsd, { n: variableScaleDecimalValue('1.5') }), '{"n":{"scale":1,"value":"Dw=="}}');
  });
  it('floats: shortest float32 digits, NaN and infinities as Jackson quotes them', () => {
    assert.equal(float32Text(1.1), '1.1');
    assert.equal(float32Text(Math.fround(0.1)), '0.1');
    assert.equal(float32Text(3.4028234663852886e38), '3.4028235e+38');
    const s = Schema.struct('t', [Schema.field('f', Schema.float32()), Schema.field('d', Schema.float64()), Schema.field('n', Schema.float64())]);
    assert.equal(payloadOnly.toJsonText(s, { f: Math.fround(1.1), d: 0.1, n: NaN }), '{"f":1.1,"d":0.1,"n":"NaN"}');
    assert.equal(payloadOnly.toJsonText(Schema.float64(), -Infinity), '"-Infinity"');
  });
  it('maps: string keys as objects, other keys as [key, value] pairs', () => {
    const strMap = Schema.map(Schema.string(), Schema.int32());
    assert.equal(payloadOnly.toJsonText(strMap, new Map([['a', 1], ['b', 2]])), '{"a":1,"b":2}');
    const intMap = Schema.map(Schema.int16(), Schema.float64());
    assert.equal(payloadOnly.toJsonText(intMap, new Map([[3, 0.5], [7, 1.5]])), '[[3,0.5],[7,1.5]]');
  });
  it('strings are escaped, JSON column text kept byte for byte inside the string', () => {
    const json = '{"a": [1, 2.50, "x\\u00e9"], "big": 12345678901234567890}';
    const text = payloadOnly.toJsonText(Schema.string(), json)!;
    assert.equal(JSON.parse(text), json);
    assert.equal(payloadOnly.toJsonText(Schema.string(), 'line\n"quoted" \u2028'), JSON.stringify('line\n"quoted" \u2028'));
  });
  it('null with a default becomes the default (replace.null.with.default), unless disabled', () => {
    const s = Schema.struct('t', [Schema.field('snapshot', POSTGRES_SOURCE_SCHEMA.fields![4]!.schema)]);
    assert.equal(payloadOnly.toJsonText(s, { snapshot: null }), '{"snapshot":"false"}');
    const keepNull = new JsonConverter({ schemasEnable: false, replaceNullWithDefault: false });
    assert.equal(keepNull.toJsonText(s, { snapshot: null }), '{"snapshot":null}');
  });
  it('null key / tombstone give null bytes; a required null is refused', async () => {
    assert.equal(await withSchemas.fromConnectData('t', null, null), null);
    const s = Schema.struct('t', [Schema.field('a', Schema.int32())]);
    assert.throws(() => withSchemas.toJsonText(s, { a: null }), (e: unknown) => e instanceof DataError && /a: null value/.test(e.message));
    assert.throws(() => withSchemas.toJsonText(s, { a: 2 ** 31 }), /out of range for int32/);
    assert.throws(() => withSchemas.toJsonText(Schema.int64(), 1.5), /expected a bigint/);
  });
});

describe('converter factory', () => {
  it('defaults to JSON with schemas, reads Kafka Connect property names', async () => {
    const c = createConverter({});
    const event = { topic: 't', keySchema: Schema.int32(), key: 1, valueSchema: Schema.string(), value: 'x' };
    assert.equal((await c.serializeKey(event as never))!.toString(), '{"schema":{"type":"int32","optional":false},"payload":1}');
    const plain = createConverter({ 'key.converter': 'json', 'key.converter.schemas.enable': 'false', 'value.converter.schemas.enable': false });
    assert.equal((await plain.serializeKey(event as never))!.toString(), '1');
    assert.equal((await plain.serializeValue(event as never))!.toString(), '"x"');
    assert.throws(() => createConverter({ 'value.converter': 'io.confluent.connect.avro.AvroConverter' }), /schema.registry.url is required/);
    assert.throws(() => createConverter({ 'value.converter': 'x.Y' }), /not supported/);
    assert.throws(() => createConverter({ 'value.converter.decimal.format': 'HEX' }), /BASE64 or NUMERIC/);
  });
});
