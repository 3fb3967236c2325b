import { Logical, Schema, type ConnectSchema } from './schema.js';

/**
 * Schema builders for Kafka Connect's and Debezium's logical types, and the handling modes that choose between them
 * (Debezium's connector options of the same names). A source maps each column to one of these once per table
 * version; the matching value helpers are in `values.ts` (decimals, binary, bits, geometry...) and `temporal.ts`
 * (dates and times). All builders return required (non-optional) schemas except where Debezium's own builder is
 * optional (Geometry); wrap with `Schema.optional()` for nullable columns.
 *
 *   decimalSchema(precision, scale, mode)        DECIMAL/NUMERIC(p,s): Connect Decimal | string | float64
 *   variableScaleDecimalSchema(mode)              NUMERIC without scale: VariableScaleDecimal struct | string | float64
 *   unsignedBigintSchema(mode)                    BIGINT UNSIGNED: int64 ('long') | Decimal(20, 0) ('precise')
 *   binarySchema(mode)                            BYTEA/BLOB/BINARY: bytes | string (base64, base64-url-safe, hex)
 *   dateSchema(mode) / timeSchema(p, mode) / timestampSchema(p, mode)   per time.precision.mode
 *   zonedTimestampSchema() / zonedTimeSchema()    TIMESTAMPTZ, MySQL TIMESTAMP / TIMETZ (UTC ISO strings)
 *   yearSchema(), intervalSchema(mode), microDurationSchema()
 *   jsonSchema(), uuidSchema(), xmlSchema(), ltreeSchema(), tsvectorSchema()
 *   enumSchema(values), enumSetSchema(values), bitsSchema(length)
 *   geometrySchema(), geographySchema(), pointSchema()
 *   doubleVectorSchema(), floatVectorSchema(), sparseDoubleVectorSchema()
 */

export type DecimalHandlingMode = 'precise' | 'string' | 'double';
export type BinaryHandlingMode = 'bytes' | 'base64' | 'base64-url-safe' | 'hex';
export type TimePrecisionMode =
  | 'adaptive'
  | 'adaptive_time_microseconds'
  | 'connect'
  | 'isostring'
  | 'microseconds'
  | 'nanoseconds';
export type IntervalHandlingMode = 'numeric' | 'string';
export type BigIntUnsignedHandlingMode = 'long' | 'precise';

/** Debezium's defaults for each handling mode (time.precision.mode depends on the connector). */
export const HANDLING_MODE_DEFAULTS = {
  'decimal.handling.mode': 'precise',
  'binary.handling.mode': 'bytes',
  'interval.handling.mode': 'numeric',
  'bigint.unsigned.handling.mode': 'long',
} as const;

/** Postgres defaults to `adaptive`; MySQL and MariaDB to `adaptive_time_microseconds`. */
export function defaultTimePrecisionMode(connector: 'postgresql' | 'mysql' | 'mariadb'): TimePrecisionMode {
  return connector === 'postgresql' ? 'adaptive' : 'adaptive_time_microseconds';
}

/** Parameter names Kafka Connect and Debezium attach to logical types. */
export const Parameters = {
  /** org.apache.kafka.connect.data.Decimal */
  scale: 'scale',
  /** Debezium's (and Confluent's AvroData's) precision of a Decimal */
  precision: 'connect.decimal.precision',
  /** io.debezium.data.Enum / EnumSet */
  allowed: 'allowed',
  /** io.debezium.data.Bits */
  length: 'length',
} as const;

const V1 = { version: 1 } as const;

/** Connect's Decimal: bytes (unscaled, big-endian two's complement) with the `scale` parameter. */
export function connectDecimalSchema(scale: number, precision?: number): ConnectSchema {
  const parameters: Record<string, string> = { [Parameters.scale]: String(scale) };
  if (precision !== undefined) parameters[Parameters.precision] = String(precision);
  return Schema.bytes({ name: Logical.Decimal, ...V1, parameters });
}

/**
 * A DECIMAL/NUMERIC(precision, scale) column per `decimal.handling.mode`: 'precise' → Connect Decimal with
 * parameters `scale` and `connect.decimal.precision` (in that order, as Debezium writes them), 'string' → string,
 * 'double' → float64.
 */
export function decimalSchema(precision: number, scale: number, mode: DecimalHandlingMode = 'precise'): ConnectSchema {
  switch (mode) {
    case 'precise':
      return connectDecimalSchema(scale, precision);
    case 'string':
      return Schema.string();
    case 'double':
      return Schema.float64();
  }
}

