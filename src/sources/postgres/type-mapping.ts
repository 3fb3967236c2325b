/**
 * Postgres column types → Connect schemas and text values → Sluice values, as Debezium's Postgres connector maps
 * them ("Data type mappings"). Input is always the type's text output (pgoutput's default format, and what the
 * snapshot reads with every type parser disabled), produced under `SESSION_SETTINGS`.
 */
import { createHash } from 'node:crypto';
import { DecodeError } from '../../errors.js';
import {
  binarySchema,
  bitsSchema,
  dateSchema,
  decimalSchema,
  enumSchema,
  intervalSchema,
  jsonSchema,
  ltreeSchema,
  pointSchema,
  timeSchema,
  timestampSchema,
  uuidSchema,
  variableScaleDecimalSchema,
  xmlSchema,
  zonedTimeSchema,
  zonedTimestampSchema,
  connectDecimalSchema,
  type BinaryHandlingMode,
  type DecimalHandlingMode,
  type IntervalHandlingMode,
  type TimePrecisionMode,
} from '../../events/logical.js';
import { Logical, Schema, type ConnectSchema } from '../../events/schema.js';
import {
  dateValue,
  parseDateText,
  formatZonedTimestamp,
  parseTimeText,
  parseTimestampText,
  parseZonedTimestampText,
  timeValue,
  timestampValue,
  zonedTimeFromText,
  NANOS_PER_MICRO,
} from '../../events/temporal.js';
import {
  binaryValue,
  bigintToTwosComplement,
  bitsFromBitString,
  decimalToPlainString,
  decimalValue,
  intervalValue,
  parseDecimal,
  pointValue,
  type ExactDecimal,
} from '../../events/values.js';
import {
  hstoreToJson,
  parseArray,
  parseBytea,
  parseHstore,
  parseInterval,
  parseMoney,
  parsePoint,
  type ArrayElement,
} from './pg-text.js';

/** One row of pg_type, with what mapping needs. */
export interface PgTypeInfo {
  readonly oid: number;
  readonly name: string;
  readonly namespace: string;
  /** typtype: b base, c composite, d domain, e enum, p pseudo, r range, m multirange */
  readonly kind: string;
  /** typcategory: 'A' array, ... */
  readonly category: string;
  /** typelem (element type of an array) */
  readonly elem: number;
  /** typbasetype (domains) */
  readonly base: number;
  /** typtypmod (domains) */
  readonly baseTypmod: number;
  readonly delimiter: string;
  /** enum labels in enumsortorder */
  readonly enumLabels: readonly string[] | null;
}

export interface TypeLookup {
  get(oid: number): PgTypeInfo | undefined;
}

export type HstoreHandlingMode = 'json' | 'map';

export interface MappingOptions {
  readonly decimalMode: DecimalHandlingMode;
  readonly binaryMode: BinaryHandlingMode;
  readonly timePrecisionMode: TimePrecisionMode;
  readonly intervalMode: IntervalHandlingMode;
  readonly hstoreMode: HstoreHandlingMode;
  readonly moneyFractionDigits: number;
  /** `unavailable.value.placeholder` */
  readonly placeholder: string;
}

export const DEFAULT_MAPPING_OPTIONS: MappingOptions = {
  decimalMode: 'precise',
  binaryMode: 'bytes',
  timePrecisionMode: 'adaptive',
  intervalMode: 'numeric',
  hstoreMode: 'json',
  moneyFractionDigits: 2,
  placeholder: '__debezium_unavailable_value',
};

/** How one column is represented. `convert` takes the text form (never null: nulls are handled by the caller). */
export interface ColumnMapping {
  readonly schema: ConnectSchema;
  /** false: the type is unknown to Sluice and is passed on as its text form */
  readonly known: boolean;
  /** the resolved type name, e.g. `numeric`, `_int4`, `public.mood` */
  readonly typeName: string;
  convert(text: string): unknown;
  /** the value for an unchanged TOASTed column that was not sent; undefined when the schema cannot hold one */
  readonly toastPlaceholder: unknown;
  /** the value Debezium puts in a non-optional field that has no value (e.g. a non-key column of a delete) */
  readonly fallback: unknown;
}

// Debezium's sentinels for Postgres' infinite dates and timestamps (see docs/postgres.md).
const POSITIVE_INFINITY_MICROS = 9223372036825200000n;
const NEGATIVE_INFINITY_MICROS = -9223372036832400000n;
const POSITIVE_INFINITY_DATE_DAYS = -2147472692;
const NEGATIVE_INFINITY_DATE_DAYS = -2147472691;

