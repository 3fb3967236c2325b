import type { ConnectorConfig, ConnectorKind } from './connector-config.js';

/** How one side (key or value) of a connector's records is serialized; from Kafka Connect's converter keys. */
export interface ConverterSide {
  readonly format: 'json' | 'avro';
  /** The Kafka Connect class named in the config (or the default JsonConverter). */
  readonly className: string;
  /** JsonConverter: embed the schema next to the payload. */
  readonly schemasEnable: boolean;
  /** AvroConverter: the Schema Registry (SCHEMA_REGISTRY_URL wins over the file). */
  readonly schemaRegistryUrl: string | null;
  /** Every `<side>.converter.*` property, prefix removed (e.g. `basic.auth.user.info`). May hold secrets. */
  readonly properties: Readonly<Record<string, unknown>>;
}

export interface ConverterSettings {
  readonly key: ConverterSide;
  readonly value: ConverterSide;
}

/** One connector ready to run. */
export interface ConnectorSpec {
  readonly name: string;
  readonly kind: ConnectorKind;
  /** Parsed with defaults, keyed by Debezium's property names (unknown keys kept). */
  readonly config: ConnectorConfig;
  readonly converters: ConverterSettings;
  /** Where it was defined, e.g. `orders.yaml: connectors[0]`. */
  readonly origin: string;
}

export interface KafkaSinkSettings {
  readonly type: 'kafka';
  readonly 'bootstrap.servers': string;
  /** Compacted topic holding each connector's offset, written inside the sink's transaction. */
  readonly 'offsets.topic': string;
  /** Every other key of the sink section, flattened (Kafka client properties such as `security.protocol`). */
  readonly [property: string]: unknown;
}

export interface StdoutSinkSettings {
  readonly type: 'stdout';
}

export interface FileSinkSettings {
  readonly type: 'file';
  /** Absolute path (a relative one in the file is resolved against the config file's directory). */
  readonly path: string;
}

export type SinkSettings = KafkaSinkSettings | StdoutSinkSettings | FileSinkSettings;
export const SINK_TYPES = ['kafka', 'stdout', 'file'] as const;

export interface OffsetSettings {
  /**
   * The file offset store used by the stdout and file sinks (absolute path), or null: offsets kept in memory only
   * (stdout sink without `offsets.file`). The file sink defaults to `<sink.path>.offsets.json`.
   * Unused by the Kafka sink, which keeps offsets in `sink.offsets.topic`.
   */
  readonly file: string | null;
}

export interface SluiceConfig {
  readonly connectors: readonly ConnectorSpec[];
  readonly sink: SinkSettings;
  readonly offsets: OffsetSettings;
  /** Non-fatal findings (unsupported properties...), already logged once by the loader. */
  readonly warnings: readonly string[];
}

export const DEFAULT_OFFSETS_TOPIC = 'sluice-offsets';
