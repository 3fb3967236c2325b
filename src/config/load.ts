import { readFile } from 'node:fs/promises';
import { basename, dirname, extname, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import type { Logger } from '../observability/logger.js';
import { redactConfig } from '../observability/logger.js';
import {
  AVRO_CONVERTER_CLASS,
  JSON_CONVERTER_CLASS,
  connectorConfigSchema,
  type ConnectorConfig,
  type ConnectorKind,
} from './connector-config.js';
import { substituteEnv, type Env, type SubstitutionProblem } from './env.js';
import { flattenConfig, isMap, type ProblemSink } from './flatten.js';
import { ConfigProblemsError, formatPath, issueMessage, type ConfigProblem, type PathSegment } from './problems.js';
import { checkProperties } from './properties.js';
import {
  DEFAULT_OFFSETS_TOPIC,
  SINK_TYPES,
  type ConnectorSpec,
  type ConverterSettings,
  type ConverterSide,
  type SinkSettings,
  type SluiceConfig,
} from './sluice-config.js';

export interface LoadOptions {
  /** Environment for `${VAR}` substitution and the KAFKA_BOOTSTRAP_SERVERS / SCHEMA_REGISTRY_URL overrides. */
  readonly env?: Env;
  /** Receives the one unsupported-properties warning and a redacted debug dump; nothing else. */
  readonly logger?: Pick<Logger, 'warn' | 'debug'>;
}

/** A config text with the name it is reported under and the directory relative paths are resolved against. */
export interface ConfigSource {
  readonly file: string;
  readonly text: string;
  readonly dir: string;
}

const CONNECTOR_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;
const SLUICE_KEYS = ['connectors', 'sink', 'offsets'];
const ENTRY_KEYS = ['name', 'config'];
/** Keys Kafka Connect's REST API returns beside name/config (GET /connectors/x); harmless. */
const CONNECT_EXTRA_KEYS = ['tasks', 'type'];

interface RawConnector {
  readonly file: string;
  readonly path: readonly PathSegment[];
  readonly configPath: readonly PathSegment[];
  readonly name: unknown;
  readonly config: unknown;
}

interface RawSection {
  readonly file: string;
  readonly dir: string;
  readonly path: readonly PathSegment[];
  readonly value: unknown;
}

class Collector {
  readonly problems: ConfigProblem[] = [];
  add(file: string, path: readonly PathSegment[], message: string): void {
    this.problems.push({ file, path, message });
  }
}

/** Reads and validates config files (YAML or JSON); throws one ConfigProblemsError listing every problem. */
export async function loadConfigFiles(paths: readonly string[], options: LoadOptions = {}): Promise<SluiceConfig> {
  if (paths.length === 0) throw new ConfigProblemsError([{ file: '(command line)', path: [], message: 'no config file given' }]);
  const sources: ConfigSource[] = [];
  const unreadable: ConfigProblem[] = [];
  for (const path of paths) {
    try {
      sources.push({ file: path, text: await readFile(path, 'utf8'), dir: dirname(resolve(path)) });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      unreadable.push({ file: path, path: [], message: code === 'ENOENT' ? 'file not found' : `cannot be read (${code ?? String(err)})` });
    }
  }
  if (unreadable.length > 0) throw new ConfigProblemsError(unreadable);
  return parseConfigSources(sources, options);
}

/** Validates config texts already in memory (tests, stdin). */
export function parseConfigSources(sources: readonly ConfigSource[], options: LoadOptions = {}): SluiceConfig {
  const env = options.env ?? process.env;
  const out = new Collector();
  const connectors: RawConnector[] = [];
  const sinks: RawSection[] = [];
  const offsets: RawSection[] = [];

  let unparsed = 0;
  for (const source of sources) {
    const doc = parseText(source, out);
    if (doc === undefined) {
      unparsed += 1;
      continue;
    }
    const envProblems: SubstitutionProblem[] = [];
    const substituted = substituteEnv(doc, env, envProblems);
    for (const p of envProblems) out.add(source.file, p.path, p.message);
    interpret(source, substituted, out, connectors, sinks, offsets);
  }

  const specs: ConnectorSpec[] = [];
  const warnings: string[] = [];
  const unsupported: Record<string, string[]> = {};
  const seen = new Map<string, string>();
  for (const raw of connectors) {
    const spec = buildConnector(raw, env, out, unsupported);
    if (!spec) continue;
    const previous = seen.get(spec.name);
    if (previous !== undefined) {
      out.add(raw.file, [...raw.path, 'name'], `"${spec.name}" is already used by ${previous}; connector names must be unique`);
      continue;
    }
    seen.set(spec.name, spec.origin);
    specs.push(spec);
  }
  if (connectors.length === 0 && out.problems.length === 0) {
    out.add(sources[0]?.file ?? '(config)', [], 'defines no connector');
  }

  // an unreadable file may hold the sink: do not report it missing on top of the syntax error
  const sink = unparsed > 0 && sinks.length === 0 ? undefined : buildSink(sinks, env, out, sources[0]?.file ?? '(config)');
  const offsetFile = buildOffsets(offsets, sink, out);

  if (out.problems.length > 0) throw new ConfigProblemsError(out.problems);

  const entries = Object.entries(unsupported);
  if (entries.length > 0) {
    const text =
      'these connector properties are not supported by Sluice and are ignored: ' +
      entries.map(([name, keys]) => `${name}: ${keys.join(', ')}`).join('; ') +
      ' (see docs/debezium-properties.md)';
    warnings.push(text);
    options.logger?.warn({ unsupported }, text);
  }
  for (const spec of specs) {
    options.logger?.debug({ connector: spec.name, config: redactConfig(spec.config) }, 'connector configuration');
  }
  return { connectors: specs, sink: sink ?? { type: 'stdout' }, offsets: { file: offsetFile }, warnings };
}

function parseText(source: ConfigSource, out: Collector): unknown {
  const ext = extname(source.file).toLowerCase();
  if (ext === '.json') {
    try {
      return JSON.parse(source.text) as unknown;
    } catch (err) {
      out.add(source.file, [], `is not valid JSON: ${(err as Error).message}`);
      return undefined;
    }
  }
  // YAML 1.2 is a superset of JSON, so anything else (.yaml, .yml, no extension) goes through the YAML parser.
  const doc = parseDocument(source.text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    // the first error only: the following ones are usually its echoes
    const first = doc.errors[0]?.message.split('\n')[0] ?? 'unknown error';
    out.add(source.file, [], `is not valid YAML: ${first.replace(/:\s*$/, '')}`);
    return undefined;
  }
  return doc.toJS({ maxAliasCount: 100 }) as unknown;
}

function interpret(
  source: ConfigSource,
  doc: unknown,
  out: Collector,
  connectors: RawConnector[],
  sinks: RawSection[],
  offsets: RawSection[],
): void {
  const file = source.file;
  const addEntry = (entry: unknown, path: PathSegment[], sluice: boolean) => {
    if (!isMap(entry)) {
      out.add(file, path, 'must be a map with `name` and `config`');
      return;
    }
    for (const key of Object.keys(entry)) {
      if (ENTRY_KEYS.includes(key) || (!sluice && CONNECT_EXTRA_KEYS.includes(key))) continue;
      out.add(file, [...path, key], `is not a known key here; allowed: ${ENTRY_KEYS.join(', ')}`);
    }
    connectors.push({ file, path, configPath: [...path, 'config'], name: entry.name, config: entry.config });
  };

  if (Array.isArray(doc)) {
    // an array of Debezium connector configs
    doc.forEach((entry, i) => {
      if (isMap(entry) && !('config' in entry) && 'connector.class' in entry) {
        connectors.push({ file, path: [i], configPath: [i], name: entry.name, config: entry });
      } else addEntry(entry, [i], false);
    });
    return;
  }
  if (!isMap(doc)) {
    out.add(file, [], 'must hold a Sluice config (a map with `connectors`), a Debezium connector config ({"name", "config"}) or a list of them');
    return;
  }
  if (SLUICE_KEYS.some((k) => k in doc)) {
    // a Sluice file; it may hold only `sink`/`offsets`, to go beside Debezium connector configs
    for (const key of Object.keys(doc)) {
      if (!SLUICE_KEYS.includes(key)) out.add(file, [key], `is not a known key; allowed: ${SLUICE_KEYS.join(', ')}`);
    }
    if (doc.connectors === undefined) {
      // nothing: connectors come from other files
    } else if (!Array.isArray(doc.connectors)) {
      out.add(file, ['connectors'], 'must be a list of connectors ({name, config})');
    } else {
      doc.connectors.forEach((entry, i) => addEntry(entry, ['connectors', i], true));
    }
    if (doc.sink !== undefined) sinks.push({ file, dir: source.dir, path: ['sink'], value: doc.sink });
    if (doc.offsets !== undefined) offsets.push({ file, dir: source.dir, path: ['offsets'], value: doc.offsets });
    return;
  }
  if ('config' in doc) {
    addEntry(doc, [], false);
    return;
  }
  if ('connector.class' in doc) {
    // Kafka Connect's PUT /connectors/<name>/config body: the flat config, name inside or from the file name
    const name = doc.name ?? basename(file, extname(file));
    connectors.push({ file, path: [], configPath: [], name, config: doc });
    return;
  }
  out.add(file, [], 'must hold a Sluice config (a map with `connectors`), a Debezium connector config ({"name", "config"}) or a list of them');
}

function buildConnector(
  raw: RawConnector,
  env: Env,
  out: Collector,
  unsupported: Record<string, string[]>,
): ConnectorSpec | undefined {
  const before = out.problems.length;
  const { file } = raw;
  let name = '';
  if (typeof raw.name !== 'string' || raw.name === '') {
    out.add(file, [...raw.path, 'name'], raw.name === undefined ? 'is required' : 'must be a non-empty string');
  } else if (!CONNECTOR_NAME.test(raw.name)) {
    out.add(file, [...raw.path, 'name'], 'may hold only letters, digits, ".", "_" and "-" (it names offsets and transactional ids)');
  } else name = raw.name;

  if (!isMap(raw.config)) {
    out.add(file, raw.configPath, raw.config === undefined ? 'is required' : 'must be a map of Debezium connector properties');
    return undefined;
  }
  const flat = flattenConfig(raw.config, reportTo(out, file), raw.configPath);
  // Debezium 1.x spelled topic.prefix `database.server.name`
  if (flat['topic.prefix'] === undefined && flat['database.server.name'] !== undefined) flat['topic.prefix'] = flat['database.server.name'];
  // A connector config may repeat its name; the outer one wins (as in Kafka Connect), but they must agree
  if (flat.name !== undefined && name !== '' && flat.name !== name) {
    out.add(file, [...raw.configPath, 'name'], `is "${String(flat.name)}" but the connector is named "${name}"`);
  }

  const parsed = connectorConfigSchema.safeParse(flat, { reportInput: true });
  if (!parsed.success) {
    const reported = new Set(out.problems.filter((p) => p.file === file).map((p) => formatPath(p.path)));
    for (const issue of parsed.error.issues) {
      const path = [...raw.configPath, ...(issue.path as PathSegment[])];
      if (reported.has(formatPath(path))) continue; // an env problem or duplicate already explains this field
      out.add(file, path, issueMessage(issue, path));
    }
  }
  const kindResult = connectorConfigSchema.shape['connector.class'].safeParse(flat['connector.class']);
  const kind: ConnectorKind | undefined = kindResult.success ? kindResult.data : undefined;

  const converters = resolveConverters(flat, parsed.success ? parsed.data : undefined, env, out, file, raw.configPath);
  if (out.problems.length > before || !parsed.success || converters === undefined) return undefined;

  const report = checkProperties(Object.keys(flat), kind);
  const notes = [...report.unsupported, ...report.notApplicable.map((k) => `${k} (not for ${kind ?? 'this connector'})`)];
  if (notes.length > 0) unsupported[name] = notes;

  return {
    name,
    kind: parsed.data['connector.class'],
    config: parsed.data,
    converters,
    origin: `${file}${raw.path.length === 0 ? '' : `: ${formatPath(raw.path)}`}`,
  };
}

/** flattenConfig reports through `push`; adapt it to the collector for one file. */
function reportTo(out: Collector, file: string): ProblemSink {
  return { push: (p) => out.add(file, p.path, p.message) };
}

function resolveConverters(
  flat: Record<string, unknown>,
  parsed: ConnectorConfig | undefined,
  env: Env,
  out: Collector,
  file: string,
  configPath: readonly PathSegment[],
): ConverterSettings | undefined {
  if (!parsed) return undefined;
  const registryOverride = env.SCHEMA_REGISTRY_URL !== undefined && env.SCHEMA_REGISTRY_URL !== '' ? env.SCHEMA_REGISTRY_URL : null;
  const side = (which: 'key' | 'value'): ConverterSide | undefined => {
    const className = parsed[`${which}.converter`] ?? JSON_CONVERTER_CLASS;
    const format = className === AVRO_CONVERTER_CLASS || className === 'avro' ? 'avro' : 'json';
    const prefix = `${which}.converter.`;
    const properties: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(flat)) if (k.startsWith(prefix)) properties[k.slice(prefix.length)] = v;
    const url = registryOverride ?? parsed[`${which}.converter.schema.registry.url`] ?? null;
    if (format === 'avro' && (url === null || url === '')) {
      out.add(file, [...configPath, `${which}.converter.schema.registry.url`], 'is required by the Avro converter (or set SCHEMA_REGISTRY_URL)');
      return undefined;
    }
    return {
      format,
      className: className === 'avro' ? AVRO_CONVERTER_CLASS : className === 'json' ? JSON_CONVERTER_CLASS : className,
      schemasEnable: parsed[`${which}.converter.schemas.enable`],
      schemaRegistryUrl: format === 'avro' ? url : null,
      properties,
    };
  };
  const key = side('key');
  const value = side('value');
  if (!key || !value) return undefined;
  // the converters read the flat config: make it hold the effective registry URL (SCHEMA_REGISTRY_URL applied)
  const writable = parsed as Record<string, unknown>;
  if (key.schemaRegistryUrl !== null) writable['key.converter.schema.registry.url'] = key.schemaRegistryUrl;
  if (value.schemaRegistryUrl !== null) writable['value.converter.schema.registry.url'] = value.schemaRegistryUrl;
  return { key, value };
}

