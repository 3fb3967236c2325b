import { Logical, type ConnectSchema } from '../events/schema.js';
import { decodeDecimal } from '../events/values.js';
import {
  asBuffer,
  asBytes,
  asInt64,
  asInteger,
  dataError,
  effectiveValue,
  mapEntries,
} from './connect-data.js';

/**
 * Connect schema → Avro schema, as Confluent's AvroData (avro-data, `connect.meta.data=true`, the default) builds it,
 * plus the matching value translation for avsc. Rules (AvroData.fromConnectSchema):
 *
 *   int8, int16       "int" with "connect.type": "int8" / "int16"
 *   int32 / int64     "int" / "long"           float32 / float64  "float" / "double"
 *   boolean, string   "boolean", "string"      bytes  "bytes"
 *   Decimal           "bytes" with "scale", "precision" (connect.decimal.precision, else 64), the connect.* props
 *                     and "logicalType": "decimal"
 *   Connect Date / Time / Timestamp   "int"/"int"/"long" with logicalType date / time-millis / timestamp-millis
 *   array             {"type":"array","items":...}
 *   map, string keys  {"type":"map","values":...}; other keys: array of record io.confluent.connect.avro.MapEntry
 *                     {key, value}
 *   struct            record named after the Connect name split at the last '.' (namespace + name); unnamed
 *                     structs are io.confluent.connect.avro.ConnectDefault, ConnectDefault2, ...
 *   every non-union schema then gets, in this order: "connect.doc", "connect.version", "connect.parameters",
 *   "connect.default", "connect.name", "connect.type"
 *   optional          ["null", T] with field default null; with a Connect default: [T, "null"] and that default
 *
 * Names: Avro allows [A-Za-z_][A-Za-z0-9_]* per name part. Invalid parts are scrubbed with Confluent's rules
 * (AvroData.doScrubName, what `scrub.invalid.names=true` does): URL-encode, prefix 'x' before a leading digit, then
 * every character other than [A-Za-z0-9_] becomes '_'. `connect.name` keeps the original name. Confluent without
 * scrubbing would fail on such a name; with valid names the two behave the same.
 *
 * The JSON written out follows Avro Java's Schema.toString(): a named type is defined once and referred to by name
 * afterwards, "namespace" is written only where it differs from the enclosing one, fields are
 * {"name","type","default"}.
 */

export type AvroJson = null | boolean | number | bigint | string | AvroJson[] | { [key: string]: AvroJson };

type Props = [string, AvroJson][];

interface PrimitiveNode {
  readonly kind: 'primitive';
  readonly type: 'null' | 'boolean' | 'int' | 'long' | 'float' | 'double' | 'bytes' | 'string';
  readonly props: Props;
}
interface RecordNode {
  readonly kind: 'record';
  readonly name: string;
  readonly namespace: string | null;
  readonly fields: FieldNode[];
  readonly props: Props;
}
interface ArrayNode {
  readonly kind: 'array';
  readonly items: AvroNode;
  readonly props: Props;
}
interface MapNode {
  readonly kind: 'map';
  readonly values: AvroNode;
  readonly props: Props;
}
interface UnionNode {
  readonly kind: 'union';
  readonly branches: AvroNode[];
}
type AvroNode = PrimitiveNode | RecordNode | ArrayNode | MapNode | UnionNode;

interface FieldNode {
  readonly name: string;
  readonly type: AvroNode;
  readonly hasDefault: boolean;
  readonly defaultValue: AvroJson;
}

export const CONNECT_NAMESPACE = 'io.confluent.connect.avro';
const MAP_ENTRY_NAME = 'MapEntry';
const DEFAULT_DECIMAL_PRECISION = 64;

// ---------------------------------------------------------------------------------------------------------------
// Names
// ---------------------------------------------------------------------------------------------------------------

function isAvroNameChar(c: string): boolean {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c === '_';
}

