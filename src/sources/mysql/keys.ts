import type { JsonValue } from '../../events/change-event.js';
import { parseDateText, parseTimeText, parseTimestampText } from '../../events/temporal.js';
import { parseDecimal, rescaleDecimal } from '../../events/values.js';
import type { ColumnDef } from './columns.js';

/**
 * Primary keys as the snapshot's keyset order sees them: which key types Sluice can compare exactly in JavaScript
 * (so a snapshot can resume inside a table and streaming can tell which part of the table a row belongs to), their
 * JSON form in the offset, and the SQL parameters of a keyset query.
 *
 * Comparable: integer, DECIMAL, FLOAT/DOUBLE, YEAR, DATE, TIME, DATETIME, TIMESTAMP keys. Text and binary keys are
 * ordered by their collation, which JavaScript cannot reproduce: tables keyed by them resume table by table.
 */
const COMPARABLE = new Set([
  'tinyint', 'smallint', 'mediumint', 'int', 'integer', 'bigint', 'decimal', 'numeric', 'float', 'double', 'real',
  'year', 'date', 'time', 'datetime', 'timestamp',
]);

export function comparableKey(columns: readonly ColumnDef[]): boolean {
  return columns.length > 0 && columns.every((c) => COMPARABLE.has(c.dataType));
}

/** The JSON form of one raw key value (from either read path). */
export function keyPartJson(col: ColumnDef, raw: unknown): JsonValue {
  if (raw === null || raw === undefined) return null;
  switch (col.dataType) {
    case 'float':
    case 'double':
    case 'real':
    case 'year':
      return Number(raw);
    default:
      return typeof raw === 'bigint' ? raw.toString() : typeof raw === 'number' ? String(raw) : String(raw);
  }
}

function cmp<T extends bigint | number>(a: T, b: T): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function comparePart(col: ColumnDef, a: JsonValue, b: JsonValue): number {
  if (a === null || b === null) return a === b ? 0 : a === null ? -1 : 1;
  switch (col.dataType) {
    case 'float':
    case 'double':
    case 'real':
    case 'year':
      return cmp(Number(a), Number(b));
    case 'decimal':
    case 'numeric': {
      const x = parseDecimal(String(a));
      const y = parseDecimal(String(b));
      if (typeof x === 'string' || typeof y === 'string') return String(a).localeCompare(String(b));
      const scale = Math.max(x.scale, y.scale);
      return cmp(rescaleDecimal(x, scale).unscaled, rescaleDecimal(y, scale).unscaled);
    }
    case 'date':
      return cmp(parseDateText(String(a)) ?? -Infinity, parseDateText(String(b)) ?? -Infinity);
    case 'time':
      return cmp(parseTimeText(String(a)), parseTimeText(String(b)));
    case 'datetime':
    case 'timestamp': {
      const x = parseTimestampText(String(a));
      const y = parseTimestampText(String(b));
      if (x === null || y === null) return x === y ? 0 : x === null ? -1 : 1;
      return cmp(x, y);
    }
    default:
      return cmp(BigInt(String(a)), BigInt(String(b)));
  }
}

/** Orders two keys (JSON forms) of the given key columns. */
export function compareKeys(columns: readonly ColumnDef[], a: readonly JsonValue[], b: readonly JsonValue[]): number {
  for (let i = 0; i < columns.length; i++) {
    const c = comparePart(columns[i]!, a[i] ?? null, b[i] ?? null);
    if (c !== 0) return c;
  }
  return 0;
}

/** A key value as a query parameter that compares exactly (integers as BigInt, never through a double). */
export function keyParam(col: ColumnDef, v: JsonValue): unknown {
  if (v === null) return null;
  switch (col.dataType) {
    case 'tinyint':
    case 'smallint':
    case 'mediumint':
    case 'int':
    case 'integer':
    case 'bigint':
      return BigInt(String(v));
    case 'float':
    case 'double':
    case 'real':
    case 'year':
      return Number(v);
    default:
      return String(v);
  }
}

const quote = (name: string) => '`' + name.replace(/`/g, '``') + '`';

/**
 * `(a, b) > (x, y)` written as `a > x OR (a = x AND b > y)`, which every optimizer turns into an index range;
 * DECIMAL bounds are cast so the comparison stays exact.
 */
export function keyAfterCondition(columns: readonly ColumnDef[], key: readonly JsonValue[]): { sql: string; params: unknown[] } {
  const ors: string[] = [];
  const params: unknown[] = [];
  const bound = (c: ColumnDef) =>
    c.dataType === 'decimal' || c.dataType === 'numeric' ? `CAST(? AS DECIMAL(${c.precision ?? 65},${c.scale ?? 0}))` : '?';
  for (let i = 0; i < columns.length; i++) {
    const parts: string[] = [];
    for (let j = 0; j < i; j++) {
      parts.push(`${quote(columns[j]!.name)} = ${bound(columns[j]!)}`);
      params.push(keyParam(columns[j]!, key[j] ?? null));
    }
    parts.push(`${quote(columns[i]!.name)} > ${bound(columns[i]!)}`);
    params.push(keyParam(columns[i]!, key[i] ?? null));
    ors.push(parts.length === 1 ? parts[0]! : `(${parts.join(' AND ')})`);
  }
  return { sql: ors.join(' OR '), params };
}

export { quote as quoteIdentifier };
