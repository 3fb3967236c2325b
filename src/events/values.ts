import { DecodeError } from '../errors.js';
import type { BigIntUnsignedHandlingMode, BinaryHandlingMode, DecimalHandlingMode, IntervalHandlingMode } from './logical.js';

/**
 * Exact value helpers for the non-temporal logical types (temporal ones are in `temporal.ts`). Each takes what a
 * database gives (text, bytes, bigint) and returns the value for the schema built by the matching `logical.ts`
 * builder with the same handling mode. Nothing goes through floating point unless the mode asks for a double.
 *
 *   decimalValue(text, scale, mode)          precise → Uint8Array (Connect Decimal bytes), string → '12.30',
 *                                            double → number. NaN/±Infinity only in string/double modes.
 *   variableScaleDecimalValue(text, mode)    precise → { scale, value: Uint8Array }, string, double
 *   int64Value(v)                            text/number/bigint → bigint, range-checked to ±2^63
 *   unsignedBigintValue(v, mode)             long → bigint wrapped to int64 (as Debezium), precise → Decimal bytes
 *   binaryValue(bytes, mode)                 bytes → Uint8Array, base64 / base64-url-safe (padded) / hex → string
 *   bitsFromBitString('101', minBytes)       io.debezium.data.Bits, little-endian bytes
 *   bitsFromBigEndian(bytes, lengthBits)     idem, from big-endian bytes (MySQL)
 *   enumSetValue(values)                     'a,b'
 *   geometryValue(wkb, srid) / pointValue(x, y)
 *   intervalValue(parts, mode)               numeric → MicroDuration bigint, string → 'P1Y2M3DT4H5M6.5S'
 *
 * Lower level, for converters and tests: parseDecimal, decimalToPlainString, rescaleDecimal,
 * bigintToTwosComplement, twosComplementToBigint, decodeDecimal.
 */

export const INT64_MIN = -(2n ** 63n);
export const INT64_MAX = 2n ** 63n - 1n;
export const UINT64_MAX = 2n ** 64n - 1n;

// ---------------------------------------------------------------------------------------------------------------
// Exact decimals
// ---------------------------------------------------------------------------------------------------------------

/** An exact decimal number: unscaled × 10^-scale (scale ≥ 0). */
export interface ExactDecimal {
  readonly unscaled: bigint;
  readonly scale: number;
}

export type SpecialDecimal = 'NaN' | 'Infinity' | '-Infinity';