function sameSection(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function buildSink(sections: readonly RawSection[], env: Env, out: Collector, firstFile: string): SinkSettings | undefined {
  const first = sections[0];
  for (const other of sections.slice(1)) {
    if (first && !sameSection(first.value, other.value)) {
      out.add(other.file, other.path, `differs from the sink defined in ${first.file}; define the sink in one file only`);
    }
  }
  const bootstrapOverride = env.KAFKA_BOOTSTRAP_SERVERS !== undefined && env.KAFKA_BOOTSTRAP_SERVERS !== '' ? env.KAFKA_BOOTSTRAP_SERVERS : null;
  if (!first) {
    // Debezium connector configs (and Sluice files without `sink`) go to Kafka, as under Kafka Connect
    if (bootstrapOverride === null) {
      out.add(
        firstFile,
        ['sink'],
        `is not set: set KAFKA_BOOTSTRAP_SERVERS to send to Kafka, or add a \`sink\` section (type: ${SINK_TYPES.join(', ')}) ` +
          '— for a Debezium connector config, in a Sluice file given next to it (sluice run connector.json sink.yaml)',
      );
      return undefined;
    }
    return { type: 'kafka', 'bootstrap.servers': bootstrapOverride, 'offsets.topic': DEFAULT_OFFSETS_TOPIC };
  }
  const { file, path, value } = first;
  if (!isMap(value)) {
    out.add(file, path, `must be a map with \`type\` (${SINK_TYPES.join(', ')})`);
    return undefined;
  }
  const flat = flattenConfig(value, reportTo(out, file), path);
  const type = flat.type;
  if (!SINK_TYPES.includes(type as (typeof SINK_TYPES)[number])) {
    const got = typeof type === 'string' ? ` (got "${type}")` : '';
    out.add(file, [...path, 'type'], type === undefined ? `is required; one of: ${SINK_TYPES.join(', ')}` : `must be one of: ${SINK_TYPES.join(', ')}${got}`);
    return undefined;
  }
  const allowOnly = (allowed: readonly string[]) => {
    for (const key of Object.keys(flat)) {
      if (!allowed.includes(key)) out.add(file, [...path, key], `is not a known key for a ${String(type)} sink; allowed: ${allowed.join(', ')}`);
    }
  };
  if (type === 'stdout') {
    allowOnly(['type']);
    return { type: 'stdout' };
  }
  if (type === 'file') {
    allowOnly(['type', 'path']);
    if (typeof flat.path !== 'string' || flat.path === '') {
      out.add(file, [...path, 'path'], flat.path === undefined ? 'is required (the file records are appended to)' : 'must be a non-empty string');
      return undefined;
    }
    return { type: 'file', path: resolve(first.dir, flat.path) };
  }
  const bootstrap = bootstrapOverride ?? flat['bootstrap.servers'];
  if (typeof bootstrap !== 'string' || bootstrap === '') {
    out.add(file, [...path, 'bootstrap.servers'], 'is required for the Kafka sink (or set KAFKA_BOOTSTRAP_SERVERS)');
    return undefined;
  }
  const topic = flat['offsets.topic'] ?? DEFAULT_OFFSETS_TOPIC;
  if (typeof topic !== 'string' || !/^[A-Za-z0-9._-]{1,249}$/.test(topic)) {
    out.add(file, [...path, 'offsets.topic'], 'must be a Kafka topic name (letters, digits, ".", "_", "-")');
    return undefined;
  }
  return { ...flat, type: 'kafka', 'bootstrap.servers': bootstrap, 'offsets.topic': topic };
}

function buildOffsets(sections: readonly RawSection[], sink: SinkSettings | undefined, out: Collector): string | null {
  const first = sections[0];
  for (const other of sections.slice(1)) {
    if (first && !sameSection(first.value, other.value)) {
      out.add(other.file, other.path, `differs from the offsets section in ${first.file}; define it in one file only`);
    }
  }
  let file: string | null = null;
  if (first) {
    if (!isMap(first.value)) {
      out.add(first.file, first.path, 'must be a map (file: <path>)');
    } else {
      for (const key of Object.keys(first.value)) {
        if (key !== 'file') out.add(first.file, [...first.path, key], 'is not a known key; allowed: file');
      }
      const f = first.value.file;
      if (f !== undefined) {
        if (typeof f !== 'string' || f === '') out.add(first.file, [...first.path, 'file'], 'must be a non-empty path');
        else file = resolve(first.dir, f);
      }
    }
  }
  if (sink?.type === 'file' && file === null) file = `${sink.path}.offsets.json`;
  return file;
}
