/**
 * A small, in-memory, Confluent-compatible Schema Registry for tests (Avro only).
 *
 * See docs/schema-registry-test-server.md for the supported API and where it
 * differs from Confluent's server. `SCHEMA_REGISTRY_URL` in the environment
 * makes `startSchemaRegistry()` return that server instead of starting one.
 *
 * Schemas are validated with `avsc`; identity ("the same schema") and
 * compatibility are decided on our own model of the schema:
 *  - the canonical text is the schema's JSON with all whitespace removed, keys
 *    in a fixed order, named types fully qualified and `{"type":"int"}`
 *    collapsed to `"int"`; every attribute (doc, default, aliases, order,
 *    logicalType, custom properties such as `connect.name`) is kept, so schemas
 *    that differ only there get different ids, as in Confluent;
 *  - compatibility follows Avro's schema resolution rules, as Avro Java's
 *    SchemaCompatibility (which Confluent uses) applies them.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import avsc from 'avsc';

// ---------------------------------------------------------------------------
// Schema model
// ---------------------------------------------------------------------------

const PRIMITIVES = ['null', 'boolean', 'int', 'long', 'float', 'double', 'bytes', 'string'] as const;
type PrimitiveName = (typeof PRIMITIVES)[number];

function isPrimitive(name: unknown): name is PrimitiveName {
  return typeof name === 'string' && (PRIMITIVES as readonly string[]).includes(name);
}

interface Field {
  readonly name: string;
  readonly aliases: readonly string[];
  readonly type: AvroSchema;
  readonly hasDefault: boolean;
}

type AvroSchema =
  | { readonly kind: 'primitive'; readonly type: PrimitiveName }
  | { readonly kind: 'record'; readonly fullName: string; readonly aliases: readonly string[]; fields: Field[] }
  | { readonly kind: 'enum'; readonly fullName: string; readonly aliases: readonly string[]; readonly symbols: readonly string[]; readonly defaultSymbol: string | undefined }
  | { readonly kind: 'fixed'; readonly fullName: string; readonly aliases: readonly string[]; readonly size: number }
  | { readonly kind: 'array'; readonly items: AvroSchema }
  | { readonly kind: 'map'; readonly values: AvroSchema }
  | { readonly kind: 'union'; readonly branches: readonly AvroSchema[] };

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

class InvalidSchemaError extends Error {}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function namespaceOf(fullName: string): string {
  const dot = fullName.lastIndexOf('.');
  return dot < 0 ? '' : fullName.slice(0, dot);
}

function simpleName(fullName: string): string {
  return fullName.slice(fullName.lastIndexOf('.') + 1);
}

function qualify(name: string, namespace: string): string {
  if (name.includes('.') || namespace === '') return name;
  return `${namespace}.${name}`;
}

/** Orders an object's keys: `first` in that order, then the rest alphabetically. */
function ordered(source: JsonObject, first: readonly string[], overrides: JsonObject): JsonObject {
  const out: JsonObject = {};
  const merged: JsonObject = { ...source, ...overrides };
  for (const key of first) {
    const value = merged[key];
    if (value !== undefined) out[key] = value;
  }
  for (const key of Object.keys(merged).sort()) {
    const value = merged[key];
    if (!first.includes(key) && value !== undefined) out[key] = value;
  }
  return out;
}

/**
 * Builds our model and the canonical JSON of an (already avsc-validated)
 * schema. Named types are registered before their contents are built, so
 * recursive references resolve to the same object.
 */
class SchemaBuilder {
  private readonly named = new Map<string, AvroSchema>();