const DECIMAL_RE = /^([+-])?(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;

/**
 * Reads a decimal number exactly: '12.30', '-0.005', '+7', '.5', '1.5E+3'; keeps the scale the text shows
 * ('12.30' has scale 2). 'NaN', 'Infinity' and '-Infinity' (Postgres NUMERIC) come back as those strings.
 */
export function parseDecimal(text: string): ExactDecimal | SpecialDecimal {
  const t = text.trim();
  if (t === 'NaN') return 'NaN';
  if (t === 'Infinity' || t === '+Infinity' || t === 'inf') return 'Infinity';
  if (t === '-Infinity' || t === '-inf') return '-Infinity';
  const m = DECIMAL_RE.exec(t);
  const intDigits = m?.[2] ?? '';
  const fracDigits = m?.[3] ?? '';
  if (!m || intDigits.length + fracDigits.length === 0) {
    throw new DecodeError(`cannot read ${JSON.stringify(text)} as a decimal number`, { context: { value: text } });
  }
  let unscaled = BigInt(intDigits + fracDigits || '0');
  if (m[1] === '-') unscaled = -unscaled;
  let scale = fracDigits.length - Number(m[4] ?? 0);
  if (scale < 0) {
    unscaled *= 10n ** BigInt(-scale);
    scale = 0;
  }
  return { unscaled, scale };
}

/** Java's BigDecimal.toPlainString: '-0.005', '12.30', '7'. */
export function decimalToPlainString(d: ExactDecimal): string {
  const negative = d.unscaled < 0n;
  const digits = (negative ? -d.unscaled : d.unscaled).toString();
  let out: string;
  if (d.scale === 0) out = digits;
  else if (digits.length > d.scale) out = `${digits.slice(0, digits.length - d.scale)}.${digits.slice(-d.scale)}`;
  else out = `0.${digits.padStart(d.scale, '0')}`;
  return negative ? `-${out}` : out;
}

/**
 * The same number with another scale. Adding zeros is always fine; dropping digits is only allowed when they are
 * zeros (anything else would change the value, which Kafka Connect's Decimal refuses too).
 */
export function rescaleDecimal(d: ExactDecimal, scale: number): ExactDecimal {
  if (d.scale === scale) return d;
  if (d.scale < scale) return { unscaled: d.unscaled * 10n ** BigInt(scale - d.scale), scale };
  const factor = 10n ** BigInt(d.scale - scale);
  if (d.unscaled % factor !== 0n) {
    throw new DecodeError(
      `the decimal ${decimalToPlainString(d)} has more fractional digits than the column's scale ${scale}`,
      { context: { value: decimalToPlainString(d) } },
    );
  }
  return { unscaled: d.unscaled / factor, scale };
}

/** Java's BigInteger.toByteArray(): the minimal big-endian two's complement bytes (0 → [0x00]). */
export function bigintToTwosComplement(n: bigint): Uint8Array {
  let length = 1;
  if (n >= 0n) {
    while (n >= 1n << BigInt(length * 8 - 1)) length++;
  } else {
    while (n < -(1n << BigInt(length * 8 - 1))) length++;
  }
  const out = new Uint8Array(length);
  let v = BigInt.asUintN(length * 8, n);
  for (let i = length - 1; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

/** The signed integer of big-endian two's complement bytes (the inverse of bigintToTwosComplement). */
export function twosComplementToBigint(bytes: Uint8Array): bigint {
  if (bytes.length === 0) return 0n;
  let v = 0n;
  for (const b of bytes) v = (v << 8n) | BigInt(b);
  return (bytes[0]! & 0x80) !== 0 ? v - (1n << BigInt(bytes.length * 8)) : v;
}

/** A Connect Decimal's bytes back to an exact decimal, given the schema's scale. */
export function decodeDecimal(bytes: Uint8Array, scale: number): ExactDecimal {
  return { unscaled: twosComplementToBigint(bytes), scale };
}

function specialDecimal(special: SpecialDecimal, mode: DecimalHandlingMode): string | number {
  switch (mode) {
    case 'string':
      // Debezium's SpecialValueDecimal names
      return special === 'NaN' ? 'NAN' : special === 'Infinity' ? 'POSITIVE_INFINITY' : 'NEGATIVE_INFINITY';
    case 'double':
      return special === 'NaN' ? NaN : special === 'Infinity' ? Infinity : -Infinity;
    case 'precise':
      throw new DecodeError(
        `got the special value ${special} for a decimal column, which decimal.handling.mode=precise cannot express; ` +
          `set decimal.handling.mode to 'string' (or 'double') to capture it`,
        { context: { value: special } },
      );
  }
}

/**
 * The value of a DECIMAL/NUMERIC(precision, scale) column for `decimalSchema(precision, scale, mode)`:
 * 'precise' → Connect Decimal bytes of the value at the column's scale; 'string' → plain text at that scale
 * ('12.30'); 'double' → the nearest double. `scale` null keeps the scale the text shows.
 */
export function decimalValue(text: string, scale: number | null, mode: DecimalHandlingMode = 'precise'): Uint8Array | string | number {
  const parsed = parseDecimal(text);
  if (typeof parsed === 'string') return specialDecimal(parsed, mode);
  const d = scale === null ? parsed : rescaleDecimal(parsed, scale);
  switch (mode) {
    case 'precise':
      return bigintToTwosComplement(d.unscaled);
    case 'string':
      return decimalToPlainString(d);
    case 'double':
      return Number(decimalToPlainString(d));
  }
}

/** io.debezium.data.VariableScaleDecimal's struct value. */
export interface VariableScaleDecimal {
  scale: number;
  value: Uint8Array;
}

/** The value of a NUMERIC column without fixed scale for `variableScaleDecimalSchema(mode)`. */
export function variableScaleDecimalValue(text: string, mode: DecimalHandlingMode = 'precise'): VariableScaleDecimal | string | number {
  const parsed = parseDecimal(text);
  if (typeof parsed === 'string') return specialDecimal(parsed, mode);
  switch (mode) {
    case 'precise':
      return { scale: parsed.scale, value: bigintToTwosComplement(parsed.unscaled) };
    case 'string':
      return decimalToPlainString(parsed);
    case 'double':
      return Number(decimalToPlainString(parsed));
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Integers
// ---------------------------------------------------------------------------------------------------------------

function toBigint(v: string | number | bigint, what: string): bigint {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number') {
    if (!Number.isSafeInteger(v)) {
      throw new DecodeError(`${what} ${v} is not an exact integer (pass it as text or bigint)`, { context: { value: v } });
    }
    return BigInt(v);
  }
  const t = v.trim();
  if (!/^[+-]?\d+$/.test(t)) throw new DecodeError(`cannot read ${JSON.stringify(v)} as an integer`, { context: { value: v } });
  return BigInt(t);
}

/** A 64-bit signed integer (BIGINT, int8) as bigint; out of range throws. */
export function int64Value(v: string | number | bigint): bigint {
  const n = toBigint(v, 'int64');
  if (n < INT64_MIN || n > INT64_MAX) {
    throw new DecodeError(`${n} does not fit a signed 64-bit integer`, { context: { value: n.toString() } });
  }
  return n;
}

/**
 * A BIGINT UNSIGNED value for `unsignedBigintSchema(mode)`: 'long' → int64 bigint, values above 2^63-1 wrap to
 * negative as they do in Debezium (Java long); 'precise' → Connect Decimal(20, 0) bytes, exact up to 2^64-1.
 */
export function unsignedBigintValue(v: string | number | bigint, mode: BigIntUnsignedHandlingMode = 'long'): bigint | Uint8Array {
  const n = toBigint(v, 'unsigned int64');
  if (n < 0n || n > UINT64_MAX) {
    throw new DecodeError(`${n} does not fit an unsigned 64-bit integer`, { context: { value: n.toString() } });
  }
  return mode === 'long' ? BigInt.asIntN(64, n) : bigintToTwosComplement(n);
}

// ---------------------------------------------------------------------------------------------------------------
// Binary
// ---------------------------------------------------------------------------------------------------------------

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * A binary column's value for `binarySchema(mode)`: 'bytes' → the bytes, 'base64' → standard base64 with padding,
 * 'base64-url-safe' → URL-safe alphabet *with* padding (Java's Base64.getUrlEncoder()), 'hex' → lower-case hex.
 */
export function binaryValue(bytes: Uint8Array, mode: BinaryHandlingMode = 'bytes'): Uint8Array | string {
  switch (mode) {
    case 'bytes':
      return bytes;
    case 'base64':
      return asBuffer(bytes).toString('base64');
    case 'base64-url-safe': {
      const s = asBuffer(bytes).toString('base64url');
      return s + '='.repeat((4 - (s.length % 4)) % 4);
    }
    case 'hex':
      return asBuffer(bytes).toString('hex');
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Bits, sets, geometry
// ---------------------------------------------------------------------------------------------------------------

/**
 * io.debezium.data.Bits from a bit string, most significant bit first ('101' → [0x05]): little-endian bytes, as
 * many as the highest set bit needs (none for all zeros, as Debezium's Postgres connector), padded with zero bytes
 * to `minBytes` (MySQL: ceil(length / 8)).
 */
export function bitsFromBitString(bits: string, minBytes = 0): Uint8Array {
  if (!/^[01]*$/.test(bits)) throw new DecodeError(`cannot read ${JSON.stringify(bits)} as a bit string`, { context: { value: bits } });
  const highest = bits.indexOf('1');
  const used = highest < 0 ? 0 : bits.length - highest;
  const out = new Uint8Array(Math.max(Math.ceil(used / 8), minBytes));
  for (let i = 0; i < used; i++) {
    if (bits[bits.length - 1 - i] === '1') out[i >> 3]! |= 1 << (i & 7);
  }
  return out;
}

/** io.debezium.data.Bits from big-endian bytes (MySQL BIT(n)): reversed to little-endian, padded to ceil(n / 8). */
export function bitsFromBigEndian(bytes: Uint8Array, lengthBits: number): Uint8Array {
  const out = new Uint8Array(Math.max(bytes.length, Math.ceil(lengthBits / 8)));
  for (let i = 0; i < bytes.length; i++) out[i] = bytes[bytes.length - 1 - i]!;
  return out;
}

/** io.debezium.data.EnumSet: the chosen members, comma-joined, in the order given. */
export function enumSetValue(members: readonly string[]): string {
  return members.join(',');
}

export interface GeometryValue {
  wkb: Uint8Array;
  srid: number | null;
}

/** io.debezium.data.geometry.Geometry / Geography value. */
export function geometryValue(wkb: Uint8Array, srid: number | null): GeometryValue {
  return { wkb, srid };
}

export interface PointValue {
  x: number;
  y: number;
  wkb: Uint8Array | null;
  srid: number | null;
}

/** OGC WKB of a 2D point, little-endian, as Debezium builds it for Postgres POINT. */
export function pointWkb(x: number, y: number): Uint8Array {
  const b = Buffer.alloc(21);
  b.writeUInt8(1, 0);
  b.writeUInt32LE(1, 1);
  b.writeDoubleLE(x, 5);
  b.writeDoubleLE(y, 13);
  return b;
}

/** io.debezium.data.geometry.Point value of a Postgres POINT: x, y, their WKB, no SRID. */
export function pointValue(x: number, y: number): PointValue {
  return { x, y, wkb: pointWkb(x, y), srid: null };
}

// ---------------------------------------------------------------------------------------------------------------
// Intervals
// ---------------------------------------------------------------------------------------------------------------

/** An interval's fields as Postgres keeps them; `seconds` may carry a fraction ('6.789', '-0.5'). */
export interface IntervalParts {
  readonly years: number;
  readonly months: number;
  readonly days: number;
  readonly hours: number;
  readonly minutes: number;
  readonly seconds: string | number;
}

/** Microseconds per month in MicroDuration: Debezium's average month of 365.25 / 12 = 30.4375 days. */
export const MICROS_PER_AVERAGE_MONTH = 2_629_800_000_000n;

function secondsDecimal(seconds: string | number): ExactDecimal {
  const parsed = parseDecimal(typeof seconds === 'number' ? String(seconds) : seconds);
  if (typeof parsed === 'string') throw new DecodeError(`interval seconds cannot be ${parsed}`, { context: { value: parsed } });
  return parsed;
}

/**
 * io.debezium.time.MicroDuration of an interval: months count as 30.4375 days (Debezium's DAYS_PER_MONTH_AVG), a
 * day as 24 h. Computed exactly in integers; Debezium goes through a double, which can differ in the last
 * microsecond for intervals of many years with a fraction of a second.
 */
export function microDuration(parts: IntervalParts): bigint {
  const months = BigInt(parts.years) * 12n + BigInt(parts.months);
  const seconds = rescaleDecimal(secondsDecimal(parts.seconds), Math.max(6, secondsDecimal(parts.seconds).scale));
  const secondMicros = seconds.unscaled / 10n ** BigInt(seconds.scale - 6);
  return (
    months * MICROS_PER_AVERAGE_MONTH +
    (BigInt(parts.days) * 86_400n + BigInt(parts.hours) * 3600n + BigInt(parts.minutes) * 60n) * 1_000_000n +
    secondMicros
  );
}

/** io.debezium.time.Interval text: 'P1Y2M3DT4H5M6.789S' (seconds without trailing zeros, fraction ≤ 9 digits). */
export function intervalIsoString(parts: IntervalParts): string {
  let s = secondsDecimal(parts.seconds);
  if (s.scale > 9) s = { unscaled: s.unscaled / 10n ** BigInt(s.scale - 9), scale: 9 };
  while (s.scale > 0 && s.unscaled % 10n === 0n) s = { unscaled: s.unscaled / 10n, scale: s.scale - 1 };
  return `P${parts.years}Y${parts.months}M${parts.days}DT${parts.hours}H${parts.minutes}M${decimalToPlainString(s)}S`;
}

/** An INTERVAL column's value for `intervalSchema(mode)`. */
export function intervalValue(parts: IntervalParts, mode: IntervalHandlingMode = 'numeric'): bigint | string {
  return mode === 'numeric' ? microDuration(parts) : intervalIsoString(parts);
}
