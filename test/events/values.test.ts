import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  binarySchema,
  bitsSchema,
  decimalSchema,
  enumSchema,
  geometrySchema,
  intervalSchema,
  unsignedBigintSchema,
  variableScaleDecimalSchema,
} from '../../src/events/logical.js';
import { Logical } from '../../src/events/schema.js';
import {
  bigintToTwosComplement,
  binaryValue,
  bitsFromBigEndian,
  bitsFromBitString,
  decimalToPlainString,
  decimalValue,
  decodeDecimal,
  int64Value,
  intervalIsoString,
  intervalValue,
  microDuration,
  parseDecimal,
  pointValue,
  rescaleDecimal,
  twosComplementToBigint,
  unsignedBigintValue,
  variableScaleDecimalValue,
  type VariableScaleDecimal,
} from '../../src/events/values.js';

const bytes = (...b: number[]) => new Uint8Array(b);

describe('two’s complement (Java BigInteger.toByteArray)', () => {
  it('uses the minimal length with a sign bit', () => {
    assert.deepEqual(bigintToTwosComplement(0n), bytes(0));
    assert.deepEqual(bigintToTwosComplement(1n), bytes(1));
    assert.deepEqual(bigintToTwosComplement(127n), bytes(0x7f));
    assert.deepEqual(bigintToTwosComplement(128n), bytes(0, 0x80));
    assert.deepEqual(bigintToTwosComplement(255n), bytes(0, 0xff));
    assert.deepEqual(bigintToTwosComplement(-1n), bytes(0xff));
    assert.deepEqual(bigintToTwosComplement(-128n), bytes(0x80));
    assert.deepEqual(bigintToTwosComplement(-129n), bytes(0xff, 0x7f));
    assert.deepEqual(bigintToTwosComplement(-32768n), bytes(0x80, 0x00));
  });
  it('round-trips huge and extreme values', () => {
    for (const n of [2n ** 63n - 1n, -(2n ** 63n), 2n ** 64n - 1n, -(10n ** 40n) + 7n, 10n ** 65n, 123456789012345678901234567890n]) {
      assert.equal(twosComplementToBigint(bigintToTwosComplement(n)), n);
    }
    assert.deepEqual(bigintToTwosComplement(2n ** 64n - 1n), bytes(0, 255, 255, 255, 255, 255, 255, 255, 255));
  });
});

describe('parseDecimal', () => {
  it('keeps the scale the text shows', () => {
    assert.deepEqual(parseDecimal('12.30'), { unscaled: 1230n, scale: 2 });
    assert.deepEqual(parseDecimal('-0.005'), { unscaled: -5n, scale: 3 });
    assert.deepEqual(parseDecimal('+7'), { unscaled: 7n, scale: 0 });
    assert.deepEqual(parseDecimal('.5'), { unscaled: 5n, scale: 1 });
    assert.deepEqual(parseDecimal('1.5E+3'), { unscaled: 1500n, scale: 0 });
    assert.deepEqual(parseDecimal('1.5e-3'), { unscaled: 15n, scale: 4 });
  });
  it('names the special values and refuses garbage', () => {
    assert.equal(parseDecimal('NaN'), 'NaN');
    assert.equal(parseDecimal('Infinity'), 'Infinity');
    assert.equal(parseDecimal('-Infinity'), '-Infinity');
    assert.throws(() => parseDecimal('1,5'), /cannot read/);
    assert.throws(() => parseDecimal(''), /cannot read/);
  });
  it('prints plain strings like BigDecimal.toPlainString', () => {
    assert.equal(decimalToPlainString({ unscaled: -5n, scale: 3 }), '-0.005');
    assert.equal(decimalToPlainString({ unscaled: 1230n, scale: 2 }), '12.30');
    assert.equal(decimalToPlainString({ unscaled: 0n, scale: 2 }), '0.00');
    assert.equal(decimalToPlainString({ unscaled: 42n, scale: 0 }), '42');
  });
  it('rescales only without losing digits', () => {
    assert.deepEqual(rescaleDecimal({ unscaled: 15n, scale: 1 }, 3), { unscaled: 1500n, scale: 3 });
    assert.deepEqual(rescaleDecimal({ unscaled: 1500n, scale: 3 }, 1), { unscaled: 15n, scale: 1 });
    assert.throws(() => rescaleDecimal({ unscaled: 1501n, scale: 3 }, 1), /more fractional digits/);
  });
});