  build(node: Json, namespace: string): { schema: AvroSchema; json: Json } {
    if (typeof node === 'string') return this.reference(node, namespace);
    if (Array.isArray(node)) {
      const built = node.map((branch) => this.build(branch, namespace));
      return { schema: { kind: 'union', branches: built.map((b) => b.schema) }, json: built.map((b) => b.json) };
    }
    if (!isObject(node)) throw new InvalidSchemaError(`not a schema: ${JSON.stringify(node)}`);
    const type = node['type'];
    if (typeof type !== 'string') {
      // {"type": {...}} / {"type": [...]}: the attributes around it carry no meaning.
      if (type === undefined) throw new InvalidSchemaError(`schema without type: ${JSON.stringify(node)}`);
      return this.build(type, namespace);
    }
    switch (type) {
      case 'record':
      case 'error':
        return this.record(node, namespace);
      case 'enum':
        return this.enumType(node, namespace);
      case 'fixed':
        return this.fixed(node, namespace);
      case 'array': {
        const items = this.build(node['items'] ?? null, namespace);
        return { schema: { kind: 'array', items: items.schema }, json: ordered(node, ['type', 'items'], { items: items.json }) };
      }
      case 'map': {
        const values = this.build(node['values'] ?? null, namespace);
        return { schema: { kind: 'map', values: values.schema }, json: ordered(node, ['type', 'values'], { values: values.json }) };
      }
      default: {
        if (isPrimitive(type)) {
          const json = Object.keys(node).length === 1 ? type : ordered(node, ['type', 'logicalType'], {});
          return { schema: { kind: 'primitive', type }, json };
        }
        // {"type": "some.Named"}: a reference; extra attributes are kept in the canonical text.
        const ref = this.reference(type, namespace);
        const json = Object.keys(node).length === 1 ? ref.json : ordered(node, ['type'], { type: ref.json });
        return { schema: ref.schema, json };
      }
    }
  }

  private reference(name: string, namespace: string): { schema: AvroSchema; json: Json } {
    if (isPrimitive(name)) return { schema: { kind: 'primitive', type: name }, json: name };
    const full = qualify(name, namespace);
    const found = this.named.get(full) ?? this.named.get(name);
    if (found === undefined) throw new InvalidSchemaError(`undefined type name: ${name}`);
    const foundName = 'fullName' in found ? found.fullName : full;
    return { schema: found, json: foundName };
  }

  private defineName(node: JsonObject, namespace: string): { fullName: string; aliases: string[]; nameJson: JsonObject } {
    const name = node['name'];
    if (typeof name !== 'string') throw new InvalidSchemaError('named type without a name');
    const ownNamespace = node['namespace'];
    const fullName = name.includes('.') ? name : qualify(name, typeof ownNamespace === 'string' ? ownNamespace : namespace);
    if (this.named.has(fullName)) throw new InvalidSchemaError(`duplicate type name: ${fullName}`);
    const typeNamespace = namespaceOf(fullName);
    const rawAliases = Array.isArray(node['aliases']) ? node['aliases'] : [];
    const aliases = rawAliases.filter((a): a is string => typeof a === 'string').map((a) => qualify(a, typeNamespace));
    // The canonical text names the type by its full name. A type in the null
    // namespace nested in a namespaced one needs an explicit empty namespace.
    const nameJson: JsonObject = { name: fullName, namespace: typeNamespace === '' && namespace !== '' ? '' : null };
    return { fullName, aliases, nameJson };
  }

  private canonicalNamed(node: JsonObject, nameJson: JsonObject, first: readonly string[], overrides: JsonObject): JsonObject {
    const json = ordered(node, ['type', 'name', 'namespace', 'doc', 'aliases', ...first], { ...nameJson, ...overrides });
    if (json['namespace'] === null) delete json['namespace'];
    return json;
  }

  private record(node: JsonObject, namespace: string): { schema: AvroSchema; json: Json } {
    const { fullName, aliases, nameJson } = this.defineName(node, namespace);
    const schema: AvroSchema & { kind: 'record' } = { kind: 'record', fullName, aliases, fields: [] };
    this.named.set(fullName, schema);
    const inner = namespaceOf(fullName);
    const rawFields = Array.isArray(node['fields']) ? node['fields'] : [];
    const fieldsJson: Json[] = [];
    for (const raw of rawFields) {
      if (!isObject(raw) || typeof raw['name'] !== 'string') throw new InvalidSchemaError('invalid record field');
      const built = this.build(raw['type'] ?? null, inner);
      const fieldAliases = Array.isArray(raw['aliases']) ? raw['aliases'].filter((a): a is string => typeof a === 'string') : [];
      schema.fields.push({ name: raw['name'], aliases: fieldAliases, type: built.schema, hasDefault: raw['default'] !== undefined });
      fieldsJson.push(ordered(raw, ['name', 'type', 'doc', 'default', 'order', 'aliases'], { type: built.json }));
    }
    return { schema, json: this.canonicalNamed(node, nameJson, ['fields'], { fields: fieldsJson }) };
  }

