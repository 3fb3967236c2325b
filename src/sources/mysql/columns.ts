import {
  binarySchema,
  bitsSchema,
  dateSchema,
  decimalSchema,
  enumSchema,
  enumSetSchema,
  geometrySchema,
  jsonSchema,
  pointSchema,
  timeSchema,
  timestampSchema,
  unsignedBigintSchema,
  uuidSchema,
  yearSchema,
  zonedTimestampSchema,
  type BigIntUnsignedHandlingMode,
  type BinaryHandlingMode,
  type DecimalHandlingMode,
  type TimePrecisionMode,
} from '../../events/logical.js';
import { Schema, type ConnectSchema } from '../../events/schema.js';
import {
  dateValue,
  formatZonedTimestamp,
  parseDateText,
  parseTimeText,
  parseTimestampText,
  timeValue,
  timestampValue,
} from '../../events/temporal.js';
import { binaryValue, bitsFromBigEndian, decimalValue, int64Value, unsignedBigintValue } from '../../events/values.js';
import { DecodeError } from '../../errors.js';

/**
 * One column of a MySQL/MariaDB table as Sluice knows it: from `information_schema.COLUMNS` (snapshot and start-up)
 * or, for a table version that no longer exists, from the binlog's own TABLE_MAP metadata
 * (`binlog_row_metadata=FULL`). Everything the type mapping needs and everything a schema change event describes.
 */
export interface ColumnDef {
  readonly name: string;
  /** 1-based position in the table */
  readonly position: number;
  /** lower-case base type as information_schema's DATA_TYPE names it: 'int', 'varchar', 'uuid', 'point', ... */
  readonly dataType: string;
  /** lower-case full type, information_schema's COLUMN_TYPE: "int(10) unsigned", "enum('a','b')" */
  readonly columnType: string;
  readonly unsigned: boolean;
  readonly nullable: boolean;
  /** character set of a text column, null for binary and non-text columns */
  readonly charset: string | null;
  readonly collation: string | null;
  /** CHAR/VARCHAR/TEXT length in characters, BINARY/VARBINARY/BLOB length in bytes */
  readonly length: number | null;
  /** DECIMAL precision, BIT width */
  readonly precision: number | null;
  /** DECIMAL scale */
  readonly scale: number | null;
  /** fractional seconds precision of TIME/DATETIME/TIMESTAMP (0-6) */
  readonly fsp: number | null;
  /** ENUM / SET members */
  readonly members: readonly string[] | null;
  /** MySQL's JSON type, or a MariaDB LONGTEXT with a json_valid() CHECK (MariaDB's JSON alias) */
  readonly json: boolean;
  readonly autoIncrement: boolean;
  readonly generated: boolean;
  readonly comment: string | null;
  readonly defaultExpression: string | null;
  /** Known only from binlog TABLE_MAP metadata: nullability unknown, MariaDB-only types not distinguishable. */
  readonly fromBinlog?: boolean;
}

export interface MappingOptions {
  readonly decimalMode: DecimalHandlingMode;
  readonly timeMode: TimePrecisionMode;
  readonly binaryMode: BinaryHandlingMode;
  readonly bigintUnsignedMode: BigIntUnsignedHandlingMode;
  /** Called once per column whose type has no mapping (it falls back to string/bytes). */
  readonly warn?: (message: string, context: Record<string, unknown>) => void;
}

/** A column's Connect schema and the function that turns a raw value (from either read path) into its value. */
export interface ColumnMapping {
  readonly schema: ConnectSchema;
  readonly convert: (raw: unknown) => unknown;
  /** true when the type was unknown and a fallback mapping is used */
  readonly fallback?: boolean;
}

const INTEGER_TYPES = new Set(['tinyint', 'smallint', 'mediumint', 'int', 'integer', 'bigint']);
const TEXT_TYPES = new Set(['char', 'varchar', 'tinytext', 'text', 'mediumtext', 'longtext', 'long', 'nchar', 'nvarchar']);
const BINARY_TYPES = new Set(['binary', 'varbinary', 'tinyblob', 'blob', 'mediumblob', 'longblob']);
export const GEOMETRY_TYPES = new Set([
  'geometry',
  'point',
  'linestring',
  'polygon',
  'multipoint',
  'multilinestring',
  'multipolygon',
  'geometrycollection',
  'geomcollection',
]);

