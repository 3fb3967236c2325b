import type avro from 'avsc';
import { ConfigError, SchemaEvolutionError } from '../errors.js';
import type { ConnectSchema } from '../events/schema.js';
import { avscType } from './avro-long.js';
import { describeAvroChanges } from './avro-diff.js';
import { connectToAvro, type AvroTranslation } from './avro-schema.js';
import { dataError } from './connect-data.js';
import type { DataConverter } from './converter.js';
import { SchemaRegistryClient, SchemaRegistryHttpError } from './schema-registry-client.js';

/**
 * Confluent's AvroConverter (io.confluent.connect.avro.AvroConverter) with a Schema Registry:
 *
 *   schema   Connect schema → Avro schema (avro-schema.ts), registered under the subject of the subject name
 *            strategy: TopicNameStrategy (default) `<topic>-key` / `<topic>-value`, RecordNameStrategy
 *            `<record full name>`, TopicRecordNameStrategy `<topic>-<record full name>`.
 *   bytes    Confluent wire format: magic byte 0, the schema id as 4-byte big-endian, then Avro binary.
 *   null     a null value (tombstone, null key) is written as a null record part, as the Confluent serializer does.
 *
 * The Avro translation is cached per Connect schema object and the id per (subject, schema text), so after the
 * first record of a schema the cost is the Avro encoding alone. Registration of a schema is shared by concurrent
 * callers; a failed registration is forgotten so that a retry registers again.
 *
 * A schema the registry refuses as incompatible (HTTP 409) or invalid (422) raises a SchemaEvolutionError (not
 * retriable) naming the subject, the compatibility level and what changed; it is raised before any byte of the
 * record exists, so nothing is produced and the source offset does not move.
 */

export type SubjectNameStrategy = 'TopicNameStrategy' | 'RecordNameStrategy' | 'TopicRecordNameStrategy';

export interface AvroConverterOptions {
  readonly isKey: boolean;
  readonly registry: SchemaRegistryClient;
  /** auto.register.schemas (default true); false: the schema must already be registered under the subject */
  readonly autoRegisterSchemas?: boolean;
  readonly subjectNameStrategy?: SubjectNameStrategy;
  /** ignore.default.for.nullables (default false) */
  readonly ignoreDefaultForNullables?: boolean;
}

interface Compiled {
  readonly translation: AvroTranslation;
  readonly type: avro.Type;
  readonly ids: Map<string, Promise<number>>;
}

const MAGIC_BYTE = 0;

/** Parses a Kafka Connect subject.name.strategy class name (or its short name). */
export function parseSubjectNameStrategy(value: string | undefined): SubjectNameStrategy {
  if (value === undefined || value.length === 0) return 'TopicNameStrategy';
  const short = value.slice(value.lastIndexOf('.') + 1);
  if (short === 'TopicNameStrategy' || short === 'RecordNameStrategy' || short === 'TopicRecordNameStrategy') return short;
  throw new ConfigError(`unknown subject name strategy ${value}: use TopicNameStrategy, RecordNameStrategy or TopicRecordNameStrategy`);
}

export class AvroConverter implements DataConverter {
  readonly isKey: boolean;
  readonly registry: SchemaRegistryClient;
  readonly autoRegisterSchemas: boolean;
  readonly subjectNameStrategy: SubjectNameStrategy;
  private readonly ignoreDefaultForNullables: boolean;
  private readonly compiled = new WeakMap<ConnectSchema, Compiled>();
  /** ids by subject and schema text, shared by Connect schemas that translate to the same Avro schema */
  private readonly idsByText = new Map<string, Promise<number>>();

  constructor(options: AvroConverterOptions) {
    this.isKey = options.isKey;
    this.registry = options.registry;
    this.autoRegisterSchemas = options.autoRegisterSchemas ?? true;
    this.subjectNameStrategy = options.subjectNameStrategy ?? 'TopicNameStrategy';
    this.ignoreDefaultForNullables = options.ignoreDefaultForNullables ?? false;
  }