/** Debezium's io.debezium.data.VariableScaleDecimal struct: `scale` int32, `value` bytes (unscaled). */
export const VARIABLE_SCALE_DECIMAL_SCHEMA: ConnectSchema = Schema.struct(
  Logical.VariableScaleDecimal,
  [Schema.field('scale', Schema.int32()), Schema.field('value', Schema.bytes())],
  { ...V1, doc: 'Variable scaled decimal' },
);

/** A NUMERIC column without precision/scale (Postgres) per `decimal.handling.mode`. */
export function variableScaleDecimalSchema(mode: DecimalHandlingMode = 'precise'): ConnectSchema {
  switch (mode) {
    case 'precise':
      return VARIABLE_SCALE_DECIMAL_SCHEMA;
    case 'string':
      return Schema.string();
    case 'double':
      return Schema.float64();
  }
}

/** BIGINT UNSIGNED per `bigint.unsigned.handling.mode`: 'long' → int64 (wraps above 2^63-1), 'precise' → Decimal(20,0). */
export function unsignedBigintSchema(mode: BigIntUnsignedHandlingMode = 'long'): ConnectSchema {
  return mode === 'long' ? Schema.int64() : connectDecimalSchema(0, 20);
}

/** A binary column per `binary.handling.mode`: bytes, or a string for base64, base64-url-safe and hex. */
export function binarySchema(mode: BinaryHandlingMode = 'bytes'): ConnectSchema {
  return mode === 'bytes' ? Schema.bytes() : Schema.string();
}

/** DATE per time.precision.mode. */
export function dateSchema(mode: TimePrecisionMode): ConnectSchema {
  switch (mode) {
    case 'connect':
      return Schema.int32({ name: Logical.ConnectDate, ...V1 });
    case 'isostring':
      return Schema.string({ name: Logical.IsoDate, ...V1 });
    default:
      return Schema.int32({ name: Logical.Date, ...V1 });
  }
}

/**
 * TIME(precision) per time.precision.mode: adaptive → Time (ms, p ≤ 3), MicroTime (p ≤ 6), NanoTime;
 * adaptive_time_microseconds and microseconds → MicroTime; nanoseconds → NanoTime; connect → Connect Time (ms);
 * isostring → IsoTime.
 */
export function timeSchema(precision: number, mode: TimePrecisionMode): ConnectSchema {
  switch (mode) {
    case 'adaptive':
      if (precision <= 3) return Schema.int32({ name: Logical.Time, ...V1 });
      if (precision <= 6) return Schema.int64({ name: Logical.MicroTime, ...V1 });
      return Schema.int64({ name: Logical.NanoTime, ...V1 });
    case 'adaptive_time_microseconds':
    case 'microseconds':
      return Schema.int64({ name: Logical.MicroTime, ...V1 });
    case 'nanoseconds':
      return Schema.int64({ name: Logical.NanoTime, ...V1 });
    case 'connect':
      return Schema.int32({ name: Logical.ConnectTime, ...V1 });
    case 'isostring':
      return Schema.string({ name: Logical.IsoTime, ...V1 });
  }
}

/**
 * TIMESTAMP/DATETIME(precision) without time zone per time.precision.mode: adaptive and adaptive_time_microseconds →
 * Timestamp (ms, p ≤ 3), MicroTimestamp (p ≤ 6), NanoTimestamp; microseconds/nanoseconds → Micro/NanoTimestamp;
 * connect → Connect Timestamp (ms); isostring → IsoTimestamp.
 */
export function timestampSchema(precision: number, mode: TimePrecisionMode): ConnectSchema {
  switch (mode) {
    case 'adaptive':
    case 'adaptive_time_microseconds':
      if (precision <= 3) return Schema.int64({ name: Logical.Timestamp, ...V1 });
      if (precision <= 6) return Schema.int64({ name: Logical.MicroTimestamp, ...V1 });
      return Schema.int64({ name: Logical.NanoTimestamp, ...V1 });
    case 'microseconds':
      return Schema.int64({ name: Logical.MicroTimestamp, ...V1 });
    case 'nanoseconds':
      return Schema.int64({ name: Logical.NanoTimestamp, ...V1 });
    case 'connect':
      return Schema.int64({ name: Logical.ConnectTimestamp, ...V1 });
    case 'isostring':
      return Schema.string({ name: Logical.IsoTimestamp, ...V1 });
  }
}

/** io.debezium.time.ZonedTimestamp: string, UTC ISO-8601 (see temporal.formatZonedTimestamp). */
export function zonedTimestampSchema(): ConnectSchema {
  return Schema.string({ name: Logical.ZonedTimestamp, ...V1 });
}

/** io.debezium.time.ZonedTime: string, UTC ISO-8601 time (see temporal.formatZonedTime). */
export function zonedTimeSchema(): ConnectSchema {
  return Schema.string({ name: Logical.ZonedTime, ...V1 });
}