  private enumType(node: JsonObject, namespace: string): { schema: AvroSchema; json: Json } {
    const { fullName, aliases, nameJson } = this.defineName(node, namespace);
    const symbols = Array.isArray(node['symbols']) ? node['symbols'].filter((s): s is string => typeof s === 'string') : [];
    const def = node['default'];
    const schema: AvroSchema = { kind: 'enum', fullName, aliases, symbols, defaultSymbol: typeof def === 'string' ? def : undefined };
    this.named.set(fullName, schema);
    return { schema, json: this.canonicalNamed(node, nameJson, ['symbols', 'default'], {}) };
  }

  private fixed(node: JsonObject, namespace: string): { schema: AvroSchema; json: Json } {
    const { fullName, aliases, nameJson } = this.defineName(node, namespace);
    const size = typeof node['size'] === 'number' ? node['size'] : -1;
    const schema: AvroSchema = { kind: 'fixed', fullName, aliases, size };
    this.named.set(fullName, schema);
    return { schema, json: this.canonicalNamed(node, nameJson, ['size'], {}) };
  }
}

interface ParsedSchema {
  readonly canonical: string;
  readonly model: AvroSchema;
}

/** Parses and validates schema text; throws InvalidSchemaError. */
function parseSchema(text: string): ParsedSchema {
  let json: Json;
  try {
    json = JSON.parse(text) as Json;
  } catch (err) {
    throw new InvalidSchemaError(`Invalid schema: not JSON (${(err as Error).message})`);
  }
  try {
    avsc.Type.forSchema(json as avsc.Schema);
  } catch (err) {
    throw new InvalidSchemaError(`Invalid schema ${text}: ${(err as Error).message}`);
  }
  const built = new SchemaBuilder().build(json, '');
  return { canonical: JSON.stringify(built.json), model: built.schema };
}

// ---------------------------------------------------------------------------
// Compatibility (Avro schema resolution)
// ---------------------------------------------------------------------------

const PROMOTIONS: Readonly<Record<PrimitiveName, readonly PrimitiveName[]>> = {
  // writer type -> reader types it can be read as
  null: [],
  boolean: [],
  int: ['long', 'float', 'double'],
  long: ['float', 'double'],
  float: ['double'],
  double: [],
  bytes: ['string'],
  string: ['bytes'],
};

function describe(schema: AvroSchema): string {
  switch (schema.kind) {
    case 'primitive':
      return schema.type;
    case 'record':
    case 'enum':
    case 'fixed':
      return `${schema.kind} ${schema.fullName}`;
    default:
      return schema.kind;
  }
}

/** Avro Java compares the unqualified names, or the reader's aliases against the writer's full name. */
function namesMatch(reader: { fullName: string; aliases: readonly string[] }, writer: { fullName: string }): boolean {
  return simpleName(reader.fullName) === simpleName(writer.fullName) || reader.aliases.includes(writer.fullName);
}

class CompatibilityChecker {
  readonly messages: string[] = [];

  /**
   * @param inProgress reader/writer pairs being checked further up the stack (shared with nested checkers)
   * @param silent collect no messages (used to probe union branches)
   */
  constructor(
    private readonly inProgress = new Map<AvroSchema, Set<AvroSchema>>(),
    private readonly silent = false,
  ) {}

  /** Can data written with `writer` be read with `reader`? */
  canRead(reader: AvroSchema, writer: AvroSchema, location: string): boolean {
    // Recursive types: a pair already being checked is assumed compatible.
    let readers = this.inProgress.get(writer);
    if (readers?.has(reader)) return true;
    if (readers === undefined) {
      readers = new Set();
      this.inProgress.set(writer, readers);
    }
    readers.add(reader);
    try {
      return this.check(reader, writer, location);
    } finally {
      readers.delete(reader);
    }
  }

  private fail(type: string, location: string, description: string): false {
    if (!this.silent) this.messages.push(`{errorType:'${type}', description:'${description}', location:'${location}'}`);
    return false;
  }

