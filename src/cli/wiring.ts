import type { ConnectorSpec, KafkaSinkSettings, SluiceConfig } from '../config/index.js';
import type { ConnectorContext, EngineFactories, RecordConverter } from '../engine/index.js';
import { ConfigError, SluiceError } from '../errors.js';
import type { Logger } from '../observability/logger.js';
import { FileOffsetStore, MemoryOffsetStore, type LocalOffsetStore } from '../offsets/file-offset-store.js';
import { createFileSink } from '../sinks/file-sink.js';
import type { KafkaSinkOptions } from '../sinks/kafka/kafka-sink.js';
import type { Sink } from '../sinks/sink.js';
import { createStdoutSink } from '../sinks/stdout-sink.js';
import type { Source } from '../sources/source.js';

/**
 * Plugs the real parts into the engine for the CLI. Everything heavy (database drivers, librdkafka) is imported
 * lazily, and only after the config is valid, so a bad config never loads a driver or opens a connection.
 */
export type SourceFactory = (spec: ConnectorSpec, ctx: ConnectorContext) => Source | Promise<Source>;
export type ConverterFactory = (spec: ConnectorSpec, ctx: ConnectorContext) => RecordConverter | Promise<RecordConverter>;

/** A wiring problem (a connector or module the config names does not exist); restarting does not help. */
export class WiringError extends SluiceError {}

export async function loadSourceFactory(): Promise<SourceFactory> {
  const { createSource } = await import('../sources/index.js');
  return createSource;
}

export async function loadConverterFactory(): Promise<ConverterFactory> {
  const { createConverter } = await import('../converters/factory.js');
  return (spec) => createConverter(spec.config);
}

/**
 * Sink-section keys Sluice reads itself; every other key goes to librdkafka as a client property.
 * Topic-creation keys use Kafka Connect's names.
 */
const KAFKA_SINK_OWN_KEYS = new Set([
  'type',
  'bootstrap.servers',
  'offsets.topic',
  'offsets.topic.partitions',
  'offsets.topic.replication.factor',
  'topic.creation.default.partitions',
  'topic.creation.default.replication.factor',
  'transactional.id.prefix',
  'transaction.timeout.ms',
  'compression.type',
]);

const COMPRESSION = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const;

function positiveInt(sink: Record<string, unknown>, key: string): number | undefined {
  const v = sink[key];
  if (v === undefined) return undefined;
  const n = typeof v === 'number' ? v : Number(v);
  if (!Number.isInteger(n) || n < 1) throw new ConfigError(`sink.${key} must be a whole number of at least 1 (got ${String(v)})`);
  return n;
}

/** Maps the Kafka sink section of a config to the sink's options for one connector. */
export function kafkaSinkOptions(sink: KafkaSinkSettings, spec: ConnectorSpec, logger: Logger): KafkaSinkOptions {
  const clientProperties: Record<string, string | number | boolean> = {};
  for (const [k, v] of Object.entries(sink)) {
    if (KAFKA_SINK_OWN_KEYS.has(k)) continue;
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') clientProperties[k] = v;
  }
  const compression = (sink['compression.type'] ?? 'none') as string;
  if (!(COMPRESSION as readonly string[]).includes(compression)) {
    throw new ConfigError(`sink.compression.type must be one of ${COMPRESSION.join(', ')} (got ${compression})`);
  }
  const prefix = typeof sink['transactional.id.prefix'] === 'string' ? sink['transactional.id.prefix'] : 'sluice-';
  const options: KafkaSinkOptions = {
    bootstrapServers: sink['bootstrap.servers'],
    connectorName: spec.name,
    topicPrefix: spec.config['topic.prefix'],
    offsetsTopic: sink['offsets.topic'],
    transactionalId: `${prefix}${spec.name}`,
    compression: compression as KafkaSinkOptions['compression'],
    clientProperties,
    logger,
  };
  const numeric = {
    offsetsTopicPartitions: positiveInt(sink, 'offsets.topic.partitions'),
    offsetsTopicReplicationFactor: positiveInt(sink, 'offsets.topic.replication.factor'),
    topicPartitions: positiveInt(sink, 'topic.creation.default.partitions'),
    topicReplicationFactor: positiveInt(sink, 'topic.creation.default.replication.factor'),
    transactionTimeoutMs: positiveInt(sink, 'transaction.timeout.ms'),
  };
  for (const [k, v] of Object.entries(numeric)) if (v !== undefined) (options as unknown as Record<string, unknown>)[k] = v;
  return options;
}

/** The offset store the stdout/file sinks of this config use (one instance per process, shared by connectors). */
export function createLocalOffsetStore(config: SluiceConfig): LocalOffsetStore {
  return config.offsets.file === null ? new MemoryOffsetStore() : new FileOffsetStore(config.offsets.file);
}

export function createSinkFactory(config: SluiceConfig, logger: Logger): (spec: ConnectorSpec, ctx: ConnectorContext) => Promise<Sink> {
  const sink = config.sink;
  let store: LocalOffsetStore | null = null;
  const localStore = () => {
    if (!store) {
      store = createLocalOffsetStore(config);
      if (config.offsets.file === null) {
        logger.warn('offsets.file is not set: offsets are kept in memory, so every start follows snapshot.mode as a new connector');
      }
    }
    return store;
  };
  return async (spec, ctx) => {
    switch (sink.type) {
      case 'stdout':
        return createStdoutSink({ connector: spec.name, offsets: localStore() });
      case 'file':
        return createFileSink({ connector: spec.name, path: sink.path, offsets: localStore() });
      case 'kafka': {
        const { KafkaSink } = await import('../sinks/kafka/kafka-sink.js');
        return new KafkaSink(kafkaSinkOptions(sink, spec, ctx.logger));
      }
    }
  };
}

/** Everything `run` needs. */
export async function createFactories(config: SluiceConfig, logger: Logger): Promise<EngineFactories<ConnectorSpec>> {
  const createSource = await loadSourceFactory();
  const createConverter = await loadConverterFactory();
  return { createSource, createConverter, createSink: createSinkFactory(config, logger) };
}
