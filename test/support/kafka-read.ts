/**
 * Reads a whole topic as a consumer would, for assertions: every partition from the beginning to where it ended
 * when the call started (the last stable offset for read_committed), with the chosen isolation level. No consumer
 * group (partitions are assigned), so it is quick and leaves nothing behind. It stops at the watermarks queried at
 * the start rather than at end-of-partition events, which a live writer can postpone for ever, and follows the
 * client's 'data' events (end-of-partition events arrive interleaved with them inside one consume() call).
 */
import { createRequire } from 'node:module';
import type * as RdKafkaTypes from '@confluentinc/kafka-javascript/types/rdkafka.js';

const require = createRequire(import.meta.url);
const RdKafka = require('@confluentinc/kafka-javascript') as { KafkaConsumer: typeof RdKafkaTypes.KafkaConsumer };

export interface ReadRecord {
  readonly partition: number;
  readonly offset: number;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: Record<string, string>;
}

export async function readTopic(
  bootstrapServers: string,
  topic: string,
  options: { isolation?: 'read_committed' | 'read_uncommitted'; timeoutMs?: number } = {},
): Promise<ReadRecord[]> {
  const isolation = options.isolation ?? 'read_committed';
  const consumer = new RdKafka.KafkaConsumer(
    {
      'bootstrap.servers': bootstrapServers,
      'group.id': `test-reader-${process.pid}-${Math.random()}`,
      'enable.auto.commit': false,
      'allow.auto.create.topics': false,
      'enable.partition.eof': true,
      'isolation.level': isolation,
      'auto.offset.reset': 'earliest',
    } as RdKafkaTypes.ConsumerGlobalConfig,
    {},
  );
  await new Promise<void>((resolve, reject) => consumer.connect({ timeout: 10_000 }, (err) => (err ? reject(err) : resolve())));
  try {
    const metadata = await new Promise<RdKafkaTypes.Metadata>((resolve, reject) =>
      consumer.getMetadata({ topic, timeout: 10_000 }, (err, data) => (err ? reject(err) : resolve(data))),
    );
    const partitions = metadata.topics.find((t) => t.name === topic)?.partitions.map((p) => p.id) ?? [];
    // where each partition ends now (this consumer's isolation level: the LSO for read_committed)
    const ends = new Map<number, number>();
    for (const p of partitions) {
      const marks = await new Promise<RdKafkaTypes.WatermarkOffsets>((resolve, reject) =>
        consumer.queryWatermarkOffsets(topic, p, 10_000, (err, o) => (err ? reject(new Error(`watermarks of ${topic}/${p}: ${err.message}`)) : resolve(o))),
      );
      ends.set(p, marks.highOffset);
    }
    const out: ReadRecord[] = [];
    const done = new Set<number>([...ends].filter(([, end]) => end === 0).map(([p]) => p));
    const eof = new Set<number>();
    consumer.on('partition.eof', (e: RdKafkaTypes.EofEvent) => eof.add(e.partition));
    consumer.on('data', (m: RdKafkaTypes.Message) => {
      eof.delete(m.partition);
      if (m.offset + 1 >= (ends.get(m.partition) ?? 0)) done.add(m.partition);
      const headers: Record<string, string> = {};
      for (const h of m.headers ?? []) for (const [k, v] of Object.entries(h)) headers[k] = Buffer.from(v as Buffer).toString();
      out.push({
        partition: m.partition,
        offset: m.offset,
        key: m.key === undefined || m.key === null ? null : Buffer.from(m.key as Buffer),
        value: m.value ?? null,
        headers,
      });
    });
    consumer.assign(partitions.map((partition) => ({ topic, partition, offset: 0 })));
    const deadline = Date.now() + (options.timeoutMs ?? 60_000);
    const finished = () => partitions.every((p) => done.has(p) || eof.has(p));
    while (!finished()) {
      if (Date.now() > deadline) {
        throw new Error(
          `reading ${topic} (${isolation}) did not reach the end in time: at ${JSON.stringify(consumer.position())}, ends ${JSON.stringify([...ends])}`,
        );
      }
      await new Promise<void>((resolve, reject) =>
        consumer.consume(5000, (err) =>
          err && err.code !== -191 ? reject(new Error(`reading ${topic}: ${err.message} (${err.code})`)) : resolve(),
        ),
      );
      // the last offsets before the end may be control records (transaction markers), which yield no message
      for (const pos of consumer.position()) {
        if (pos.offset !== undefined && pos.offset >= (ends.get(pos.partition) ?? 0)) done.add(pos.partition);
      }
    }
    return out.sort((a, b) => a.partition - b.partition || a.offset - b.offset);
  } finally {
    await new Promise<void>((resolve) => consumer.disconnect(() => resolve()));
  }
}
