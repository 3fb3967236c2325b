import { ConfigError } from '../errors.js';
import { AvroConverter, parseSubjectNameStrategy } from './avro.js';
import { KeyValueConverter, type Converter, type DataConverter } from './converter.js';
import { JsonConverter, type DecimalFormat } from './json.js';
import { SchemaRegistryClient } from './schema-registry-client.js';

/**
 * Builds the engine's Converter from a connector config, with Kafka Connect's property names. Each side (`key`,
 * `value`) is configured on its own:
 *
 *   <side>.converter                       org.apache.kafka.connect.json.JsonConverter (default; alias 'json')
 *                                          io.confluent.connect.avro.AvroConverter (alias 'avro')
 *   JSON  <side>.converter.schemas.enable  true (default) | false
 *         <side>.converter.decimal.format  BASE64 (default) | NUMERIC
 *         <side>.converter.replace.null.with.default   true (default) | false
 *   Avro  <side>.converter.schema.registry.url         required; comma-separated list allowed
 *         <side>.converter.basic.auth.credentials.source  USER_INFO | URL (credentials in the URL)
 *         <side>.converter.basic.auth.user.info        'user:password'
 *         <side>.converter.auto.register.schemas       true (default) | false
 *         <side>.converter.<side>.subject.name.strategy  TopicNameStrategy (default) | RecordNameStrategy |
 *                                                       TopicRecordNameStrategy (Confluent class names accepted)
 *         <side>.converter.ignore.default.for.nullables  false (default) | true
 */

export const JSON_CONVERTER = 'org.apache.kafka.connect.json.JsonConverter';
export const AVRO_CONVERTER = 'io.confluent.connect.avro.AvroConverter';

type Side = 'key' | 'value';

function get(config: Readonly<Record<string, unknown>>, key: string): unknown {
  return config[key];
}

function bool(config: Readonly<Record<string, unknown>>, key: string, fallback: boolean): boolean {
  const v = get(config, key);
  if (v === undefined || v === null || v === '') return fallback;
  if (typeof v === 'boolean') return v;
  if (typeof v === 'string' && /^(true|false)$/i.test(v.trim())) return v.trim().toLowerCase() === 'true';
  throw new ConfigError(`${key} must be true or false, not ${JSON.stringify(v)}`, { context: { key } });
}

function str(config: Readonly<Record<string, unknown>>, key: string): string | undefined {
  const v = get(config, key);
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new ConfigError(`${key} must be a string`, { context: { key } });
  return v.trim();
}

/** The registry URL(s) with any user:password@ moved out (fetch refuses URLs with credentials). */
function splitCredentials(urls: string): { urls: string[]; userInfo: string | undefined } {
  let userInfo: string | undefined;
  const clean = urls
    .split(',')
    .map((u) => u.trim())
    .filter((u) => u.length > 0)
    .map((u) => {
      try {
        const parsed = new URL(u);
        if (parsed.username || parsed.password) {
          userInfo = `${decodeURIComponent(parsed.username)}:${decodeURIComponent(parsed.password)}`;
          parsed.username = '';
          parsed.password = '';
        }
        return parsed.toString().replace(/\/+$/, '');
      } catch {
        throw new ConfigError(`schema.registry.url ${JSON.stringify(u)} is not a URL`);
      }
    });
  return { urls: clean, userInfo };
}

export function createDataConverter(config: Readonly<Record<string, unknown>>, side: Side): DataConverter {
  const prefix = `${side}.converter`;
  const cls = str(config, prefix) ?? JSON_CONVERTER;
  if (cls === JSON_CONVERTER || cls.toLowerCase() === 'json') {
    const format = (str(config, `${prefix}.decimal.format`) ?? 'BASE64').toUpperCase();
    if (format !== 'BASE64' && format !== 'NUMERIC') {
      throw new ConfigError(`${prefix}.decimal.format must be BASE64 or NUMERIC, not ${JSON.stringify(format)}`);
    }
    return new JsonConverter({
      schemasEnable: bool(config, `${prefix}.schemas.enable`, true),
      decimalFormat: format as DecimalFormat,
      replaceNullWithDefault: bool(config, `${prefix}.replace.null.with.default`, true),
    });
  }
  if (cls === AVRO_CONVERTER || cls.toLowerCase() === 'avro') {
    const url = str(config, `${prefix}.schema.registry.url`);
    if (!url) {
      throw new ConfigError(`${prefix}.schema.registry.url is required with the Avro converter, e.g. http://localhost:8081`, {
        context: { key: `${prefix}.schema.registry.url` },
      });
    }
    const { urls, userInfo: urlUserInfo } = splitCredentials(url);
    const source = (str(config, `${prefix}.basic.auth.credentials.source`) ?? 'URL').toUpperCase();
    const userInfo = source === 'USER_INFO' ? str(config, `${prefix}.basic.auth.user.info`) : urlUserInfo;
    return new AvroConverter({
      isKey: side === 'key',
      registry: new SchemaRegistryClient({ url: urls, ...(userInfo ? { basicAuthUserInfo: userInfo } : {}) }),
      autoRegisterSchemas: bool(config, `${prefix}.auto.register.schemas`, true),
      subjectNameStrategy: parseSubjectNameStrategy(str(config, `${prefix}.${side}.subject.name.strategy`)),
      ignoreDefaultForNullables: bool(config, `${prefix}.ignore.default.for.nullables`, false),
    });
  }
  throw new ConfigError(`${prefix} ${JSON.stringify(cls)} is not supported: use ${JSON_CONVERTER} or ${AVRO_CONVERTER}`, {
    context: { key: prefix },
  });
}

/** The key and value converters of a connector config as the engine's Converter. */
export function createConverter(config: Readonly<Record<string, unknown>>): Converter {
  return new KeyValueConverter(createDataConverter(config, 'key'), createDataConverter(config, 'value'));
}