/** Every type this module maps on purpose; anything else takes the documented fallback. */
export function isKnownType(dataType: string): boolean {
  return (
    INTEGER_TYPES.has(dataType) ||
    TEXT_TYPES.has(dataType) ||
    BINARY_TYPES.has(dataType) ||
    GEOMETRY_TYPES.has(dataType) ||
    [
      'bit', 'bool', 'boolean', 'float', 'double', 'real', 'decimal', 'numeric', 'date', 'time', 'datetime',
      'timestamp', 'year', 'json', 'enum', 'set', 'uuid', 'inet4', 'inet6',
    ].includes(dataType)
  );
}

// ---------------------------------------------------------------------------------------------------------------
// Raw value normalisation: the snapshot path (mysql2 text protocol with dateStrings/bigNumberStrings) and the binlog
// path (zongji with dateStrings) hand over numbers, exact strings, bigints or Buffers; these coerce either form.

function asBuffer(raw: unknown, what: string): Buffer {
  if (Buffer.isBuffer(raw)) return raw;
  if (raw instanceof Uint8Array) return Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
  if (typeof raw === 'string') return Buffer.from(raw, 'utf8');
  throw new DecodeError(`expected bytes for a ${what} column, got ${typeof raw}`);
}

function asText(raw: unknown): string {
  if (typeof raw === 'string') return raw;
  if (Buffer.isBuffer(raw) || raw instanceof Uint8Array) return Buffer.from(raw).toString('utf8');
  if (typeof raw === 'bigint' || typeof raw === 'number' || typeof raw === 'boolean') return String(raw);
  return JSON.stringify(raw);
}

function asNumber(raw: unknown): number {
  if (typeof raw === 'number') return raw;
  if (typeof raw === 'bigint') return Number(raw);
  if (typeof raw === 'string') return Number(raw);
  throw new DecodeError(`expected a number, got ${typeof raw}`);
}

function asBigint(raw: unknown): bigint {
  if (typeof raw === 'bigint') return raw;
  if (typeof raw === 'number') {
    if (!Number.isSafeInteger(raw)) throw new DecodeError(`integer ${raw} is not exact`);
    return BigInt(raw);
  }
  if (typeof raw === 'string' && /^[+-]?\d+$/.test(raw.trim())) return BigInt(raw.trim());
  throw new DecodeError(`expected an integer, got ${JSON.stringify(raw)}`);
}

/**
 * The float32 a FLOAT column holds, as the shortest decimal that reads back as that float32 (3.14, not the
 * widened 3.140000104904175 the binlog decoder returns). `Math.fround` of the result is the stored float32, so a
 * float32 writer is exact either way.
 */
export function float32Value(raw: unknown): number {
  const f = Math.fround(asNumber(raw));
  if (!Number.isFinite(f) || f === 0) return f;
  for (let digits = 1; digits <= 9; digits++) {
    const candidate = Number(f.toPrecision(digits));
    if (Math.fround(candidate) === f) return candidate;
  }
  return f;
}

/** RFC 5952 text of an IPv6 address as MariaDB's INET6 prints it (IPv4-mapped and -compatible in dotted form). */
export function formatInet6(bytes: Uint8Array): string {
  if (bytes.length !== 16) throw new DecodeError(`an INET6 value has 16 bytes, got ${bytes.length}`);
  const b = Buffer.from(bytes);
  const v4 = `${b[12]}.${b[13]}.${b[14]}.${b[15]}`;
  if (b.subarray(0, 10).every((x) => x === 0)) {
    if (b[10] === 0xff && b[11] === 0xff) return `::ffff:${v4}`;
    if (b[10] === 0 && b[11] === 0 && b.readUInt32BE(12) > 1) return `::${v4}`;
  }
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(b.readUInt16BE(i));
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = (gs: number[]) => gs.map((g) => g.toString(16)).join(':');
  if (bestStart < 0) return hex(groups);
  return `${hex(groups.slice(0, bestStart))}::${hex(groups.slice(bestStart + bestLength))}`;
}

export function formatInet4(bytes: Uint8Array): string {
  if (bytes.length !== 4) throw new DecodeError(`an INET4 value has 4 bytes, got ${bytes.length}`);
  return `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`;
}