  private check(reader: AvroSchema, writer: AvroSchema, location: string): boolean {
    if (writer.kind === 'union') {
      let ok = true;
      writer.branches.forEach((branch, i) => {
        if (!this.canRead(reader, branch, `${location}/${i}`)) ok = false;
      });
      return ok;
    }
    if (reader.kind === 'union') {
      const quiet = new CompatibilityChecker(this.inProgress, true);
      for (const branch of reader.branches) {
        if (quiet.canRead(branch, writer, location)) return true;
      }
      return this.fail('MISSING_UNION_BRANCH', location, `The new schema is missing a type inside a union field: reader union lacking writer type ${describe(writer)}`);
    }
    switch (reader.kind) {
      case 'primitive':
        if (writer.kind === 'primitive' && (writer.type === reader.type || PROMOTIONS[writer.type].includes(reader.type))) return true;
        return this.fail('TYPE_MISMATCH', location, `The type (path '${location}') of a field in the new schema does not match with the old schema: reader type ${reader.type} not compatible with writer type ${describe(writer)}`);
      case 'array':
        if (writer.kind !== 'array') return this.typeMismatch(reader, writer, location);
        return this.canRead(reader.items, writer.items, `${location}/items`);
      case 'map':
        if (writer.kind !== 'map') return this.typeMismatch(reader, writer, location);
        return this.canRead(reader.values, writer.values, `${location}/values`);
      case 'fixed':
        if (writer.kind !== 'fixed') return this.typeMismatch(reader, writer, location);
        if (!namesMatch(reader, writer)) return this.nameMismatch(reader, writer, location);
        if (reader.size !== writer.size) {
          return this.fail('FIXED_SIZE_MISMATCH', `${location}/size`, `The size of FIXED type field at path '${location}' in the new schema does not match with the old schema: expected: ${writer.size}, found: ${reader.size}`);
        }
        return true;
      case 'enum': {
        if (writer.kind !== 'enum') return this.typeMismatch(reader, writer, location);
        if (!namesMatch(reader, writer)) return this.nameMismatch(reader, writer, location);
        const missing = writer.symbols.filter((s) => !reader.symbols.includes(s));
        if (missing.length > 0 && reader.defaultSymbol === undefined) {
          return this.fail('MISSING_ENUM_SYMBOLS', `${location}/symbols`, `The new schema is missing enum symbols '${missing.join(', ')}' at path '${location}' in the old schema`);
        }
        return true;
      }
      case 'record': {
        if (writer.kind !== 'record') return this.typeMismatch(reader, writer, location);
        if (!namesMatch(reader, writer)) return this.nameMismatch(reader, writer, location);
        let ok = true;
        reader.fields.forEach((field, i) => {
          const writerField =
            writer.fields.find((f) => f.name === field.name) ?? writer.fields.find((f) => field.aliases.includes(f.name));
          if (writerField === undefined) {
            if (!field.hasDefault) {
              ok = this.fail('READER_FIELD_MISSING_DEFAULT_VALUE', `${location}/fields/${i}`, `The field '${field.name}' at path '${location}/fields/${i}' in the new schema has no default value and is missing in the old schema`);
            }
          } else if (!this.canRead(field.type, writerField.type, `${location}/fields/${i}/type`)) {
            ok = false;
          }
        });
        return ok;
      }
    }
  }

  private typeMismatch(reader: AvroSchema, writer: AvroSchema, location: string): false {
    return this.fail('TYPE_MISMATCH', location, `The type (path '${location}') of a field in the new schema does not match with the old schema: reader type ${describe(reader)} not compatible with writer type ${describe(writer)}`);
  }

  private nameMismatch(reader: { fullName: string }, writer: { fullName: string }, location: string): false {
    return this.fail('NAME_MISMATCH', `${location}/name`, `The name of the schema has changed (path '${location}/name'): expected: ${writer.fullName}, found: ${reader.fullName}`);
  }
}

/** Can data written with `writer` be read with `reader`? Messages explain a "no". */
export function checkReadCompatibility(reader: string, writer: string): { compatible: boolean; messages: string[] } {
  const checker = new CompatibilityChecker();
  const compatible = checker.canRead(parseSchema(reader).model, parseSchema(writer).model, '');
  return { compatible, messages: checker.messages };
}

// ---------------------------------------------------------------------------
// Registry state
// ---------------------------------------------------------------------------

export const COMPATIBILITY_LEVELS = ['NONE', 'BACKWARD', 'BACKWARD_TRANSITIVE', 'FORWARD', 'FORWARD_TRANSITIVE', 'FULL', 'FULL_TRANSITIVE'] as const;
export type CompatibilityLevel = (typeof COMPATIBILITY_LEVELS)[number];