/** io.debezium.time.Year: int32. */
export function yearSchema(): ConnectSchema {
  return Schema.int32({ name: Logical.Year, ...V1 });
}

/** io.debezium.time.MicroDuration: int64 microseconds. */
export function microDurationSchema(): ConnectSchema {
  return Schema.int64({ name: Logical.MicroDuration, ...V1 });
}

/** INTERVAL per `interval.handling.mode`: 'numeric' → MicroDuration, 'string' → io.debezium.time.Interval. */
export function intervalSchema(mode: IntervalHandlingMode = 'numeric'): ConnectSchema {
  return mode === 'numeric' ? microDurationSchema() : Schema.string({ name: Logical.Interval, ...V1 });
}

export function jsonSchema(): ConnectSchema {
  return Schema.string({ name: Logical.Json, ...V1 });
}

export function uuidSchema(): ConnectSchema {
  return Schema.string({ name: Logical.Uuid, ...V1 });
}

export function xmlSchema(): ConnectSchema {
  return Schema.string({ name: Logical.Xml, ...V1 });
}

export function ltreeSchema(): ConnectSchema {
  return Schema.string({ name: Logical.Ltree, ...V1 });
}

export function tsvectorSchema(): ConnectSchema {
  return Schema.string({ name: Logical.Tsvector, ...V1 });
}

/** io.debezium.data.Enum: string with the allowed values, comma-joined, in parameter `allowed`. */
export function enumSchema(allowed: readonly string[]): ConnectSchema {
  return Schema.string({ name: Logical.Enum, ...V1, parameters: { [Parameters.allowed]: allowed.join(',') } });
}

/** io.debezium.data.EnumSet (MySQL SET): string of the chosen values, comma-joined. */
export function enumSetSchema(allowed: readonly string[]): ConnectSchema {
  return Schema.string({ name: Logical.EnumSet, ...V1, parameters: { [Parameters.allowed]: allowed.join(',') } });
}

/** io.debezium.data.Bits: bytes (little-endian) with the number of bits in parameter `length`. */
export function bitsSchema(length: number): ConnectSchema {
  return Schema.bytes({ name: Logical.Bits, ...V1, parameters: { [Parameters.length]: String(length) } });
}

/**
 * io.debezium.data.geometry.Geometry: struct { wkb: bytes, srid: optional int32 }. Debezium's builder makes it
 * optional even for NOT NULL columns, so does this one.
 */
export function geometrySchema(): ConnectSchema {
  return Schema.optional(
    Schema.struct(
      Logical.Geometry,
      [Schema.field('wkb', Schema.bytes()), Schema.field('srid', Schema.optional(Schema.int32()))],
      { ...V1, doc: 'Geometry' },
    ),
  );
}

/** io.debezium.data.geometry.Geography: struct { wkb: bytes, srid: optional int32 }. */
export function geographySchema(): ConnectSchema {
  return Schema.struct(
    Logical.Geography,
    [Schema.field('wkb', Schema.bytes()), Schema.field('srid', Schema.optional(Schema.int32()))],
    { ...V1, doc: 'Geography' },
  );
}

/** io.debezium.data.geometry.Point: struct { x, y: float64, wkb: optional bytes, srid: optional int32 }. */
export function pointSchema(): ConnectSchema {
  return Schema.struct(
    Logical.Point,
    [
      Schema.field('x', Schema.float64()),
      Schema.field('y', Schema.float64()),
      Schema.field('wkb', Schema.optional(Schema.bytes())),
      Schema.field('srid', Schema.optional(Schema.int32())),
    ],
    { ...V1, doc: 'Geometry (POINT)' },
  );
}

/** io.debezium.data.DoubleVector (pgvector `vector`): array of float64. */
export function doubleVectorSchema(): ConnectSchema {
  return Schema.array(Schema.float64(), { name: Logical.DoubleVector, ...V1 });
}

/** io.debezium.data.FloatVector (pgvector `halfvec`, MariaDB VECTOR): array of float32. */
export function floatVectorSchema(): ConnectSchema {
  return Schema.array(Schema.float32(), { name: Logical.FloatVector, ...V1 });
}

/** io.debezium.data.SparseDoubleVector (pgvector `sparsevec`): struct { dimensions: int16, vector: map<int16, float64> }. */
export function sparseDoubleVectorSchema(): ConnectSchema {
  return Schema.struct(
    Logical.SparseDoubleVector,
    [
      Schema.field('dimensions', Schema.int16()),
      Schema.field('vector', Schema.map(Schema.int16(), Schema.float64())),
    ],
    { ...V1, doc: 'Sparse double vector' },
  );
}