export function formatUuid(bytes: Uint8Array): string {
  if (bytes.length !== 16) throw new DecodeError(`a UUID value has 16 bytes, got ${bytes.length}`);
  const h = Buffer.from(bytes).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** MySQL's internal geometry value: 4-byte little-endian SRID, then OGC WKB. */
export function splitGeometry(raw: unknown): { srid: number; wkb: Buffer } {
  const b = asBuffer(raw, 'geometry');
  if (b.length < 4) throw new DecodeError(`a geometry value needs at least 4 bytes, got ${b.length}`);
  return { srid: b.readUInt32LE(0), wkb: b.subarray(4) };
}

function pointFromWkb(wkb: Buffer): { x: number; y: number } {
  if (wkb.length < 21) throw new DecodeError(`a POINT's WKB has 21 bytes, got ${wkb.length}`);
  const little = wkb[0] === 1;
  const type = little ? wkb.readUInt32LE(1) : wkb.readUInt32BE(1);
  if (type !== 1) throw new DecodeError(`expected a WKB Point (type 1), got type ${type}`);
  return little
    ? { x: wkb.readDoubleLE(5), y: wkb.readDoubleLE(13) }
    : { x: wkb.readDoubleBE(5), y: wkb.readDoubleBE(13) };
}

// ---------------------------------------------------------------------------------------------------------------
// The mapping

/** Debezium's mapping of one column (see docs/mysql.md, "Type mapping"). */
export function mapColumn(col: ColumnDef, options: MappingOptions): ColumnMapping {
  const m = mapRequired(col, options);
  // Debezium's Geometry builder is optional whatever the column says; everything else follows nullability.
  const schema = col.nullable || m.schema.optional ? Schema.optional(m.schema) : m.schema;
  const convert = m.convert;
  const nullValue = col.nullable ? null : (m.notNullFallback ?? null);
  return {
    schema,
    convert: (raw: unknown) => {
      // zongji reads an invalid ENUM value (index 0, stored as '') as undefined; NULL is always null.
      if (raw === null || (raw === undefined && col.dataType !== 'enum')) return null;
      const v = convert(raw);
      return v === null ? nullValue : v;
    },
    ...(m.fallback ? { fallback: true } : {}),
  };
}

interface RequiredMapping {
  readonly schema: ConnectSchema;
  /** null means "no value" (zero dates): the column's null, or notNullFallback for NOT NULL columns */
  readonly convert: (raw: unknown) => unknown;
  readonly notNullFallback?: unknown;
  readonly fallback?: boolean;
}

function mapRequired(col: ColumnDef, o: MappingOptions): RequiredMapping {
  const t = col.dataType;
  switch (t) {
    case 'bool':
    case 'boolean':
      return { schema: Schema.boolean(), convert: (raw) => asNumber(raw) !== 0 };
    case 'bit': {
      const bits = col.precision ?? 1;
      if (bits === 1) {
        return {
          schema: Schema.boolean(),
          convert: (raw) => {
            if (typeof raw === 'boolean') return raw;
            if (typeof raw === 'number') return raw !== 0;
            const b = asBuffer(raw, 'BIT(1)');
            return b.length > 0 && (b[b.length - 1]! & 1) === 1;
          },
        };
      }
      return { schema: bitsSchema(bits), convert: (raw) => bitsFromBigEndian(asBuffer(raw, 'BIT'), bits) };
    }
    case 'tinyint':
      return { schema: Schema.int16(), convert: asNumber };
    case 'smallint':
      return col.unsigned ? { schema: Schema.int32(), convert: asNumber } : { schema: Schema.int16(), convert: asNumber };
    case 'mediumint':
      return { schema: Schema.int32(), convert: asNumber };
    case 'int':
    case 'integer':
      return col.unsigned
        ? { schema: Schema.int64(), convert: (raw) => asBigint(raw) }
        : { schema: Schema.int32(), convert: asNumber };
    case 'bigint':
      return col.unsigned
        ? {
            schema: unsignedBigintSchema(o.bigintUnsignedMode),
            convert: (raw) => unsignedBigintValue(asBigint(raw), o.bigintUnsignedMode),
          }
        : { schema: Schema.int64(), convert: (raw) => int64Value(asBigint(raw)) };
    case 'float':
      // FLOAT and FLOAT(p ≤ 24) are single precision; FLOAT(M,D) is a FLOAT64 in Debezium's mapping.
      return /^float\s*\(\s*\d+\s*,/.test(col.columnType)
        ? { schema: Schema.float64(), convert: float32Value }
        : { schema: Schema.float32(), convert: float32Value };
    case 'double':
    case 'real':
      return { schema: Schema.float64(), convert: asNumber };
    case 'decimal':
    case 'numeric': {
      const precision = col.precision ?? 10;
      const scale = col.scale ?? 0;
      return { schema: decimalSchema(precision, scale, o.decimalMode), convert: (raw) => decimalValue(asText(raw), scale, o.decimalMode) };
    }
    case 'date': {
      const schema = dateSchema(o.timeMode);
      return {
        schema,
        convert: (raw) => {
          const days = parseDateText(asText(raw));
          return days === null ? null : dateValue(days, schema);
        },
        notNullFallback: dateValue(0, schema),
      };
    }
    case 'time': {
      const schema = timeSchema(col.fsp ?? 0, o.timeMode);
      return { schema, convert: (raw) => timeValue(parseTimeText(asText(raw)), schema) };
    }
    case 'datetime': {
      const schema = timestampSchema(col.fsp ?? 0, o.timeMode);
      return {
        schema,
        convert: (raw) => {
          const nanos = parseTimestampText(asText(raw));
          return nanos === null ? null : timestampValue(nanos, schema);
        },
        notNullFallback: timestampValue(0n, schema),
      };
    }
    case 'timestamp': {
      // Both read paths hand over the instant as UTC text (session time_zone '+00:00' / zongji timezone 'Z').
      const fsp = col.fsp ?? 0;
      return {
        schema: zonedTimestampSchema(),
        convert: (raw) => {
          const text = asText(raw);
          const nanos = parseTimestampText(text);
          if (nanos === null || /^0000-00-00 00:00:00(\.0*)?$/.test(text)) return null;
          return formatZonedTimestamp(nanos, fsp);
        },
        notNullFallback: formatZonedTimestamp(0n, fsp),
      };
    }
    case 'year':
      // zongji reads the zero year as 1900 (raw + 1900); 1900 is not a valid YEAR, so it is the zero year.
      return { schema: yearSchema(), convert: (raw) => (asNumber(raw) === 1900 ? 0 : asNumber(raw)) };
    case 'json':
      return { schema: jsonSchema(), convert: asText };
    case 'enum':
      return { schema: enumSchema(col.members ?? []), convert: (raw) => (raw === undefined ? '' : asText(raw)) };
    case 'set':
      return { schema: enumSetSchema(col.members ?? []), convert: asText };
    case 'uuid':
      return {
        schema: uuidSchema(),
        convert: (raw) => (typeof raw === 'string' ? raw : formatUuid(asBuffer(raw, 'UUID'))),
      };
    case 'inet4':
      return { schema: Schema.string(), convert: (raw) => (typeof raw === 'string' ? raw : formatInet4(asBuffer(raw, 'INET4'))) };
    case 'inet6':
      return { schema: Schema.string(), convert: (raw) => (typeof raw === 'string' ? raw : formatInet6(asBuffer(raw, 'INET6'))) };
    case 'point':
      return {
        schema: pointSchema(),
        convert: (raw) => {
          const { srid, wkb } = splitGeometry(raw);
          return { ...pointFromWkb(wkb), wkb, srid };
        },
      };
  }
  if (GEOMETRY_TYPES.has(t)) {
    return {
      schema: geometrySchema(),
      convert: (raw) => {
        const { srid, wkb } = splitGeometry(raw);
        return { wkb, srid };
      },
    };
  }
  if (TEXT_TYPES.has(t)) {
    return col.json ? { schema: jsonSchema(), convert: asText } : { schema: Schema.string(), convert: asText };
  }
  if (BINARY_TYPES.has(t)) {
    return { schema: binarySchema(o.binaryMode), convert: (raw) => binaryValue(asBuffer(raw, t), o.binaryMode) };
  }
  // Unknown type (VECTOR, a plugin type...): text columns as strings, anything else as bytes, with a warning.
  o.warn?.(`column type '${col.columnType}' has no mapping; its values are passed as ${col.charset ? 'strings' : 'bytes'}`, {
    column: col.name,
    type: col.columnType,
  });
  if (col.charset) return { schema: Schema.string(), convert: asText, fallback: true };
  return {
    schema: binarySchema(o.binaryMode),
    convert: (raw) => binaryValue(typeof raw === 'string' ? Buffer.from(raw, 'utf8') : asBuffer(raw, t), o.binaryMode),
    fallback: true,
  };
}
