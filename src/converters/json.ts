import { Logical, type ConnectSchema } from '../events/schema.js';
import { decimalToPlainString, decodeDecimal } from '../events/values.js';
import type { DataConverter } from './converter.js';
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
 * Kafka Connect's JsonConverter (org.apache.kafka.connect.json.JsonConverter), written without a JSON library so
 * that 64-bit integers stay exact.
 *
 *   schemas.enable=true   {"schema": <Connect schema as JSON>, "payload": <value>}
 *   schemas.enable=false  <value>
 *
 * Schema JSON, field order as JsonConverter.asJsonSchema writes it: type, then fields | items | keys, values, then
 * optional, name, version, doc, parameters, default; a struct field's schema ends with "field": <name>.
 *
 * Values: int8..int64 as JSON numbers (int64 written from the bigint's digits, never through a double), float32 with
 * the fewest digits that read back as the same float, float64 as JavaScript prints it (the same number Java
 * prints, possibly spelled differently: 1 vs 1.0), NaN/±Infinity as the strings "NaN"/"Infinity"/"-Infinity" as
 * Jackson quotes them, bytes as standard base64, structs as objects in field order, arrays as arrays, maps with
 * string keys as objects and other maps as arrays of [key, value] pairs.
 *
 * Decimals (org.apache.kafka.connect.data.Decimal) follow `decimal.format`: BASE64 (Kafka's default) writes the
 * unscaled two's complement bytes as base64, which is what Debezium users see as "eA==" instead of 1.20; NUMERIC
 * writes the exact number in plain notation (1.20, -0.005, never exponent notation, no rounding).
 *
 * `replace.null.with.default` (default true): a null field with a schema default is written as the default (so the
 * source block's snapshot field reads "false", as in Debezium's output).
 */

export type DecimalFormat = 'BASE64' | 'NUMERIC';

export interface JsonConverterOptions {
  readonly schemasEnable?: boolean;
  readonly decimalFormat?: DecimalFormat;
  readonly replaceNullWithDefault?: boolean;
}

/** The shortest decimal text that reads back as the same 32-bit float (Java's Float.toString digits). */
export function float32Text(value: number): string {
  const v = Math.fround(value);
  for (let p = 1; p <= 9; p++) {
    const candidate = Number(v.toPrecision(p));
    if (Math.fround(candidate) === v) return jsonNumber(candidate);
  }
  return jsonNumber(v);
}

function jsonNumber(n: number): string {
  return String(n);
}

function nonFinite(n: number): string | null {
  if (Number.isNaN(n)) return '"NaN"';
  if (n === Infinity) return '"Infinity"';
  if (n === -Infinity) return '"-Infinity"';
  return null;
}

export class JsonConverter implements DataConverter {
  readonly schemasEnable: boolean;
  readonly decimalFormat: DecimalFormat;
  readonly replaceNullWithDefault: boolean;
  private readonly schemaCache = new WeakMap<ConnectSchema, string>();

  constructor(options: JsonConverterOptions = {}) {
    this.schemasEnable = options.schemasEnable ?? true;
    this.decimalFormat = options.decimalFormat ?? 'BASE64';
    this.replaceNullWithDefault = options.replaceNullWithDefault ?? true;
  }

  fromConnectData(_topic: string, schema: ConnectSchema | null, value: unknown): Promise<Buffer | null> {
    try {
      return Promise.resolve(this.serialize(schema, value));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Synchronous core of fromConnectData. */
  serialize(schema: ConnectSchema | null, value: unknown): Buffer | null {
    const text = this.toJsonText(schema, value);
    return text === null ? null : Buffer.from(text, 'utf8');
  }

  /** The JSON text for a key or value; null when both schema and value are null (Kafka's null record part). */
  toJsonText(schema: ConnectSchema | null, value: unknown): string | null {
    if (schema === null && (value === null || value === undefined)) return null;
    const payload = schema === null ? this.schemaless(value, '') : this.value(schema, value, '');
    if (!this.schemasEnable) return payload;
    return `{"schema":${schema === null ? 'null' : this.schemaJson(schema)},"payload":${payload}}`;
  }

  /** The Connect schema as JsonConverter writes it (cached per schema object). */
  schemaJson(schema: ConnectSchema): string {
    const cached = this.schemaCache.get(schema);
    if (cached !== undefined) return cached;
    const text = this.buildSchemaJson(schema, null);
    this.schemaCache.set(schema, text);
    return text;
  }

  private buildSchemaJson(schema: ConnectSchema, fieldName: string | null): string {
    const parts: string[] = [`"type":${JSON.stringify(schema.type)}`];
    switch (schema.type) {
      case 'struct':
        parts.push(`"fields":[${(schema.fields ?? []).map((f) => this.buildSchemaJson(f.schema, f.name)).join(',')}]`);
        break;
      case 'array':
        if (!schema.items) throw dataError('', 'array schema without items');
        parts.push(`"items":${this.schemaJson(schema.items)}`);
        break;
      case 'map':
        if (!schema.keys || !schema.values) throw dataError('', 'map schema without keys/values');
        parts.push(`"keys":${this.schemaJson(schema.keys)}`, `"values":${this.schemaJson(schema.values)}`);
        break;
      default:
        break;
    }
    parts.push(`"optional":${schema.optional}`);
    if (schema.name !== undefined) parts.push(`"name":${JSON.stringify(schema.name)}`);
    if (schema.version !== undefined) parts.push(`"version":${schema.version}`);
    if (schema.doc !== undefined) parts.push(`"doc":${JSON.stringify(schema.doc)}`);
    if (schema.parameters !== undefined) {
      const params = Object.entries(schema.parameters).map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`);
      parts.push(`"parameters":{${params.join(',')}}`);
    }
    if (schema.defaultValue !== undefined && schema.defaultValue !== null) {
      parts.push(`"default":${this.value(schema, schema.defaultValue, 'default')}`);
    }
    if (fieldName !== null) parts.push(`"field":${JSON.stringify(fieldName)}`);
    return `{${parts.join(',')}}`;
  }

  /** The payload JSON of `value` under `schema`. */
  value(schema: ConnectSchema, raw: unknown, path: string): string {
    const value = effectiveValue(schema, raw, path, this.replaceNullWithDefault);
    if (value === null) return 'null';
    switch (schema.type) {
      case 'int8':
        return String(asInteger(value, path, 8));
      case 'int16':
        return String(asInteger(value, path, 16));
      case 'int32':
        return String(asInteger(value, path, 32));
      case 'int64':
        return asInt64(value, path).toString();
      case 'float32': {
        if (typeof value !== 'number') throw dataError(path, 'expected a number for a float32 field', value);
        return nonFinite(value) ?? float32Text(value);
      }
      case 'float64': {
        if (typeof value !== 'number') throw dataError(path, 'expected a number for a float64 field', value);
        return nonFinite(value) ?? jsonNumber(value);
      }
      case 'boolean':
        if (typeof value !== 'boolean') throw dataError(path, 'expected a boolean', value);
        return value ? 'true' : 'false';
      case 'string':
        if (typeof value !== 'string') throw dataError(path, 'expected a string', value);
        return JSON.stringify(value);
      case 'bytes': {
        const bytes = asBytes(value, path);
        if (schema.name === Logical.Decimal && this.decimalFormat === 'NUMERIC') {
          const scale = Number(schema.parameters?.['scale'] ?? '0');
          return decimalToPlainString(decodeDecimal(bytes, scale));
        }
        return `"${asBuffer(bytes).toString('base64')}"`;
      }
      case 'array': {
        if (!Array.isArray(value)) throw dataError(path, 'expected an array', value);
        const items = schema.items;
        if (!items) throw dataError(path, 'array schema without items');
        return `[${value.map((v, i) => this.value(items, v, `${path}[${i}]`)).join(',')}]`;
      }
      case 'map': {
        const keys = schema.keys;
        const values = schema.values;
        if (!keys || !values) throw dataError(path, 'map schema without keys/values');
        const entries = mapEntries(value, path);
        if (keys.type === 'string') {
          return `{${entries
            .map(([k, v]) => {
              if (typeof k !== 'string') throw dataError(path, 'expected string map keys', k);
              return `${JSON.stringify(k)}:${this.value(values, v, `${path}.${k}`)}`;
            })
            .join(',')}}`;
        }
        return `[${entries
          .map(([k, v], i) => `[${this.value(keys, k, `${path}{${i}}`)},${this.value(values, v, `${path}{${i}}`)}]`)
          .join(',')}]`;
      }
      case 'struct': {
        if (typeof value !== 'object' || Array.isArray(value) || value instanceof Uint8Array || value instanceof Map) {
          throw dataError(path, 'expected an object for a struct', value);
        }
        const record = value as Record<string, unknown>;
        const fields = (schema.fields ?? []).map(
          (f) => `${JSON.stringify(f.name)}:${this.value(f.schema, record[f.name], path ? `${path}.${f.name}` : f.name)}`,
        );
        return `{${fields.join(',')}}`;
      }
    }
  }

  /** A value without schema, as JsonConverter infers types (rare for change events). */
  private schemaless(value: unknown, path: string): string {
    if (value === null || value === undefined) return 'null';
    if (typeof value === 'bigint') return value.toString();
    if (typeof value === 'number') return nonFinite(value) ?? jsonNumber(value);
    if (typeof value === 'boolean') return value ? 'true' : 'false';
    if (typeof value === 'string') return JSON.stringify(value);
    if (value instanceof Uint8Array) return `"${asBuffer(value).toString('base64')}"`;
    if (Array.isArray(value)) return `[${value.map((v, i) => this.schemaless(v, `${path}[${i}]`)).join(',')}]`;
    const entries = mapEntries(value, path);
    if (entries.every(([k]) => typeof k === 'string')) {
      return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${this.schemaless(v, `${path}.${String(k)}`)}`).join(',')}}`;
    }
    return `[${entries.map(([k, v]) => `[${this.schemaless(k, path)},${this.schemaless(v, path)}]`).join(',')}]`;
  }
}
