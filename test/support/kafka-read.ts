/**
 * Reads a whole topic as a consumer would, for assertions: every partition from the beginning to its end,
 * with the chosen isolation level. No consumer group (partitions are assigned), so it is quick and leaves nothing
 * behind.
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
  const consumer = new RdKafka.KafkaConsumer(
    {
      'bootstrap.servers': bootstrapServers,
      'group.id': `test-reader-${process.pid}-${Math.random()}`,
      'enable.auto.commit': false,
      'enable.partition.eof': true,
      'isolation.level': options.isolation ?? 'read_committed',
      'auto.offset.reset': 'earliest',
    } as RdKafkaTypes.ConsumerGlobalConfig,
    {},
  );
  consumer.setDefaultConsumeTimeout(100);
  await new Promise<void>((resolve, reject) => consumer.connect({ timeout: 10_000 }, (err) => (err ? reject(err) : resolve())));
  try {
    const metadata = await new Promise<RdKafkaTypes.Metadata>((resolve, reject) =>
      consumer.getMetadata({ topic, timeout: 10_000 }, (err, data) => (err ? reject(err) : resolve(data))),
    );
    const partitions = metadata.topics.find((t) => t.name === topic)?.partitions.map((p) => p.id) ?? [];
    if (partitions.length === 0) return [];
    consumer.assign(partitions.map((partition) => ({ topic, partition, offset: 0 })));
    const eof = new Set<number>();
    consumer.on('partition.eof', (e: RdKafkaTypes.EofEvent) => eof.add(e.partition));
    const out: ReadRecord[] = [];
    const deadline = Date.now() + (options.timeoutMs ?? 30_000);
    while (eof.size < partitions.length) {
      if (Date.now() > deadline) throw new Error(`reading ${topic} did not reach the end in time`);
      const batch = await new Promise<RdKafkaTypes.Message[]>((resolve, reject) =>
        consumer.consume(1000, (err, msgs) => (err && err.code !== -191 ? reject(err) : resolve(msgs ?? []))),
      );
      for (const m of batch) {
        eof.delete(m.partition);
        const headers: Record<string, string> = {};
        for (const h of m.headers ?? []) for (const [k, v] of Object.entries(h)) headers[k] = Buffer.from(v as Buffer).toString();
        out.push({
          partition: m.partition,
          offset: m.offset,
          key: m.key === undefined || m.key === null ? null : Buffer.from(m.key as Buffer),
          value: m.value ?? null,
          headers,
        });
      }
    }
    return out.sort((a, b) => a.partition - b.partition || a.offset - b.offset);
  } finally {
    await new Promise<void>((resolve) => consumer.disconnect(() => resolve()));
  }
}
