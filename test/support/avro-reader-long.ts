/**
 * A test reader's own Avro long: int64 as bigint, so values beyond 2^53 stay exact. Written independently of
 * src/converters/avro-long.ts, so decoding in tests does not trust the encoder's internals.
 */
import avro from 'avsc';

export const readerLong = avro.types.LongType.__with({
  fromBuffer: (b: Buffer) => b.readBigInt64LE(0),
  toBuffer: (n: bigint) => {
    const b = Buffer.alloc(8);
    b.writeBigInt64LE(n, 0);
    return b;
  },
  fromJSON: (v: unknown) => BigInt(v as number),
  toJSON: (n: bigint) => Number(n),
  isValid: (n: unknown) => typeof n === 'bigint',
  compare: (a: bigint, b: bigint) => (a === b ? 0 : a < b ? -1 : 1),
});