describe('decimal.handling.mode', () => {
  it('builds the schemas Debezium builds', () => {
    assert.deepEqual(decimalSchema(10, 2, 'precise'), {
      type: 'bytes',
      optional: false,
      name: Logical.Decimal,
      version: 1,
      parameters: { scale: '2', 'connect.decimal.precision': '10' },
    });
    assert.deepEqual(Object.keys(decimalSchema(10, 2).parameters!), ['scale', 'connect.decimal.precision']);
    assert.equal(decimalSchema(10, 2, 'string').type, 'string');
    assert.equal(decimalSchema(10, 2, 'double').type, 'float64');
    assert.equal(variableScaleDecimalSchema('precise').name, Logical.VariableScaleDecimal);
    assert.deepEqual(
      variableScaleDecimalSchema().fields!.map((f) => [f.name, f.schema.type]),
      [['scale', 'int32'], ['value', 'bytes']],
    );
  });
  it('precise: unscaled value at the column scale, big-endian two’s complement', () => {
    assert.deepEqual(decimalValue('1.5', 2, 'precise'), bytes(0x00, 0x96)); // 150
    assert.deepEqual(decimalValue('-1.5', 2, 'precise'), bytes(0xff, 0x6a)); // -150
    assert.deepEqual(decimalValue('0', 2, 'precise'), bytes(0));
    const huge = '-12345678901234567890123456789012345.678901234567890123456789';
    const v = decimalValue(huge, 30, 'precise') as Uint8Array;
    assert.equal(decimalToPlainString(decodeDecimal(v, 30)), '-12345678901234567890123456789012345.678901234567890123456789000000');
    assert.throws(() => decimalValue('1.234', 2, 'precise'), /scale 2/);
  });
  it('string: plain text at the column scale', () => {
    assert.equal(decimalValue('1.5', 2, 'string'), '1.50');
    assert.equal(decimalValue('-0.005', 3, 'string'), '-0.005');
    assert.equal(decimalValue('99999999999999999999.99', 2, 'string'), '99999999999999999999.99');
    assert.equal(decimalValue('1.50', null, 'string'), '1.50');
  });
  it('double: nearest double', () => {
    assert.equal(decimalValue('1.5', 2, 'double'), 1.5);
    assert.equal(decimalValue('-0.1', 1, 'double'), -0.1);
  });
  it('special values: Debezium names in string mode, IEEE in double mode, refused in precise mode', () => {
    assert.equal(decimalValue('NaN', 2, 'string'), 'NAN');
    assert.equal(decimalValue('Infinity', 2, 'string'), 'POSITIVE_INFINITY');
    assert.equal(decimalValue('-Infinity', 2, 'string'), 'NEGATIVE_INFINITY');
    assert.ok(Number.isNaN(decimalValue('NaN', 2, 'double')));
    assert.equal(decimalValue('-Infinity', 2, 'double'), -Infinity);
    assert.throws(() => decimalValue('NaN', 2, 'precise'), /decimal.handling.mode/);
  });
  it('VariableScaleDecimal keeps each value’s own scale', () => {
    const v = variableScaleDecimalValue('-12.345') as VariableScaleDecimal;
    assert.equal(v.scale, 3);
    assert.equal(twosComplementToBigint(v.value), -12345n);
    assert.equal(variableScaleDecimalValue('12.345', 'string'), '12.345');
    assert.equal(variableScaleDecimalValue('12.5', 'double'), 12.5);
  });
});

describe('integers', () => {
  it('int64 keeps ±2^63 exactly and refuses beyond', () => {
    assert.equal(int64Value('9223372036854775807'), 9_223_372_036_854_775_807n);
    assert.equal(int64Value('-9223372036854775808'), -9_223_372_036_854_775_808n);
    assert.equal(int64Value(42), 42n);
    assert.throws(() => int64Value('9223372036854775808'), /does not fit/);
    assert.throws(() => int64Value(2 ** 60), /not an exact integer/);
  });
  it('BIGINT UNSIGNED: long wraps like Debezium, precise keeps 2^64-1', () => {
    assert.equal(unsignedBigintSchema('long').type, 'int64');
    assert.deepEqual(unsignedBigintSchema('precise').parameters, { scale: '0', 'connect.decimal.precision': '20' });
    assert.equal(unsignedBigintValue('18446744073709551615', 'long'), -1n);
    assert.equal(unsignedBigintValue('9223372036854775808', 'long'), -(2n ** 63n));
    assert.equal(unsignedBigintValue('9223372036854775807', 'long'), 2n ** 63n - 1n);
    const precise = unsignedBigintValue('18446744073709551615', 'precise') as Uint8Array;
    assert.equal(twosComplementToBigint(precise), 18_446_744_073_709_551_615n);
    assert.throws(() => unsignedBigintValue('18446744073709551616', 'precise'), /does not fit/);
    assert.throws(() => unsignedBigintValue(-1n, 'precise'), /does not fit/);
  });
});