function isLevel(value: unknown): value is CompatibilityLevel {
  return typeof value === 'string' && (COMPATIBILITY_LEVELS as readonly string[]).includes(value);
}

interface StoredSchema {
  readonly id: number;
  readonly canonical: string;
  readonly model: AvroSchema;
}

interface SubjectVersion {
  readonly version: number;
  readonly id: number;
  deleted: boolean;
}

/** Error answered to the client: HTTP status and Confluent error code. */
class RegistryError extends Error {
  constructor(
    readonly status: number,
    readonly errorCode: number,
    message: string,
  ) {
    super(message);
  }
}

const subjectNotFound = (subject: string): RegistryError => new RegistryError(404, 40401, `Subject '${subject}' not found.`);
const versionNotFound = (version: string | number): RegistryError => new RegistryError(404, 40402, `Version ${version} not found.`);
const schemaNotFound = (what = 'Schema not found'): RegistryError => new RegistryError(404, 40403, what);

class Registry {
  private readonly byId = new Map<number, StoredSchema>();
  private readonly idByCanonical = new Map<string, number>();
  private readonly subjects = new Map<string, SubjectVersion[]>();
  private readonly subjectLevels = new Map<string, CompatibilityLevel>();
  private globalLevel: CompatibilityLevel = 'BACKWARD';
  private nextId = 1;

  private parse(body: unknown): ParsedSchema {
    if (!isObject(body)) throw new RegistryError(422, 42201, 'Invalid schema: the request body must be a JSON object');
    const schemaType = body['schemaType'];
    if (schemaType !== undefined && schemaType !== null && String(schemaType).toUpperCase() !== 'AVRO') {
      throw new RegistryError(422, 42201, `Invalid schema: schema type ${String(schemaType)} is not supported by this test registry (Avro only)`);
    }
    const references = body['references'];
    if (Array.isArray(references) && references.length > 0) {
      throw new RegistryError(422, 42201, 'Invalid schema: schema references are not supported by this test registry');
    }
    const text = body['schema'];
    if (typeof text !== 'string' || text.trim() === '') throw new RegistryError(422, 42201, 'Invalid schema: empty schema');
    try {
      return parseSchema(text);
    } catch (err) {
      if (err instanceof InvalidSchemaError) throw new RegistryError(422, 42201, err.message);
      throw err;
    }
  }

  private schema(id: number): StoredSchema {
    const stored = this.byId.get(id);
    if (stored === undefined) throw schemaNotFound(`Schema ${id} not found`);
    return stored;
  }

  private versions(subject: string, includeDeleted = false): SubjectVersion[] {
    const all = this.subjects.get(subject);
    const live = all?.filter((v) => includeDeleted || !v.deleted) ?? [];
    if (live.length === 0) throw subjectNotFound(subject);
    return live;
  }

  private resolveVersion(subject: string, version: string, includeDeleted = false): SubjectVersion {
    const versions = this.versions(subject, includeDeleted);
    if (version === 'latest' || version === '-1') return versions[versions.length - 1] as SubjectVersion;
    if (!/^\d+$/.test(version) || Number(version) < 1 || Number(version) > 2 ** 31 - 1) {
      throw new RegistryError(422, 42202, `The specified version '${version}' is not a valid version id. Allowed values are between [1, 2^31-1] and the string "latest"`);
    }
    const found = versions.find((v) => v.version === Number(version));
    if (found === undefined) throw versionNotFound(version);
    return found;
  }

  private describeVersion(subject: string, v: SubjectVersion): JsonObject {
    return { subject, version: v.version, id: v.id, schema: this.schema(v.id).canonical };
  }

  levelFor(subject: string): CompatibilityLevel {
    return this.subjectLevels.get(subject) ?? this.globalLevel;
  }

  /** Checks `candidate` against `against` under `level`; returns messages (empty = compatible). */
  private check(candidate: AvroSchema, against: readonly StoredSchema[], level: CompatibilityLevel): string[] {
    if (level === 'NONE') return [];
    const backward = level.startsWith('BACKWARD') || level.startsWith('FULL');
    const forward = level.startsWith('FORWARD') || level.startsWith('FULL');
    const messages: string[] = [];
    for (const old of against) {
      if (backward) {
        const checker = new CompatibilityChecker();
        if (!checker.canRead(candidate, old.model, '')) messages.push(...checker.messages, `{oldSchemaVersion: ${old.id}, compatibility: '${level}' (new schema cannot read data written with the old one)}`);
      }
      if (forward) {
        const checker = new CompatibilityChecker();
        if (!checker.canRead(old.model, candidate, '')) messages.push(...checker.messages, `{oldSchemaVersion: ${old.id}, compatibility: '${level}' (old schema cannot read data written with the new one)}`);
      }
    }
    return messages;
  }