/** java.net.URLEncoder.encode(s, "UTF-8"). */
function javaUrlEncode(s: string): string {
  let out = '';
  for (const ch of s) {
    if (/^[A-Za-z0-9.\-*_]$/.test(ch)) out += ch;
    else if (ch === ' ') out += '+';
    else {
      const cp = ch.codePointAt(0)!;
      // a lone surrogate cannot be encoded; Java writes '?' for it
      const bytes = cp >= 0xd800 && cp <= 0xdfff ? Buffer.from('?') : Buffer.from(ch, 'utf8');
      for (const b of bytes) out += `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
    }
  }
  return out;
}

/** Confluent's AvroData.doScrubName: a valid Avro name part for any string. */
export function scrubAvroName(name: string): string {
  if (name.length === 0) return name;
  let ok = true;
  for (const c of name) if (!isAvroNameChar(c)) ok = false;
  if (ok && !(name[0]! >= '0' && name[0]! <= '9')) return name;
  let encoded = javaUrlEncode(name);
  if (encoded[0]! >= '0' && encoded[0]! <= '9') encoded = `x${encoded}`;
  let out = '';
  for (const c of encoded) out += isAvroNameChar(c) ? c : '_';
  return out;
}

/** A Connect full name split at the last '.' into Avro namespace and name, each part scrubbed. */
export function avroName(fullName: string): { namespace: string | null; name: string } {
  const parts = fullName.split('.').map(scrubAvroName);
  if (parts.length <= 1) return { namespace: null, name: parts[0] ?? fullName };
  return { namespace: parts.slice(0, -1).join('.'), name: parts[parts.length - 1]! };
}

function fullNameOf(node: RecordNode): string {
  return node.namespace ? `${node.namespace}.${node.name}` : node.name;
}

// ---------------------------------------------------------------------------------------------------------------
// Default values (AvroData.defaultValueFromConnect)
// ---------------------------------------------------------------------------------------------------------------

function defaultToAvroJson(schema: ConnectSchema, value: unknown, path: string): AvroJson {
  if (value === null || value === undefined) return null;
  switch (schema.type) {
    case 'int8':
      return asInteger(value, path, 8);
    case 'int16':
      return asInteger(value, path, 16);
    case 'int32':
      return asInteger(value, path, 32);
    case 'int64':
      return asInt64(value, path);
    case 'float32':
    case 'float64':
      if (typeof value !== 'number') throw dataError(path, 'expected a number default', value);
      return value;
    case 'boolean':
      if (typeof value !== 'boolean') throw dataError(path, 'expected a boolean default', value);
      return value;
    case 'string':
      if (typeof value !== 'string') throw dataError(path, 'expected a string default', value);
      return value;
    case 'bytes':
      // Avro writes bytes defaults as the ISO-8859-1 string of the bytes
      return asBuffer(asBytes(value, path)).toString('latin1');
    case 'array':
      if (!Array.isArray(value)) throw dataError(path, 'expected an array default', value);
      return value.map((v, i) => defaultToAvroJson(schema.items!, v, `${path}[${i}]`));
    case 'map': {
      const entries = mapEntries(value, path);
      if (schema.keys!.type === 'string' && !schema.keys!.optional) {
        const out: { [k: string]: AvroJson } = {};
        for (const [k, v] of entries) out[String(k)] = defaultToAvroJson(schema.values!, v, `${path}.${String(k)}`);
        return out;
      }
      return entries.map(([k, v]) => ({
        key: defaultToAvroJson(schema.keys!, k, path),
        value: defaultToAvroJson(schema.values!, v, path),
      }));
    }
    case 'struct': {
      const record = value as Record<string, unknown>;
      const out: { [k: string]: AvroJson } = {};
      for (const f of schema.fields ?? []) {
        const v = record[f.name] ?? f.schema.defaultValue ?? null;
        out[scrubAvroName(f.name)] = defaultToAvroJson(f.schema, v, `${path}.${f.name}`);
      }
      return out;
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Connect → Avro
// ---------------------------------------------------------------------------------------------------------------

class Context {
  private defaultNameIndex = 0;
  readonly cache = new Map<ConnectSchema, AvroNode>();

  nextDefaultName(): string {
    this.defaultNameIndex += 1;
    return this.defaultNameIndex > 1 ? `ConnectDefault${this.defaultNameIndex}` : 'ConnectDefault';
  }
}

function withProps<T extends { props: Props }>(node: T, props: Props): T {
  node.props.push(...props);
  return node;
}

function nonOptional(schema: ConnectSchema): ConnectSchema {
  return schema.optional ? { ...schema, optional: false } : schema;
}

function metaProps(schema: ConnectSchema, connectType: string | null): Props {
  const props: Props = [];
  if (schema.doc !== undefined) props.push(['connect.doc', schema.doc]);
  if (schema.version !== undefined) props.push(['connect.version', schema.version]);
  if (schema.parameters !== undefined && Object.keys(schema.parameters).length > 0) {
    props.push(['connect.parameters', { ...schema.parameters }]);
  }
  if (schema.defaultValue !== undefined && schema.defaultValue !== null) {
    props.push(['connect.default', defaultToAvroJson(schema, schema.defaultValue, 'default')]);
  }
  if (schema.name !== undefined) props.push(['connect.name', schema.name]);
  if (connectType !== null) props.push(['connect.type', connectType]);
  return props;
}

function fromConnect(schema: ConnectSchema, ctx: Context, ignoreOptional: boolean): AvroNode {
  if (!schema.optional) {
    const cached = ctx.cache.get(schema);
    if (cached) return cached;
  }
  let connectType: string | null = null;
  let base: AvroNode;
  switch (schema.type) {
    case 'int8':
      connectType = 'int8';
      base = { kind: 'primitive', type: 'int', props: [] };
      break;
    case 'int16':
      connectType = 'int16';
      base = { kind: 'primitive', type: 'int', props: [] };
      break;
    case 'int32':
      base = { kind: 'primitive', type: 'int', props: [] };
      break;
    case 'int64':
      base = { kind: 'primitive', type: 'long', props: [] };
      break;
    case 'float32':
      base = { kind: 'primitive', type: 'float', props: [] };
      break;
    case 'float64':
      base = { kind: 'primitive', type: 'double', props: [] };
      break;
    case 'boolean':
      base = { kind: 'primitive', type: 'boolean', props: [] };
      break;
    case 'string':
      base = { kind: 'primitive', type: 'string', props: [] };
      break;
    case 'bytes':
      base = { kind: 'primitive', type: 'bytes', props: [] };
      if (schema.name === Logical.Decimal) {
        const scale = Number(schema.parameters?.['scale'] ?? '0');
        const precisionParam = schema.parameters?.['connect.decimal.precision'];
        const precision = precisionParam === undefined ? DEFAULT_DECIMAL_PRECISION : Number(precisionParam);
        base.props.push(['scale', scale], ['precision', precision]);
      }
      break;
    case 'array':
      base = { kind: 'array', items: fromConnect(schema.items!, ctx, false), props: [] };
      break;
    case 'map':
      if (schema.keys!.type === 'string' && !schema.keys!.optional) {
        base = { kind: 'map', values: fromConnect(schema.values!, ctx, false), props: [] };
      } else {
        let entry: RecordNode;
        if (schema.name === undefined) {
          entry = { kind: 'record', name: MAP_ENTRY_NAME, namespace: CONNECT_NAMESPACE, fields: [], props: [] };
        } else {
          const n = avroName(schema.name);
          entry = { kind: 'record', name: n.name, namespace: n.namespace, fields: [], props: [['connect.internal.type', MAP_ENTRY_NAME]] };
        }
        entry.fields.push(avroField('key', schema.keys!, ctx), avroField('value', schema.values!, ctx));
        base = { kind: 'array', items: entry, props: [] };
      }
      break;
    case 'struct': {
      if (schema.optional) {
        // optional struct: ["null", record]; the record carries the metadata
        return { kind: 'union', branches: [{ kind: 'primitive', type: 'null', props: [] }, fromConnect(nonOptional(schema), ctx, false)] };
      }
      const n = schema.name === undefined ? { namespace: CONNECT_NAMESPACE, name: ctx.nextDefaultName() } : avroName(schema.name);
      const record: RecordNode = { kind: 'record', name: n.name, namespace: n.namespace, fields: [], props: [] };
      ctx.cache.set(schema, record);
      for (const f of schema.fields ?? []) record.fields.push(avroField(scrubAvroName(f.name), f.schema, ctx));
      base = record;
      break;
    }
  }
  withProps(base, metaProps(schema, connectType));
  if (schema.name !== undefined && base.kind === 'primitive') {
    // Decimal: 'decimal' also when scale/precision break Avro's rules (Confluent then adds the prop the legacy way)
    const logicalType =
      schema.name === Logical.Decimal
        ? 'decimal'
        : schema.name === Logical.ConnectTime
          ? 'time-millis'
          : schema.name === Logical.ConnectTimestamp
            ? 'timestamp-millis'
            : schema.name === Logical.ConnectDate
              ? 'date'
              : null;
    if (logicalType !== null) base.props.push(['logicalType', logicalType]);
  }
  let result: AvroNode = base;
  if (!ignoreOptional && schema.optional) {
    const nul: PrimitiveNode = { kind: 'primitive', type: 'null', props: [] };
    result =
      schema.defaultValue !== undefined && schema.defaultValue !== null
        ? { kind: 'union', branches: [base, nul] }
        : { kind: 'union', branches: [nul, base] };
  }
  if (!schema.optional) ctx.cache.set(schema, result);
  return result;
}

function avroField(name: string, schema: ConnectSchema, ctx: Context): FieldNode {
  const type = fromConnect(schema, ctx, false);
  if (schema.defaultValue !== undefined && schema.defaultValue !== null) {
    return { name, type, hasDefault: true, defaultValue: defaultToAvroJson(schema, schema.defaultValue, name) };
  }
  if (schema.optional) return { name, type, hasDefault: true, defaultValue: null };
  return { name, type, hasDefault: false, defaultValue: null };
}

// ---------------------------------------------------------------------------------------------------------------
// Avro model → JSON (Avro Java's Schema.toString)
// ---------------------------------------------------------------------------------------------------------------

function nodeToJson(node: AvroNode, defined: Map<string, RecordNode>, currentNamespace: string | null): AvroJson {
  switch (node.kind) {
    case 'primitive':
      if (node.props.length === 0) return node.type;
      return Object.fromEntries([['type', node.type], ...node.props]) as AvroJson;
    case 'union':
      return node.branches.map((b) => nodeToJson(b, defined, currentNamespace));
    case 'array':
      return Object.fromEntries([['type', 'array'], ['items', nodeToJson(node.items, defined, currentNamespace)], ...node.props]) as AvroJson;
    case 'map':
      return Object.fromEntries([['type', 'map'], ['values', nodeToJson(node.values, defined, currentNamespace)], ...node.props]) as AvroJson;
    case 'record': {
      const full = fullNameOf(node);
      const known = defined.get(full);
      if (known !== undefined) {
        if (known !== node && !sameRecord(known, node)) {
          throw dataError(full, 'two different Connect structs map to the same Avro record name');
        }
        return node.namespace === currentNamespace || node.namespace === null ? node.name : full;
      }
      defined.set(full, node);
      const out: [string, AvroJson][] = [['type', 'record'], ['name', node.name]];
      if (node.namespace !== null) {
        if (node.namespace !== currentNamespace) out.push(['namespace', node.namespace]);
      } else if (currentNamespace !== null) {
        out.push(['namespace', '']);
      }
      const fields = node.fields.map((f) => {
        const entries: [string, AvroJson][] = [['name', f.name], ['type', nodeToJson(f.type, defined, node.namespace)]];
        if (f.hasDefault) entries.push(['default', f.defaultValue]);
        return Object.fromEntries(entries) as AvroJson;
      });
      out.push(['fields', fields], ...node.props);
      return Object.fromEntries(out) as AvroJson;
    }
  }
}

function sameRecord(a: RecordNode, b: RecordNode): boolean {
  return stringifyAvroJson(nodeToJson(a, new Map(), null)) === stringifyAvroJson(nodeToJson(b, new Map(), null));
}

/** JSON text with bigints written as exact integers. */
export function stringifyAvroJson(value: AvroJson): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'bigint':
      return value.toString();
    case 'number':
      return Number.isFinite(value) ? String(value) : JSON.stringify(String(value));
    case 'boolean':
      return value ? 'true' : 'false';
    case 'string':
      return JSON.stringify(value);
    default:
      if (Array.isArray(value)) return `[${value.map(stringifyAvroJson).join(',')}]`;
      return `{${Object.entries(value)
        .map(([k, v]) => `${JSON.stringify(k)}:${stringifyAvroJson(v)}`)
        .join(',')}}`;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Values: Connect value → what avsc encodes for the schema above
// ---------------------------------------------------------------------------------------------------------------

export interface AvroValueOptions {
  /** Confluent's ignore.default.for.nullables: keep null for optional fields that have a default */
  readonly ignoreDefaultForNullables?: boolean;
}

export type ValueEncoder = (value: unknown, path: string) => unknown;

function compileEncoder(schema: ConnectSchema, options: AvroValueOptions, memo: Map<ConnectSchema, ValueEncoder>): ValueEncoder {
  const known = memo.get(schema);
  if (known) return known;
  const replaceNull = !(options.ignoreDefaultForNullables && schema.optional);
  let inner: ValueEncoder;
  switch (schema.type) {
    case 'int8':
      inner = (v, p) => asInteger(v, p, 8);
      break;
    case 'int16':
      inner = (v, p) => asInteger(v, p, 16);
      break;
    case 'int32':
      inner = (v, p) => asInteger(v, p, 32);
      break;
    case 'int64':
      inner = (v, p) => asInt64(v, p);
      break;
    case 'float32':
    case 'float64':
      inner = (v, p) => {
        if (typeof v !== 'number') throw dataError(p, `expected a number for a ${schema.type} field`, v);
        return v;
      };
      break;
    case 'boolean':
      inner = (v, p) => {
        if (typeof v !== 'boolean') throw dataError(p, 'expected a boolean', v);
        return v;
      };
      break;
    case 'string':
      inner = (v, p) => {
        if (typeof v !== 'string') throw dataError(p, 'expected a string', v);
        return v;
      };
      break;
    case 'bytes':
      if (schema.name === Logical.Decimal) {
        const scale = Number(schema.parameters?.['scale'] ?? '0');
        // validate that the bytes are a decimal at all (cheap) and pass them through
        inner = (v, p) => {
          const bytes = asBytes(v, p);
          decodeDecimal(bytes, scale);
          return asBuffer(bytes);
        };
      } else {
        inner = (v, p) => asBuffer(asBytes(v, p));
      }
      break;
    case 'array': {
      const items = compileEncoder(schema.items!, options, memo);
      inner = (v, p) => {
        if (!Array.isArray(v)) throw dataError(p, 'expected an array', v);
        return v.map((x, i) => items(x, `${p}[${i}]`));
      };
      break;
    }
    case 'map': {
      const values = compileEncoder(schema.values!, options, memo);
      if (schema.keys!.type === 'string' && !schema.keys!.optional) {
        inner = (v, p) => {
          const out: Record<string, unknown> = {};
          for (const [k, x] of mapEntries(v, p)) {
            if (typeof k !== 'string') throw dataError(p, 'expected string map keys', k);
            out[k] = values(x, `${p}.${k}`);
          }
          return out;
        };
      } else {
        const keys = compileEncoder(schema.keys!, options, memo);
        inner = (v, p) => mapEntries(v, p).map(([k, x], i) => ({ key: keys(k, `${p}{${i}}`), value: values(x, `${p}{${i}}`) }));
      }
      break;
    }
    case 'struct': {
      const fields = (schema.fields ?? []).map((f) => ({
        name: f.name,
        avroName: scrubAvroName(f.name),
        encode: compileEncoder(f.schema, options, memo),
      }));
      inner = (v, p) => {
        if (typeof v !== 'object' || v === null || Array.isArray(v) || v instanceof Uint8Array || v instanceof Map) {
          throw dataError(p, 'expected an object for a struct', v);
        }
        const record = v as Record<string, unknown>;
        const out: Record<string, unknown> = {};
        for (const f of fields) out[f.avroName] = f.encode(record[f.name], p ? `${p}.${f.name}` : f.name);
        return out;
      };
      break;
    }
  }
  const encoder: ValueEncoder = (v, p) => {
    const value = effectiveValue(schema, v, p, replaceNull);
    return value === null ? null : inner(value, p);
  };
  memo.set(schema, encoder);
  return encoder;
}

// ---------------------------------------------------------------------------------------------------------------
// Public
// ---------------------------------------------------------------------------------------------------------------

export interface AvroTranslation {
  /** the Avro schema as a JSON value (bigints for long defaults) */
  readonly schema: AvroJson;
  /** the same as JSON text, the form registered with the Schema Registry */
  readonly text: string;
  /** the full name of the top-level record, if it is one (for RecordNameStrategy) */
  readonly recordName: string | null;
  /** turns a Connect value into the value avsc encodes with this schema */
  readonly encode: (value: unknown) => unknown;
}

/** Connect schema → Avro schema + value encoder. Not cached here; the converter caches per schema object. */
export function connectToAvro(schema: ConnectSchema, options: AvroValueOptions = {}): AvroTranslation {
  const node = fromConnect(schema, new Context(), false);
  const json = nodeToJson(node, new Map(), null);
  const encoder = compileEncoder(schema, options, new Map());
  const top = node.kind === 'union' ? node.branches.find((b) => b.kind === 'record') : node;
  return {
    schema: json,
    text: stringifyAvroJson(json),
    recordName: top !== undefined && top.kind === 'record' ? fullNameOf(top) : null,
    encode: (value: unknown) => encoder(value, ''),
  };
}