/** numeric typmod → precision and scale (scale may be negative since Postgres 15). */
export function numericTypmod(typmod: number): { precision: number; scale: number } | null {
  if (typmod < 4) return null;
  const t = typmod - 4;
  return { precision: (t >> 16) & 0xffff, scale: (((t & 0x7ff) ^ 1024) - 1024) };
}

/** Fractional-second precision of time/timestamp(tz)/interval typmods; -1 when unspecified. */
function timePrecision(typeName: string, typmod: number): number {
  if (typmod < 0) return -1;
  if (typeName === 'interval') {
    const p = typmod & 0xffff;
    return p === 0xffff ? -1 : p;
  }
  return typmod;
}

/** BigDecimal.stripTrailingZeros, then a negative scale set back to 0 (Debezium's VariableScaleDecimal). */
function stripTrailingZeros(d: ExactDecimal): ExactDecimal {
  let { unscaled, scale } = d;
  if (unscaled === 0n) return { unscaled: 0n, scale: 0 };
  while (scale > 0 && unscaled % 10n === 0n) {
    unscaled /= 10n;
    scale--;
  }
  return { unscaled, scale };
}

/** UUID.nameUUIDFromBytes (version 3) as Debezium uses for uuid[] TOAST placeholders. */
function nameUuid(bytes: Buffer): string {
  const h = createHash('md5').update(bytes).digest();
  h[6] = ((h[6] as number) & 0x0f) | 0x30;
  h[8] = ((h[8] as number) & 0x3f) | 0x80;
  const x = h.toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

/** The value Debezium uses for a missing value of a required field (Kafka Connect type zero). */
function fallbackFor(schema: ConnectSchema): unknown {
  if (schema.optional) return null;
  switch (schema.type) {
    case 'int8':
    case 'int16':
    case 'int32':
    case 'float32':
    case 'float64':
      return 0;
    case 'int64':
      return 0n;
    case 'boolean':
      return false;
    case 'string':
      return '';
    case 'bytes':
      return schema.name === Logical.Decimal ? Buffer.from([0]) : Buffer.alloc(0);
    case 'array':
      return [];
    case 'map':
      return new Map();
    case 'struct': {
      const out: Record<string, unknown> = {};
      for (const f of schema.fields ?? []) out[f.name] = fallbackFor(f.schema);
      return out;
    }
  }
}

function toastPlaceholderFor(schema: ConnectSchema, placeholder: string): unknown {
  const bytes = Buffer.from(placeholder, 'utf8');
  switch (schema.type) {
    case 'string':
      return placeholder;
    case 'bytes':
      return schema.name === Logical.Decimal || schema.name === Logical.Bits ? undefined : bytes;
    case 'map':
      return new Map([[placeholder, placeholder]]);
    case 'array': {
      const items = schema.items;
      if (!items) return undefined;
      if (items.type === 'string') return [items.name === Logical.Uuid ? nameUuid(bytes) : placeholder];
      if (items.type === 'bytes' && items.name === undefined) return [bytes];
      // Debezium: int[] / bigint[] columns get the placeholder's bytes as numbers
      if (items.type === 'int32' || items.type === 'int16' || items.type === 'int8') return [...bytes].map((b) => (b << 24) >> 24);
      if (items.type === 'int64') return [...bytes].map((b) => BigInt((b << 24) >> 24));
      return undefined;
    }
    default:
      return undefined;
  }
}

function finish(
  schema: ConnectSchema,
  typeName: string,
  convert: (text: string) => unknown,
  options: MappingOptions,
  known = true,
): ColumnMapping {
  return {
    schema,
    known,
    typeName,
    convert,
    toastPlaceholder: toastPlaceholderFor(schema, options.placeholder),
    fallback: fallbackFor(schema),
  };
}

function specialNumeric(text: string, mode: DecimalHandlingMode, where: string): unknown {
  if (mode === 'double') return text === 'NaN' ? Number.NaN : text === 'Infinity' ? Number.POSITIVE_INFINITY : Number.NEGATIVE_INFINITY;
  if (mode === 'string') return text === 'NaN' ? 'NAN' : text === 'Infinity' ? 'POSITIVE_INFINITY' : 'NEGATIVE_INFINITY';
  throw new DecodeError(
    `numeric value ${text} in ${where} cannot be represented with decimal.handling.mode=precise; ` +
      `set decimal.handling.mode to 'string' (or 'double') to capture NaN and infinite numerics`,
  );
}

/**
 * The mapping of one column (`typeOid`, `typmod` as in the Relation message or pg_attribute). `where` names the
 * column in messages. Unknown types map to their text form (`known: false`); the caller warns once per column.
 */
export function mapColumnType(
  typeOid: number,
  typmod: number,
  types: TypeLookup,
  options: MappingOptions,
  where: string,
): ColumnMapping {
  let info = types.get(typeOid);
  // Domains are mapped as their base type (with the domain's typmod when the column has none).
  let depth = 0;
  while (info && info.kind === 'd' && depth++ < 16) {
    if (typmod < 0) typmod = info.baseTypmod;
    info = types.get(info.base);
  }
  if (!info) return finish(Schema.string(), `oid ${typeOid}`, (t) => t, options, false);
  const qualified = info.namespace === 'pg_catalog' ? info.name : `${info.namespace}.${info.name}`;

  if (info.category === 'A' && info.elem !== 0) {
    const element = mapColumnType(info.elem, typmod, types, options, `${where} (element)`);
    const elemType = types.get(info.elem);
    const delimiter = elemType?.delimiter ?? ',';
    const itemSchema = Schema.optional(element.schema);
    const convertItem = (e: ArrayElement): unknown => (e === null ? null : Array.isArray(e) ? e.map(convertItem) : element.convert(e));
    return finish(
      Schema.array(itemSchema),
      qualified,
      (text) => {
        const parsed = parseArray(text, delimiter);
        // Multi-dimensional arrays are flattened in row-major order (the schema is one-dimensional).
        return parsed.some(Array.isArray) ? flatten(parsed).map(convertItem) : parsed.map(convertItem);
      },
      options,
      element.known,
    );
  }
  if (info.kind === 'e') {
    return finish(enumSchema(info.enumLabels ?? []), qualified, (t) => t, options);
  }

  const m = options;
  switch (info.namespace === 'pg_catalog' ? info.name : `${info.namespace}.${info.name}`) {
    case 'int2':
      return finish(Schema.int16(), qualified, (t) => Number.parseInt(t, 10), m);
    case 'int4':
      return finish(Schema.int32(), qualified, (t) => Number.parseInt(t, 10), m);
    case 'int8':
    case 'oid':
      return finish(Schema.int64(), qualified, (t) => BigInt(t), m);
    case 'float4':
      return finish(Schema.float32(), qualified, (t) => Number.parseFloat(t), m);
    case 'float8':
      return finish(Schema.float64(), qualified, (t) => Number.parseFloat(t), m);
    case 'bool':
      return finish(Schema.boolean(), qualified, (t) => t === 't' || t === 'true', m);
    case 'numeric': {
      const pm = numericTypmod(typmod);
      if (pm === null) {
        const schema = variableScaleDecimalSchema(m.decimalMode);
        return finish(schema, qualified, (t) => {
          const d = parseDecimal(t);
          if (typeof d === 'string') return specialNumeric(d, m.decimalMode, where);
          if (m.decimalMode === 'string') return decimalToPlainString(d);
          if (m.decimalMode === 'double') return Number(decimalToPlainString(d));
          const s = stripTrailingZeros(d);
          return { scale: s.scale, value: bigintToTwosComplement(s.unscaled) };
        }, m);
      }
      const scale = Math.max(0, pm.scale);
      const schema = decimalSchema(pm.precision, scale, m.decimalMode);
      return finish(schema, qualified, (t) => {
        const d = parseDecimal(t);
        if (typeof d === 'string') return specialNumeric(d, m.decimalMode, where);
        return decimalValue(t, scale, m.decimalMode);
      }, m);
    }
    case 'money': {
      const digits = m.moneyFractionDigits;
      const schema =
        m.decimalMode === 'precise' ? connectDecimalSchema(digits) : m.decimalMode === 'string' ? Schema.string() : Schema.float64();
      return finish(schema, qualified, (t) => {
        const d = parseMoney(t, digits);
        if (m.decimalMode === 'string') return decimalToPlainString(d);
        if (m.decimalMode === 'double') return Number(decimalToPlainString(d));
        return bigintToTwosComplement(d.unscaled);
      }, m);
    }
    case 'text':
    case 'varchar':
    case 'bpchar':
    case 'char':
    case 'name':
    case 'citext':
    case 'public.citext':
    case 'inet':
    case 'cidr':
    case 'macaddr':
    case 'macaddr8':
    case 'int4range':
    case 'int8range':
    case 'numrange':
    case 'tsrange':
    case 'tstzrange':
    case 'daterange':
    case 'tsvector':
      return finish(Schema.string(), qualified, (t) => t, m);
    case 'bytea':
      return finish(binarySchema(m.binaryMode), qualified, (t) => binaryValue(parseBytea(t), m.binaryMode), m);
    case 'uuid':
      return finish(uuidSchema(), qualified, (t) => t, m);
    case 'json':
    case 'jsonb':
      return finish(jsonSchema(), qualified, (t) => t, m);
    case 'xml':
      return finish(xmlSchema(), qualified, (t) => t, m);
    case 'date': {
      const schema = dateSchema(m.timePrecisionMode);
      return finish(schema, qualified, (t) => {
        if (t === 'infinity') return dateValue(POSITIVE_INFINITY_DATE_DAYS, schema);
        if (t === '-infinity') return dateValue(NEGATIVE_INFINITY_DATE_DAYS, schema);
        const days = parseDateText(t);
        if (days === null) throw new DecodeError(`cannot parse date ${JSON.stringify(t)} in ${where}`);
        return dateValue(days, schema);
      }, m);
    }
    case 'time': {
      const p = timePrecision('time', typmod);
      const schema = timeSchema(p < 0 ? 6 : p, m.timePrecisionMode);
      return finish(schema, qualified, (t) => timeValue(parseTimeText(t), schema), m);
    }
    case 'timetz':
      return finish(zonedTimeSchema(), qualified, (t) => zonedTimeFromText(t), m);
    case 'timestamp': {
      const p = timePrecision('timestamp', typmod);
      const schema = timestampSchema(p < 0 ? 6 : p, m.timePrecisionMode);
      return finish(schema, qualified, (t) => {
        if (t === 'infinity') return timestampValue(POSITIVE_INFINITY_MICROS * NANOS_PER_MICRO, schema);
        if (t === '-infinity') return timestampValue(NEGATIVE_INFINITY_MICROS * NANOS_PER_MICRO, schema);
        const nanos = parseTimestampText(t);
        if (nanos === null) throw new DecodeError(`cannot parse timestamp ${JSON.stringify(t)} in ${where}`);
        return timestampValue(nanos, schema);
      }, m);
    }
    case 'timestamptz': {
      const p = timePrecision('timestamptz', typmod);
      return finish(zonedTimestampSchema(), qualified, (t) => {
        if (t === 'infinity' || t === '-infinity') return t;
        const nanos = parseZonedTimestampText(t);
        if (nanos === null) throw new DecodeError(`cannot parse timestamptz ${JSON.stringify(t)} in ${where}`);
        return formatZonedTimestamp(nanos, p > 0 ? p : undefined);
      }, m);
    }
    case 'interval': {
      const schema = intervalSchema(m.intervalMode);
      return finish(schema, qualified, (t) => {
        return intervalValue(parseInterval(t), m.intervalMode);
      }, m);
    }
    case 'bit':
    case 'varbit': {
      const length = typmod > 0 ? typmod : info.name === 'bit' ? 1 : 2147483647;
      if (length === 1) return finish(Schema.boolean(), qualified, (t) => t.includes('1'), m);
      return finish(bitsSchema(length), qualified, (t) => bitsFromBitString(t), m);
    }
    case 'point':
      return finish(pointSchema(), qualified, (t) => {
        const [x, y] = parsePoint(t);
        return pointValue(x, y);
      }, m);
    default:
      break;
  }
  // Extension types, matched by name whatever schema the extension was installed in.
  if (info.name === 'hstore') {
    if (m.hstoreMode === 'map') {
      return finish(Schema.map(Schema.string(), Schema.optional(Schema.string())), qualified, (t) => new Map(parseHstore(t)), m);
    }
    return finish(jsonSchema(), qualified, (t) => hstoreToJson(parseHstore(t)), m);
  }
  if (info.name === 'ltree') return finish(ltreeSchema(), qualified, (t) => t, m);
  if (info.name === 'citext') return finish(Schema.string(), qualified, (t) => t, m);
  return finish(Schema.string(), qualified, (t) => t, m, false);
}

function flatten(items: ArrayElement[]): ArrayElement[] {
  const out: ArrayElement[] = [];
  for (const i of items) {
    if (Array.isArray(i)) out.push(...flatten(i));
    else out.push(i);
  }
  return out;
}