  private targets(live: readonly SubjectVersion[], level: CompatibilityLevel): StoredSchema[] {
    const chosen = level.endsWith('_TRANSITIVE') ? live : live.slice(-1);
    return chosen.map((v) => this.schema(v.id));
  }

  register(subject: string, body: unknown): JsonObject {
    const parsed = this.parse(body);
    const existing = this.subjects.get(subject) ?? [];
    const live = existing.filter((v) => !v.deleted);
    const knownId = this.idByCanonical.get(parsed.canonical);
    if (knownId !== undefined) {
      const same = live.find((v) => v.id === knownId);
      if (same !== undefined) return { id: knownId };
    }
    const level = this.levelFor(subject);
    const messages = this.check(parsed.model, this.targets(live, level), level);
    if (messages.length > 0) {
      throw new RegistryError(409, 409, `Schema being registered is incompatible with an earlier schema for subject "${subject}", details: [${messages.join(', ')}]`);
    }
    let id = knownId;
    if (id === undefined) {
      id = this.nextId++;
      this.byId.set(id, { id, canonical: parsed.canonical, model: parsed.model });
      this.idByCanonical.set(parsed.canonical, id);
    }
    const lastVersion = existing.reduce((max, v) => Math.max(max, v.version), 0);
    existing.push({ version: lastVersion + 1, id, deleted: false });
    this.subjects.set(subject, existing);
    return { id };
  }

  lookup(subject: string, body: unknown, includeDeleted: boolean): JsonObject {
    const versions = this.subjects.get(subject)?.filter((v) => includeDeleted || !v.deleted) ?? [];
    if (versions.length === 0) throw subjectNotFound(subject);
    const parsed = this.parse(body);
    const id = this.idByCanonical.get(parsed.canonical);
    const found = versions.find((v) => v.id === id);
    if (found === undefined) throw schemaNotFound();
    return this.describeVersion(subject, found);
  }

  schemaById(id: number): JsonObject {
    return { schema: this.schema(id).canonical };
  }

  versionsOfId(id: number): Json[] {
    this.schema(id);
    const out: Json[] = [];
    for (const [subject, versions] of this.subjects) {
      for (const v of versions) if (v.id === id && !v.deleted) out.push({ subject, version: v.version });
    }
    return out;
  }

  subjectsOfId(id: number): Json[] {
    return [...new Set(this.versionsOfId(id).map((v) => (v as JsonObject)['subject'] as string))];
  }

  listSubjects(includeDeleted: boolean): Json[] {
    return [...this.subjects].filter(([, versions]) => versions.some((v) => includeDeleted || !v.deleted)).map(([s]) => s).sort();
  }

  listVersions(subject: string, includeDeleted: boolean): Json[] {
    return this.versions(subject, includeDeleted).map((v) => v.version);
  }

  getVersion(subject: string, version: string, includeDeleted: boolean): JsonObject {
    return this.describeVersion(subject, this.resolveVersion(subject, version, includeDeleted));
  }

  deleteSubject(subject: string, permanent: boolean): Json[] {
    const all = this.subjects.get(subject);
    if (all === undefined || all.length === 0) throw subjectNotFound(subject);
    if (permanent) {
      if (all.some((v) => !v.deleted)) throw new RegistryError(404, 40405, `Subject '${subject}' was not deleted first before being permanently deleted`);
      this.subjects.delete(subject);
      return all.map((v) => v.version);
    }
    const live = all.filter((v) => !v.deleted);
    if (live.length === 0) throw new RegistryError(404, 40404, `Subject '${subject}' was soft deleted. Set permanent=true to delete permanently`);
    for (const v of live) v.deleted = true;
    return live.map((v) => v.version);
  }

