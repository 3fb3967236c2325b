/**
 * Commit-to-visible latency: a rate-limited generator writes small transactions on its own connection and notes
 * when each commit was acknowledged; a `read_committed` consumer assigned to the topic notes when each row arrives.
 * Rows are matched by primary key (the generator chooses the ids), read straight from the Avro key
 * (Confluent wire format: magic byte, schema id, then the record's single `long` field).
 */
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import type * as RdKafkaTypes from '@confluentinc/kafka-javascript/types/rdkafka.js';
import type { TxSender } from './databases.js';

const require = createRequire(import.meta.url);
const RdKafka = require('@confluentinc/kafka-javascript') as {
  KafkaConsumer: typeof RdKafkaTypes.KafkaConsumer;
  AdminClient: typeof RdKafkaTypes.AdminClient;
};

/** The id in an Avro-encoded single-long key (zig-zag varint after the 5-byte header). */
export function avroLongKey(key: Buffer): number {
  let shift = 0;
  let result = 0;
  for (let i = 5; i < key.length; i++) {
    const b = key[i]!;
    result += (b & 0x7f) * 2 ** shift;
    if ((b & 0x80) === 0) break;
    shift += 7;
  }
  // zig-zag
  return result % 2 === 0 ? result / 2 : -(result + 1) / 2;
}

export async function createTopic(bootstrapServers: string, topic: string): Promise<void> {
  const admin = RdKafka.AdminClient.create({ 'bootstrap.servers': bootstrapServers } as RdKafkaTypes.GlobalConfig);
  try {
    await new Promise<void>((resolve, reject) =>
      admin.createTopic({ topic, num_partitions: 1, replication_factor: 1 }, 10_000, (err) =>
        err && (err as { code?: number }).code !== 36 ? reject(err) : resolve(),
      ),
    );
  } finally {
    admin.disconnect();
  }
}

/** Records the arrival time (performance.now) of every key id on a topic, read_committed. */
export class ArrivalRecorder {
  private consumer: RdKafkaTypes.KafkaConsumer | null = null;
  private running = false;
  private loop: Promise<void> = Promise.resolve();
  readonly arrivals = new Map<number, number>();

  async start(bootstrapServers: string, topic: string): Promise<void> {
    const consumer = new RdKafka.KafkaConsumer(
      {
        'bootstrap.servers': bootstrapServers,
        'group.id': `sluice-bench-latency-${process.pid}-${Date.now()}`,
        'enable.auto.commit': false,
        'isolation.level': 'read_committed',
        'fetch.wait.max.ms': 5,
        'fetch.error.backoff.ms': 5,
        'fetch.min.bytes': 1,
      } as RdKafkaTypes.ConsumerGlobalConfig,
      { 'auto.offset.reset': 'earliest' },
    );
    consumer.setDefaultConsumeTimeout(5);
    await new Promise<void>((resolve, reject) => consumer.connect({ timeout: 10_000 }, (err) => (err ? reject(err) : resolve())));
    consumer.assign([{ topic, partition: 0, offset: 0 }]);
    this.consumer = consumer;
    this.running = true;
    this.loop = this.poll(consumer);
  }

  private async poll(consumer: RdKafkaTypes.KafkaConsumer): Promise<void> {
    while (this.running) {
      const batch = await new Promise<RdKafkaTypes.Message[]>((resolve) => consumer.consume(1000, (err, msgs) => resolve(err ? [] : (msgs ?? []))));
      const now = performance.now();
      for (const m of batch) {
        if (!m.key) continue;
        const id = avroLongKey(Buffer.isBuffer(m.key) ? m.key : Buffer.from(String(m.key)));
        if (!this.arrivals.has(id)) this.arrivals.set(id, now);
      }
      if (batch.length === 0) await new Promise((r) => setImmediate(r));
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
    const c = this.consumer;
    this.consumer = null;
    if (c) await new Promise<void>((resolve) => c.disconnect(() => resolve()));
  }
}

export interface GeneratorResult {
  /** commit acknowledgement time per id */
  readonly commits: Map<number, number>;
  readonly rows: number;
  readonly transactions: number;
  readonly achievedRate: number;
  /** ticks that started late because the previous one's transactions took longer than a tick */
  readonly lateTicks: number;
}

/**
 * Writes `rate` rows/s for `seconds`: every 10 ms a tick of transactions of `txRows` rows, paced against the clock
 * (no drift). Ids start at `firstId`.
 */
export async function generate(send: TxSender, options: { rate: number; seconds: number; txRows: number; firstId: number }): Promise<GeneratorResult> {
  const tickMs = 10;
  const perTick = options.rate / (1000 / tickMs);
  const commits = new Map<number, number>();
  const t0 = performance.now();
  const ticks = Math.round((options.seconds * 1000) / tickMs);
  let id = options.firstId;
  let carry = 0;
  let rows = 0;
  let transactions = 0;
  let lateTicks = 0;
  for (let tick = 0; tick < ticks; tick++) {
    const due = t0 + tick * tickMs;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    else if (wait < -tickMs) lateTicks += 1;
    carry += perTick;
    while (carry >= options.txRows) {
      carry -= options.txRows;
      const at = await send(id, options.txRows);
      for (let i = 0; i < options.txRows; i++) commits.set(id + i, at);
      id += options.txRows;
      rows += options.txRows;
      transactions += 1;
    }
  }
  const seconds = (performance.now() - t0) / 1000;
  return { commits, rows, transactions, achievedRate: rows / seconds, lateTicks };
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}
