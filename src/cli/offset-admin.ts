import type { SluiceConfig } from '../config/index.js';
import type { SourceOffset } from '../events/change-event.js';
import { FileOffsetStore } from '../offsets/file-offset-store.js';
import { logger } from '../observability/logger.js';
import type { KafkaSinkSettings } from '../config/index.js';
import { WiringError, kafkaSinkOptions } from './wiring.js';

/** What `sluice offsets` does with a stored offset. Stop the connector before changing it. */
export interface OffsetAdmin {
  /** e.g. `file /var/lib/sluice/offsets.json` */
  readonly description: string;
  get(connector: string): Promise<SourceOffset | null>;
  set(connector: string, offset: SourceOffset): Promise<void>;
  /** Removes the stored offset; the next start follows `snapshot.mode` as for a new connector. */
  reset(connector: string): Promise<boolean>;
  close(): Promise<void>;
}

/**
 * The offset store behind a config's sink. The file store (stdout and file sinks) is supported here; the Kafka
 * offsets topic is the hook to extend (read with read_committed; write a record — or a tombstone for reset — in
 * a transaction with the connector's transactional.id so a running instance is fenced).
 */
export async function createOffsetAdmin(config: SluiceConfig): Promise<OffsetAdmin> {
  const sink = config.sink;
  if (sink.type === 'kafka') return kafkaOffsetAdmin(config, sink);
  if (config.offsets.file === null) {
    throw new WiringError('this config keeps offsets in memory only (stdout sink without offsets.file): there is nothing stored to show or change');
  }
  const store = new FileOffsetStore(config.offsets.file);
  return {
    description: `file ${store.path}`,
    get: (c) => store.get(c),
    set: (c, o) => store.set(c, o),
    reset: (c) => store.delete(c),
    close: async () => undefined,
  };
}

/**
 * The Kafka offsets topic. Reading is read_committed to the end. Writing goes through the connector's own
 * transactional producer, so a running instance of the connector is fenced (it stops) instead of racing the
 * change: stop the connector first.
 */
async function kafkaOffsetAdmin(config: SluiceConfig, sink: KafkaSinkSettings): Promise<OffsetAdmin> {
  const { KafkaSink } = await import('../sinks/kafka/kafka-sink.js');
  const specFor = (connector: string) => {
    const spec = config.connectors.find((c) => c.name === connector);
    if (!spec) throw new WiringError(`no connector named ${connector} in this config (${config.connectors.map((c) => c.name).join(', ')})`);
    return spec;
  };
  const withSink = async <T>(connector: string, fn: (s: InstanceType<typeof KafkaSink>, stored: SourceOffset | null) => Promise<T>) => {
    const s = new KafkaSink(kafkaSinkOptions(sink, specFor(connector), logger));
    try {
      return await fn(s, await s.open());
    } finally {
      await s.close();
    }
  };
  return {
    description: `Kafka topic ${sink['offsets.topic']} at ${sink['bootstrap.servers']}`,
    get: (c) => withSink(c, async (_s, stored) => stored),
    set: (c, o) => withSink(c, (s) => s.writeOffset(o)),
    reset: (c) =>
      withSink(c, async (s, stored) => {
        if (stored === null) return false;
        await s.writeOffset(null);
        return true;
      }),
    close: async () => undefined,
  };
}
