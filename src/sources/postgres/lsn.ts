/**
 * Log sequence numbers. Postgres prints them as two hex halves (`16/B374D848`); on the wire and in Sluice they are
 * unsigned 64-bit integers (bigint), stored in offsets as decimal strings.
 */
export type Lsn = bigint;

export const INVALID_LSN: Lsn = 0n;

export function parseLsn(text: string): Lsn {
  const m = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/.exec(text.trim());
  if (!m) throw new Error(`not an LSN: ${JSON.stringify(text)}`);
  return (BigInt(`0x${m[1]}`) << 32n) | BigInt(`0x${m[2]}`);
}

export function formatLsn(lsn: Lsn): string {
  const hi = lsn >> 32n;
  const lo = lsn & 0xffffffffn;
  return `${hi.toString(16).toUpperCase()}/${lo.toString(16).toUpperCase()}`;
}

/** LSN from an offset field (decimal string) or null. */
export function lsnFromOffset(value: unknown): Lsn | null {
  if (typeof value !== 'string' || !/^\d+$/.test(value)) return null;
  return BigInt(value);
}

export function maxLsn(a: Lsn, b: Lsn): Lsn {
  return a > b ? a : b;
}