describe('binary.handling.mode', () => {
  const data = bytes(0xfb, 0xff, 0x00, 0x10);
  it('bytes keeps the bytes, others are strings', () => {
    assert.equal(binaryValue(data, 'bytes'), data);
    assert.equal(binarySchema('bytes').type, 'bytes');
    assert.equal(binarySchema('hex').type, 'string');
  });
  it('base64 with padding', () => {
    assert.equal(binaryValue(data, 'base64'), '+/8AEA==');
    assert.equal(binaryValue(bytes(1, 2, 3), 'base64'), 'AQID');
  });
  it('base64-url-safe keeps the padding (Java getUrlEncoder)', () => {
    assert.equal(binaryValue(data, 'base64-url-safe'), '-_8AEA==');
    assert.equal(binaryValue(bytes(0xfb), 'base64-url-safe'), '-w==');
  });
  it('hex is lower case', () => {
    assert.equal(binaryValue(data, 'hex'), 'fbff0010');
    assert.equal(binaryValue(bytes(), 'hex'), '');
  });
});

describe('Bits, Enum, geometry', () => {
  it('bits are little-endian, sized like Debezium', () => {
    assert.deepEqual(bitsFromBitString('101'), bytes(5));
    assert.deepEqual(bitsFromBitString('1000000001'), bytes(1, 2));
    assert.deepEqual(bitsFromBitString('0000000000101'), bytes(5));
    assert.deepEqual(bitsFromBitString('000'), bytes());
    assert.deepEqual(bitsFromBitString('101', 2), bytes(5, 0));
    assert.deepEqual(bitsFromBigEndian(bytes(0x01, 0x02), 16), bytes(0x02, 0x01));
    assert.deepEqual(bitsFromBigEndian(bytes(0x05), 12), bytes(0x05, 0x00));
    assert.deepEqual(bitsSchema(10).parameters, { length: '10' });
  });
  it('enum lists its allowed values', () => {
    assert.deepEqual(enumSchema(['small', 'medium', 'large']).parameters, { allowed: 'small,medium,large' });
  });
  it('point carries its WKB, geometry is optional', () => {
    const p = pointValue(1, 2);
    assert.equal(Buffer.from(p.wkb!).toString('hex'), '0101000000000000000000f03f0000000000000040');
    assert.equal(p.srid, null);
    assert.equal(geometrySchema().optional, true);
  });
});

describe('interval.handling.mode', () => {
  const parts = { years: 1, months: 2, days: 3, hours: 4, minutes: 5, seconds: '6.789000' };
  it('numeric: MicroDuration with 30.4375-day months, exact', () => {
    assert.equal(intervalSchema('numeric').name, Logical.MicroDuration);
    assert.equal(microDuration({ years: 0, months: 1, days: 0, hours: 0, minutes: 0, seconds: 0 }), 2_629_800_000_000n);
    assert.equal(
      intervalValue(parts),
      14n * 2_629_800_000_000n + (3n * 86_400n + 4n * 3600n + 5n * 60n + 6n) * 1_000_000n + 789_000n,
    );
    assert.equal(microDuration({ years: 0, months: 0, days: -1, hours: 0, minutes: 0, seconds: '-0.5' }), -86_400_500_000n);
  });
  it('string: ISO 8601 with stripped seconds', () => {
    assert.equal(intervalSchema('string').name, Logical.Interval);
    assert.equal(intervalValue(parts, 'string'), 'P1Y2M3DT4H5M6.789S');
    assert.equal(intervalIsoString({ years: 0, months: 0, days: 0, hours: 0, minutes: 0, seconds: '0.000' }), 'P0Y0M0DT0H0M0S');
    assert.equal(intervalIsoString({ years: -1, months: 0, days: 0, hours: -2, minutes: 0, seconds: '-1.5' }), 'P-1Y0M0DT-2H0M-1.5S');
  });
});
