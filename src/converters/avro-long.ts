import avro from 'avsc';

/**
 * An Avro `long` for avsc whose values are BigInt both ways. avsc's built-in long refuses anything beyond 2^53
 * ("potential precision loss"); change events carry full 64-bit values (BIGINT, LSNs, nanosecond timestamps), so
 * every `long` in a schema is replaced by this type through `avscTypeHook`.
 */

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

export const BIGINT_LONG_TYPE = avro.types.LongType.__with({
  fromBuffer: (buf: Buffer) => buf.readBigInt64LE(0),
  toBuffer: (n: bigint) => {
    const buf = Buffer.alloc(8);
    buf.writeBigInt64LE(n, 0);
    return buf;
  },
  fromJSON: (v: unknown) => BigInt(v as string | number | bigint),
  toJSON: (n: bigint) => (n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n.toString()),
  isValid: (n: unknown) => typeof n === 'bigint' && n >= INT64_MIN && n <= INT64_MAX,
  compare: (a: bigint, b: bigint) => (a === b ? 0 : a < b ? -1 : 1),
});

/** avsc `typeHook` that maps every `long` (by name or as {"type":"long", ...}) to BIGINT_LONG_TYPE. */
export function avscTypeHook(schema: unknown): avro.Type | undefined {
  if (schema === 'long') return BIGINT_LONG_TYPE;
  if (typeof schema === 'object' && schema !== null && !Array.isArray(schema) && (schema as { type?: unknown }).type === 'long') {
    return BIGINT_LONG_TYPE;
  }
  return undefined;
}

/**
 * An avsc type for an Avro schema (object, JSON text, or a primitive name such as 'long') with BigInt longs and
 * unwrapped `["null", T]` unions.
 */
export function avscType(schema: unknown): avro.Type {
  const parsed: unknown = typeof schema === 'string' && /^\s*[[{"]/.test(schema) ? JSON.parse(schema) : schema;
  return avro.Type.forSchema(parsed as avro.Schema, { typeHook: avscTypeHook, wrapUnions: false, registry: {} });
}
