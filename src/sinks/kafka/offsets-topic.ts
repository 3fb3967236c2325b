import type { SourceOffset } from '../../events/change-event.js';
import { OffsetError } from '../../errors.js';
import { ERR, RdKafka, promisify0, type ClientProperties, type LibrdKafkaError, type RdKafkaTypes } from './kafka-client.js';

/**
 * The offsets topic: compacted, one record per connector, written inside the same transaction as the connector's
 * events. Key and value follow Kafka Connect's offsets-topic format (`["<connector>",{"server":"<topic.prefix>"}]`
 * → offset JSON) so Connect tooling can read it; a null value is a reset.
 */
export function offsetRecordKey(connectorName: string, topicPrefix: string): Buffer {
  return Buffer.from(JSON.stringify([connectorName, { server: topicPrefix }]));
}

export function offsetRecordValue(offset: SourceOffset | null): Buffer | null {
  return offset === null ? null : Buffer.from(JSON.stringify(offset));
}

export interface ReadOffsetsOptions {
  readonly bootstrapServers: string;
  readonly topic: string;
  readonly key: Buffer;
  readonly clientProperties?: ClientProperties;
  /** how long to wait for open transactions of other writers to finish */
  readonly timeoutMs?: number;
}

/**
 * Reads the offsets topic to its end with read_committed and returns the last offset stored under `key`.
 * "The end" is the high watermark seen at the start (after this connector fenced its older instances), so a
 * transaction another connector still holds open makes us wait for it rather than stop at the last stable offset
 * and miss a later committed record of ours.
 */
export async function readLastOffset(options: ReadOffsetsOptions): Promise<SourceOffset | null> {
  const consumer = new RdKafka.KafkaConsumer(
    {
      'bootstrap.servers': options.bootstrapServers,
      'group.id': `sluice-offsets-reader-${process.pid}-${Date.now()}`,
      'enable.auto.commit': false,
      'enable.partition.eof': true,
      'isolation.level': 'read_committed',
      'auto.offset.reset': 'earliest',
      'client.id': 'sluice-offsets-reader',
      ...(options.clientProperties ?? {}),
    } as RdKafkaTypes.ConsumerGlobalConfig,
    {},
  );
  consumer.setDefaultConsumeTimeout(100);
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  await new Promise<void>((resolve, reject) => consumer.connect({ timeout: 10_000 }, (err) => (err ? reject(err) : resolve())));
  try {
    const metadata = await new Promise<RdKafkaTypes.Metadata>((resolve, reject) =>
      consumer.getMetadata({ topic: options.topic, timeout: 10_000 }, (err, data) => (err ? reject(err) : resolve(data))),
    );
    const topic = metadata.topics.find((t) => t.name === options.topic);
    if (!topic || topic.partitions.length === 0) return null;
    const targets = new Map<number, number>();
    for (const p of topic.partitions) {
      const marks = await new Promise<RdKafkaTypes.WatermarkOffsets>((resolve, reject) =>
        consumer.queryWatermarkOffsets(options.topic, p.id, 10_000, (err, o) => (err ? reject(err) : resolve(o))),
      );
      if (marks.highOffset > marks.lowOffset) targets.set(p.id, marks.highOffset);
    }
    if (targets.size === 0) return null;
    consumer.assign([...targets.keys()].map((partition) => ({ topic: options.topic, partition, offset: 0 })));

    const wanted = options.key.toString('utf8');
    let last: SourceOffset | null = null;
    const done = new Set<number>();
    const checkDone = () => {
      for (const position of consumer.position()) {
        const target = targets.get(position.partition);
        if (target !== undefined && position.offset !== undefined && position.offset >= target) done.add(position.partition);
      }
    };
    while (done.size < targets.size) {
      if (Date.now() > deadline) {
        throw new OffsetError(
          `Reading offsets topic ${options.topic} to its end timed out: a transaction on it stayed open. ` +
            `Check for a stuck producer (transaction.timeout.ms aborts it eventually) and start again.`,
        );
      }
      const messages = await new Promise<RdKafkaTypes.Message[]>((resolve, reject) =>
        consumer.consume(500, (err: LibrdKafkaError, msgs: RdKafkaTypes.Message[]) =>
          err && err.code !== ERR.PARTITION_EOF ? reject(err) : resolve(msgs ?? []),
        ),
      );
      for (const m of messages) {
        if (m.key && Buffer.from(m.key as Buffer).toString('utf8') === wanted) {
          last = m.value === null || m.value === undefined ? null : (JSON.parse(m.value.toString('utf8')) as SourceOffset);
        }
        const target = targets.get(m.partition);
        if (target !== undefined && m.offset + 1 >= target) done.add(m.partition);
      }
      if (messages.length === 0) checkDone();
    }
    return last;
  } finally {
    await promisify0((cb) => consumer.disconnect(cb)).catch(() => undefined);
  }
}
