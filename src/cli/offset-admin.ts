import type { SluiceConfig } from '../config/index.js';
import type { SourceOffset } from '../events/change-event.js';
import { FileOffsetStore } from '../offsets/file-offset-store.js';
import { WiringError } from './wiring.js';

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
  if (sink.type === 'kafka') {
    throw new WiringError(
      `sluice offsets does not support the Kafka offsets topic (${sink['offsets.topic']}) yet; ` +
        'offsets of the stdout and file sinks are supported',
    );
  }
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