  async fromConnectData(topic: string, schema: ConnectSchema | null, value: unknown): Promise<Buffer | null> {
    if (value === null || value === undefined) {
      if (schema === null || schema.optional) return null;
      throw dataError(this.isKey ? 'key' : 'value', `null ${this.isKey ? 'key' : 'value'} for the required schema ${schema.name ?? schema.type}`);
    }
    if (schema === null) {
      throw dataError(this.isKey ? 'key' : 'value', 'the Avro converter needs a schema for every non-null key and value');
    }
    const compiled = this.compile(schema);
    const subject = this.subjectFor(topic, compiled.translation);
    let id = compiled.ids.get(subject);
    if (id === undefined) {
      id = this.schemaId(subject, compiled.translation);
      compiled.ids.set(subject, id);
      id.catch(() => compiled.ids.delete(subject));
    }
    const avroValue = compiled.translation.encode(value);
    // encode before awaiting the id: a value that does not fit fails fast, without a registry round trip
    let body: Buffer;
    try {
      body = compiled.type.toBuffer(avroValue);
    } catch (cause) {
      throw dataError(this.isKey ? 'key' : 'value', `cannot encode as Avro (${cause instanceof Error ? cause.message : String(cause)})`);
    }
    const schemaId = await id;
    const header = Buffer.allocUnsafe(5);
    header.writeUInt8(MAGIC_BYTE, 0);
    header.writeUInt32BE(schemaId, 1);
    return Buffer.concat([header, body]);
  }

  /** The Avro translation of a Connect schema (cached per schema object). */
  translate(schema: ConnectSchema): AvroTranslation {
    return this.compile(schema).translation;
  }

  subjectFor(topic: string, translation: AvroTranslation): string {
    const suffix = this.isKey ? 'key' : 'value';
    switch (this.subjectNameStrategy) {
      case 'TopicNameStrategy':
        return `${topic}-${suffix}`;
      case 'RecordNameStrategy':
        return translation.recordName ?? `${topic}-${suffix}`;
      case 'TopicRecordNameStrategy':
        return `${topic}-${translation.recordName ?? suffix}`;
    }
  }

  private compile(schema: ConnectSchema): Compiled {
    let compiled = this.compiled.get(schema);
    if (compiled === undefined) {
      const translation = connectToAvro(schema, { ignoreDefaultForNullables: this.ignoreDefaultForNullables });
      compiled = { translation, type: avscType(translation.schema), ids: new Map() };
      this.compiled.set(schema, compiled);
    }
    return compiled;
  }

  private schemaId(subject: string, translation: AvroTranslation): Promise<number> {
    const key = `${subject}\u0000${translation.text}`;
    let id = this.idsByText.get(key);
    if (id === undefined) {
      id = this.fetchId(subject, translation);
      this.idsByText.set(key, id);
      id.catch(() => this.idsByText.delete(key));
    }
    return id;
  }

  private async fetchId(subject: string, translation: AvroTranslation): Promise<number> {
    try {
      if (this.autoRegisterSchemas) return await this.registry.register(subject, translation.text);
      const found = await this.registry.lookup(subject, translation.text);
      if (found === null) {
        throw new SchemaEvolutionError(
          `the ${this.isKey ? 'key' : 'value'} schema for subject "${subject}" is not registered and ` +
            `auto.register.schemas=false: register it (POST /subjects/${subject}/versions) or enable auto.register.schemas`,
          { context: { subject } },
        );
      }
      return found.id;
    } catch (error) {
      if (error instanceof SchemaRegistryHttpError && (error.status === 409 || error.status === 422)) {
        throw await this.evolutionError(subject, translation, error);
      }
      throw error;
    }
  }

  private async evolutionError(subject: string, translation: AvroTranslation, error: SchemaRegistryHttpError): Promise<SchemaEvolutionError> {
    const part = this.isKey ? 'key' : 'value';
    if (error.status === 422) {
      return new SchemaEvolutionError(
        `the Schema Registry refused the ${part} schema for subject "${subject}" as invalid: ${error.registryMessage}. ` +
          `Nothing was produced; this is a bug in the schema Sluice generated, please report it with the schema: ${translation.text}`,
        { context: { subject, status: 422, schema: translation.text }, cause: error },
      );
    }
    const level = await this.registry.compatibilityLevel(subject).catch(() => 'unknown');
    const latest = await this.registry.latest(subject).catch(() => null);
    let changes: string[] = [];
    if (latest !== null) {
      try {
        changes = describeAvroChanges(latest.schema, translation.text);
      } catch {
        changes = [];
      }
    }
    const what =
      changes.length > 0
        ? changes.join('; ')
        : 'the registry did not say which change breaks it';
    return new SchemaEvolutionError(
      `the Schema Registry refused the new ${part} schema for subject "${subject}" as incompatible with ` +
        `${latest === null ? 'its registered schemas' : `version ${latest.version} (id ${latest.id})`} under compatibility level ${level}: ` +
        `${what}. Nothing was produced for this record. To go on, make the change compatible ` +
        `(e.g. give a new column a default or make it nullable), or change the subject's compatibility level ` +
        `(PUT /config/${subject}), then restart the connector. Registry said: ${error.registryMessage}`,
      {
        context: { subject, compatibility: level, changes, latestVersion: latest?.version ?? null, registryMessage: error.registryMessage },
        cause: error,
      },
    );
  }
}