  deleteVersion(subject: string, version: string, permanent: boolean): number {
    const all = this.subjects.get(subject);
    if (all === undefined || all.length === 0) throw subjectNotFound(subject);
    const v = this.resolveVersion(subject, version, permanent);
    if (permanent) {
      if (!v.deleted) throw new RegistryError(404, 40407, `Subject '${subject}' Version ${v.version} was not deleted first before being permanently deleted`);
      all.splice(all.indexOf(v), 1);
      if (all.length === 0) this.subjects.delete(subject);
      return v.version;
    }
    v.deleted = true;
    return v.version;
  }

  compatibility(subject: string, version: string | undefined, body: unknown): { compatible: boolean; messages: string[] } {
    const parsed = this.parse(body);
    const level = this.levelFor(subject);
    let against: StoredSchema[];
    if (version === undefined) {
      const live = this.subjects.get(subject)?.filter((v) => !v.deleted) ?? [];
      against = this.targets(live, level);
    } else {
      const target = this.resolveVersion(subject, version);
      const live = this.versions(subject);
      // "latest" under a transitive level checks every version, as registration would.
      against = version === 'latest' || version === '-1' ? this.targets(live, level) : [this.schema(target.id)];
    }
    const messages = this.check(parsed.model, against, level);
    return { compatible: messages.length === 0, messages };
  }

  getGlobalLevel(): CompatibilityLevel {
    return this.globalLevel;
  }

  setGlobalLevel(level: CompatibilityLevel): void {
    this.globalLevel = level;
  }

  getSubjectLevel(subject: string, defaultToGlobal: boolean): CompatibilityLevel {
    const level = this.subjectLevels.get(subject);
    if (level !== undefined) return level;
    if (defaultToGlobal) return this.globalLevel;
    throw new RegistryError(404, 40408, `Subject '${subject}' does not have subject-level compatibility configured`);
  }

  setSubjectLevel(subject: string, level: CompatibilityLevel): void {
    this.subjectLevels.set(subject, level);
  }

  deleteSubjectLevel(subject: string): CompatibilityLevel {
    const level = this.getSubjectLevel(subject, false);
    this.subjectLevels.delete(subject);
    return level;
  }
}

// ---------------------------------------------------------------------------
// HTTP
// ---------------------------------------------------------------------------

const CONTENT_TYPE = 'application/vnd.schemaregistry.v1+json';
const MAX_BODY = 16 * 1024 * 1024;

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY) {
        reject(new RegistryError(413, 413, 'Request body too large'));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

async function jsonBody(req: IncomingMessage): Promise<unknown> {
  const text = await readBody(req);
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new RegistryError(400, 400, `Unrecognized request body: ${(err as Error).message}`);
  }
}

function levelFromBody(body: unknown): CompatibilityLevel {
  const raw = isObject(body) ? body['compatibility'] : undefined;
  const level = typeof raw === 'string' ? raw.toUpperCase() : raw;
  if (!isLevel(level)) throw new RegistryError(422, 42203, `Invalid compatibility level. Valid values are ${COMPATIBILITY_LEVELS.join(', ')}`);
  return level;
}

function parseId(raw: string | undefined): number {
  if (raw === undefined || !/^\d+$/.test(raw)) throw schemaNotFound(`Schema ${raw ?? ''} not found`);
  return Number(raw);
}

/** A response body sent as is (the `.../schema` endpoints answer with the schema text itself). */
class Raw {
  constructor(readonly text: string) {}
}

