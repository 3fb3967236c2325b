import { SluiceError } from '../errors.js';
import type { ConnectSchema } from '../events/schema.js';

/** Helpers both converters share for walking Connect values. */

/** A value does not fit its schema (a bug in whoever built the event); nothing was produced. */
export class DataError extends SluiceError {}

export function dataError(path: string, message: string, value?: unknown): DataError {
  return new DataError(`${path || '<root>'}: ${message}`, {
    context: value === undefined ? { path } : { path, valueType: describe(value) },
  });
}

export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value instanceof Uint8Array) return 'Uint8Array';
  if (value instanceof Map) return 'Map';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

/**
 * The value to write for `value` under `schema`: a null/undefined value takes the schema's default when it has one
 * and `replaceNullWithDefault` (Kafka Connect's Struct.get and JsonConverter's replace.null.with.default, both on
 * by default); otherwise null is allowed only for optional schemas.
 */
export function effectiveValue(schema: ConnectSchema, value: unknown, path: string, replaceNullWithDefault = true): unknown {
  if (value !== null && value !== undefined) return value;
  if (replaceNullWithDefault && schema.defaultValue !== undefined && schema.defaultValue !== null) return schema.defaultValue;
  if (schema.optional) return null;
  throw dataError(path, `null value for a required ${schema.type} field with no default`);
}

/** Entries of a Connect map value (a Map, or a plain object for string keys). */
export function mapEntries(value: unknown, path: string): [unknown, unknown][] {
  if (value instanceof Map) return [...value.entries()];
  if (typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array)) {
    return Object.entries(value);
  }
  throw dataError(path, 'expected a Map for a map field', value);
}

export function asInteger(value: unknown, path: string, bits: 8 | 16 | 32): number {
  const n = typeof value === 'bigint' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n)) throw dataError(path, `expected an int${bits} number`, value);
  const limit = 2 ** (bits - 1);
  if (n < -limit || n >= limit) throw dataError(path, `${n} is out of range for int${bits}`, value);
  return n;
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

export function asInt64(value: unknown, path: string): bigint {
  let n: bigint;
  if (typeof value === 'bigint') n = value;
  else if (typeof value === 'number' && Number.isSafeInteger(value)) n = BigInt(value);
  else throw dataError(path, 'expected a bigint for an int64 field', value);
  if (n < INT64_MIN || n > INT64_MAX) throw dataError(path, `${n} is out of range for int64`, value);
  return n;
}

export function asBytes(value: unknown, path: string): Uint8Array {
  if (value instanceof Uint8Array) return value;
  throw dataError(path, 'expected a Uint8Array for a bytes field', value);
}

export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
