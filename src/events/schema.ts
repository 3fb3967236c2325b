/**
 * Kafka Connect's schema model, which Debezium's envelopes are described in. Converters (Avro, JSON) turn it into
 * their own schema language; sources build it from database column types.
 *
 * Value representation used everywhere in Sluice (converters rely on it):
 *   int8/int16/int32 → number, int64 → bigint (always, never number), float32/float64 → number,
 *   boolean → boolean, string → string, bytes → Uint8Array (Buffer is fine),
 *   struct → StructValue (plain object, keys in schema field order), array → unknown[],
 *   map → Map<unknown, unknown>, optional + absent → null.
 *
 * A logical type (a schema with a `name` such as `org.apache.kafka.connect.data.Decimal`) always carries the value
 * of its underlying type, already converted: a Decimal is the Uint8Array of its unscaled value (big-endian two's
 * complement), a MicroTimestamp the bigint of microseconds, a Connect Date the number of days, a Json the exact JSON
 * text. The builders and value helpers for every logical type are in `logical.ts`, `values.ts` and `temporal.ts`;
 * converters never need to know a database type.
 *
 * A `null` (or `undefined`) value of a schema with a `defaultValue` is written as that default by the converters,
 * as Kafka Connect's `Struct.get` does (e.g. the `source.snapshot` enum's default `"false"`).
 */
export type SchemaType =
  | 'int8' | 'int16' | 'int32' | 'int64'
  | 'float32' | 'float64'
  | 'boolean' | 'string' | 'bytes'
  | 'struct' | 'array' | 'map';

export interface Field {
  readonly name: string;
  readonly schema: ConnectSchema;
}

export interface ConnectSchema {
  readonly type: SchemaType;
  readonly optional: boolean;
  /** Logical or record name, e.g. `io.debezium.time.MicroTimestamp` or `dbserver1.inventory.orders.Value`. */
  readonly name?: string;
  readonly version?: number;
  readonly doc?: string;
  readonly parameters?: Readonly<Record<string, string>>;
  readonly defaultValue?: unknown;
  /** struct only, in order */
  readonly fields?: readonly Field[];
  /** array only */
  readonly items?: ConnectSchema;
  /** map only */
  readonly keys?: ConnectSchema;
  readonly values?: ConnectSchema;
}

export type StructValue = { [field: string]: unknown };

/** Names of the logical types Sluice emits; spelled as Kafka Connect and Debezium spell them. */
export const Logical = {
  Decimal: 'org.apache.kafka.connect.data.Decimal',
  ConnectDate: 'org.apache.kafka.connect.data.Date',
  ConnectTime: 'org.apache.kafka.connect.data.Time',
  ConnectTimestamp: 'org.apache.kafka.connect.data.Timestamp',
  Date: 'io.debezium.time.Date',
  Time: 'io.debezium.time.Time',
  IsoDate: 'io.debezium.time.IsoDate',
  IsoTime: 'io.debezium.time.IsoTime',
  IsoTimestamp: 'io.debezium.time.IsoTimestamp',
  MicroTime: 'io.debezium.time.MicroTime',
  NanoTime: 'io.debezium.time.NanoTime',
  Timestamp: 'io.debezium.time.Timestamp',
  MicroTimestamp: 'io.debezium.time.MicroTimestamp',
  NanoTimestamp: 'io.debezium.time.NanoTimestamp',
  ZonedTimestamp: 'io.debezium.time.ZonedTimestamp',
  ZonedTime: 'io.debezium.time.ZonedTime',
  Year: 'io.debezium.time.Year',
  MicroDuration: 'io.debezium.time.MicroDuration',
  NanoDuration: 'io.debezium.time.NanoDuration',
  Interval: 'io.debezium.time.Interval',
  Json: 'io.debezium.data.Json',
  Uuid: 'io.debezium.data.Uuid',
  Enum: 'io.debezium.data.Enum',
  EnumSet: 'io.debezium.data.EnumSet',
  Bits: 'io.debezium.data.Bits',
  VariableScaleDecimal: 'io.debezium.data.VariableScaleDecimal',
  Xml: 'io.debezium.data.Xml',
  Ltree: 'io.debezium.data.Ltree',
  Tsvector: 'io.debezium.data.Tsvector',
  DoubleVector: 'io.debezium.data.DoubleVector',
  FloatVector: 'io.debezium.data.FloatVector',
  SparseDoubleVector: 'io.debezium.data.SparseDoubleVector',
  Geometry: 'io.debezium.data.geometry.Geometry',
  Geography: 'io.debezium.data.geometry.Geography',
  Point: 'io.debezium.data.geometry.Point',
} as const;

type Extra = Partial<Pick<ConnectSchema, 'name' | 'version' | 'doc' | 'parameters' | 'defaultValue'>>;

function primitive(type: SchemaType) {
  return (extra: Extra = {}): ConnectSchema => ({ type, optional: false, ...extra });
}

/** Small builders; `optional()` wraps any of them. */
export const Schema = {
  int8: primitive('int8'),
  int16: primitive('int16'),
  int32: primitive('int32'),
  int64: primitive('int64'),
  float32: primitive('float32'),
  float64: primitive('float64'),
  boolean: primitive('boolean'),
  string: primitive('string'),
  bytes: primitive('bytes'),
  struct(name: string | undefined, fields: readonly Field[], extra: Extra = {}): ConnectSchema {
    return { type: 'struct', optional: false, ...(name === undefined ? {} : { name }), ...extra, fields };
  },
  array(items: ConnectSchema, extra: Extra = {}): ConnectSchema {
    return { type: 'array', optional: false, ...extra, items };
  },
  map(keys: ConnectSchema, values: ConnectSchema, extra: Extra = {}): ConnectSchema {
    return { type: 'map', optional: false, ...extra, keys, values };
  },
  optional(schema: ConnectSchema): ConnectSchema {
    return schema.optional ? schema : { ...schema, optional: true };
  },
  required(schema: ConnectSchema): ConnectSchema {
    return schema.optional ? { ...schema, optional: false } : schema;
  },
  field(name: string, schema: ConnectSchema): Field {
    return { name, schema };
  },
} as const;