function send(res: ServerResponse, status: number, body: Json | Raw): void {
  const text = body instanceof Raw ? body.text : JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': CONTENT_TYPE, 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

async function route(registry: Registry, req: IncomingMessage): Promise<Json | Raw> {
  const url = new URL(req.url ?? '/', 'http://registry');
  const segments = url.pathname.split('/').filter((s) => s !== '').map((s) => decodeURIComponent(s));
  const method = (req.method ?? 'GET').toUpperCase();
  const flag = (name: string): boolean => url.searchParams.get(name) === 'true';
  const [head, a, b, c, d, e] = segments;
  const notFound = (): RegistryError => new RegistryError(404, 404, 'HTTP 404 Not Found');
  const notAllowed = (): RegistryError => new RegistryError(405, 405, 'HTTP 405 Method Not Allowed');

  switch (head) {
    case undefined:
      if (method === 'GET') return {};
      throw notAllowed();
    case 'schemas':
      if (method !== 'GET') throw notAllowed();
      if (a === 'types' && b === undefined) return ['AVRO'];
      if (a !== 'ids' || segments.length < 3 || segments.length > 4) throw notFound();
      if (c === undefined) return registry.schemaById(parseId(b));
      if (c === 'versions') return registry.versionsOfId(parseId(b));
      if (c === 'subjects') return registry.subjectsOfId(parseId(b));
      if (c === 'schema') return new Raw(String(registry.schemaById(parseId(b))['schema']));
      throw notFound();
    case 'subjects': {
      if (a === undefined) {
        if (method !== 'GET') throw notAllowed();
        return registry.listSubjects(flag('deleted'));
      }
      if (b === undefined) {
        if (method === 'POST') return registry.lookup(a, await jsonBody(req), flag('deleted'));
        if (method === 'DELETE') return registry.deleteSubject(a, flag('permanent'));
        throw notAllowed();
      }
      if (b !== 'versions') throw notFound();
      if (c === undefined) {
        if (method === 'GET') return registry.listVersions(a, flag('deleted'));
        if (method === 'POST') return registry.register(a, await jsonBody(req));
        throw notAllowed();
      }
      if (d === undefined) {
        if (method === 'GET') return registry.getVersion(a, c, flag('deleted'));
        if (method === 'DELETE') return registry.deleteVersion(a, c, flag('permanent'));
        throw notAllowed();
      }
      if (d === 'schema' && e === undefined && method === 'GET') return new Raw(String(registry.getVersion(a, c, flag('deleted'))['schema']));
      if (d === 'referencedby' && e === undefined && method === 'GET') {
        registry.getVersion(a, c, false);
        return [];
      }
      throw notFound();
    }
    case 'compatibility': {
      if (a !== 'subjects' || b === undefined || c !== 'versions' || segments.length > 5) throw notFound();
      if (method !== 'POST') throw notAllowed();
      const result = registry.compatibility(b, d, await jsonBody(req));
      const out: JsonObject = { is_compatible: result.compatible };
      if (flag('verbose')) out['messages'] = result.messages;
      return out;
    }
    case 'config': {
      if (segments.length > 2) throw notFound();
      if (a === undefined) {
        if (method === 'GET') return { compatibilityLevel: registry.getGlobalLevel() };
        if (method === 'PUT') {
          const level = levelFromBody(await jsonBody(req));
          registry.setGlobalLevel(level);
          return { compatibility: level };
        }
        if (method === 'DELETE') {
          const previous = registry.getGlobalLevel();
          registry.setGlobalLevel('BACKWARD');
          return { compatibilityLevel: previous };
        }
        throw notAllowed();
      }
      if (method === 'GET') return { compatibilityLevel: registry.getSubjectLevel(a, flag('defaultToGlobal')) };
      if (method === 'PUT') {
        const level = levelFromBody(await jsonBody(req));
        registry.setSubjectLevel(a, level);
        return { compatibility: level };
      }
      if (method === 'DELETE') return { compatibilityLevel: registry.deleteSubjectLevel(a) };
      throw notAllowed();
    }
    default:
      throw notFound();
  }
}

/** An HTTP server (not listening yet) serving a fresh, empty registry. */
export function createSchemaRegistryServer(): Server {
  const registry = new Registry();
  return createServer((req, res) => {
    route(registry, req).then(
      (body) => send(res, 200, body),
      (err: unknown) => {
        if (err instanceof RegistryError) {
          send(res, err.status, { error_code: err.errorCode, message: err.message });
        } else {
          send(res, 500, { error_code: 50001, message: `Error in the backend data store: ${String(err)}` });
        }
      },
    );
  });
}

export interface SchemaRegistryInstance {
  readonly url: string;
  readonly external: boolean;
  stop(): Promise<void>;
}

export async function startSchemaRegistry(options?: { port?: number; host?: string }): Promise<SchemaRegistryInstance> {
  const external = process.env['SCHEMA_REGISTRY_URL'];
  if (external !== undefined && external !== '') {
    return { url: external.replace(/\/+$/, ''), external: true, stop: async () => {} };
  }
  const host = options?.host ?? '127.0.0.1';
  const server = createSchemaRegistryServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options?.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  // A test that forgets stop() must not keep its process alive.
  server.unref();
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('schema registry: unexpected server address');
  let stopping: Promise<void> | undefined;
  return {
    url: `http://${host}:${address.port}`,
    external: false,
    stop() {
      stopping ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return stopping;
    },
  };
}
