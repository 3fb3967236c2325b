import type { SourceOffset } from '../../events/change-event.js';
import type { Logger } from '../../observability/logger.js';
import type { SerializedRecord, Sink } from '../sink.js';
import {
  ERR,
  RdKafka,
  createAdmin,
  ensureTopic,
  promisify0,
  toSluiceError,
  type ClientProperties,
  type LibrdKafkaError,
  type RdKafkaTypes,
} from './kafka-client.js';
import { offsetRecordKey, offsetRecordValue, readLastOffset } from './offsets-topic.js';

export interface KafkaSinkOptions {
  readonly bootstrapServers: string;
  readonly connectorName: string;
  readonly topicPrefix: string;
  /** default `sluice-<connector name>`; one per connector so a second instance fences the first */
  readonly transactionalId?: string;
  /** default `sluice-offsets` */
  readonly offsetsTopic?: string;
  readonly offsetsTopicPartitions?: number;
  readonly offsetsTopicReplicationFactor?: number;
  /** partitions / replication factor for change-event topics Sluice creates */
  readonly topicPartitions?: number;
  readonly topicReplicationFactor?: number;
  readonly compression?: 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd';
  readonly transactionTimeoutMs?: number;
  /** librdkafka properties passed through (security.protocol, sasl.*, ssl.*...) */
  readonly clientProperties?: ClientProperties;
  readonly logger: Logger;
}

/**
 * Exactly-once Kafka sink. One transactional producer per connector; each `commit` is one Kafka transaction
 * holding the change events and the connector's offset record, so the offset is durable iff its events are.
 * `open` runs initTransactions (fencing any older instance, aborting its open transaction) and only then reads
 * the offsets topic, so what it returns is the last offset any instance committed.
 */
export class KafkaSink implements Sink {
  private producer: RdKafkaTypes.Producer | null = null;
  private admin: RdKafkaTypes.IAdminClient | null = null;
  private readonly knownTopics = new Set<string>();
  private readonly offsetsTopic: string;
  private readonly offsetKey: Buffer;
  private readonly context: Record<string, unknown>;
  /** The offset of the last transaction this instance committed (or read back in `open`). */
  private lastCommitted: SourceOffset | null = null;

  constructor(private readonly options: KafkaSinkOptions) {
    this.offsetsTopic = options.offsetsTopic ?? 'sluice-offsets';
    this.offsetKey = offsetRecordKey(options.connectorName, options.topicPrefix);
    this.context = { connector: options.connectorName, sink: 'kafka', bootstrapServers: options.bootstrapServers };
  }

  get transactionalId(): string {
    return this.options.transactionalId ?? `sluice-${this.options.connectorName}`;
  }

  async open(): Promise<SourceOffset | null> {
    const o = this.options;
    try {
      this.admin = createAdmin(o.bootstrapServers, o.clientProperties);
      await ensureTopic(this.admin, {
        name: this.offsetsTopic,
        partitions: o.offsetsTopicPartitions ?? 1,
        replicationFactor: o.offsetsTopicReplicationFactor ?? 1,
        config: { 'cleanup.policy': 'compact' },
      });
      this.knownTopics.add(this.offsetsTopic);

      const producer = new RdKafka.Producer({
        'bootstrap.servers': o.bootstrapServers,
        'client.id': `sluice-${o.connectorName}`,
        'transactional.id': this.transactionalId,
        'transaction.timeout.ms': o.transactionTimeoutMs ?? 60_000,
        'enable.idempotence': true,
        acks: 'all',
        // Java-compatible key hashing, so Sluice and Kafka Connect place a key on the same partition.
        partitioner: 'murmur2_random',
        'compression.type': o.compression ?? 'none',
        'linger.ms': 5,
        'queue.buffering.max.messages': 1_000_000,
        'queue.buffering.max.kbytes': 1_048_576,
        ...(o.clientProperties ?? {}),
      } as RdKafkaTypes.ProducerGlobalConfig);
      producer.on('event.error', (err: LibrdKafkaError) =>
        o.logger.warn({ ...this.context, err: err.message, code: err.code }, 'kafka producer error'),
      );
      await new Promise<void>((resolve, reject) =>
        producer.connect({ timeout: 10_000 }, (err) => (err ? reject(err) : resolve())),
      );
      producer.setPollInterval(50);
      this.producer = producer;
      await promisify0((cb) => producer.initTransactions(30_000, cb));
      this.lastCommitted = await readLastOffset({
        bootstrapServers: o.bootstrapServers,
        topic: this.offsetsTopic,
        key: this.offsetKey,
        clientProperties: o.clientProperties ?? {},
      });
      return this.lastCommitted;
    } catch (err) {
      await this.close();
      throw toSluiceError('Opening the Kafka sink', err, this.context);
    }
  }

  private async ensureTopics(records: readonly SerializedRecord[]): Promise<void> {
    for (const r of records) {
      if (this.knownTopics.has(r.topic)) continue;
      await ensureTopic(this.admin!, {
        name: r.topic,
        partitions: this.options.topicPartitions ?? 1,
        replicationFactor: this.options.topicReplicationFactor ?? 1,
      });
      this.knownTopics.add(r.topic);
    }
  }

  async commit(records: readonly SerializedRecord[], offset: SourceOffset): Promise<void> {
    await this.transact(records, offset);
  }

  async reopen(): Promise<SourceOffset | null> {
    if (!this.producer) return this.open();
    // A transaction with only the offset record: fails with FencedError if another instance took over.
    await this.transact([], this.lastCommitted);
    return this.lastCommitted;
  }

  /**
   * Stores an offset (or, with null, removes it) without events: what `sluice offsets --set/--reset` does.
   * Needs `open()` first, which fences a running instance of the connector.
   */
  async writeOffset(offset: SourceOffset | null): Promise<void> {
    await this.transact([], offset);
  }

  private async transact(records: readonly SerializedRecord[], offset: SourceOffset | null): Promise<void> {
    const producer = this.producer;
    if (!producer) throw new Error('KafkaSink.commit called before open');
    let inTransaction = false;
    try {
      await this.ensureTopics(records);
      await promisify0((cb) => producer.beginTransaction(cb));
      inTransaction = true;
      for (const r of records) {
        // Synchronous while librdkafka's local queue has room; waits only when it is full.
        if (!this.tryProduce(producer, r.topic, r.value, r.key, r.timestampMs, r.headers, r.partition)) {
          await this.produce(producer, r.topic, r.value, r.key, r.timestampMs, r.headers, r.partition);
        }
      }
      await this.produce(producer, this.offsetsTopic, offsetRecordValue(offset), this.offsetKey);
      // commitTransaction flushes every produced message and fails if any of them failed.
      await promisify0((cb) => producer.commitTransaction(60_000, cb));
      inTransaction = false;
      this.lastCommitted = offset;
    } catch (err) {
      const error = toSluiceError('Committing a Kafka transaction', err, { ...this.context, offset });
      if (inTransaction && !(err as LibrdKafkaError).isFatal) {
        await promisify0((cb) => producer.abortTransaction(30_000, cb)).catch(() => undefined);
      }
      throw error;
    }
  }

  /** Hands one record to librdkafka; false when its local queue is full (nothing was queued). */
  private tryProduce(
    producer: RdKafkaTypes.Producer,
    topic: string,
    value: Buffer | null,
    key: Buffer | null,
    timestampMs?: number,
    headers?: Readonly<Record<string, string>>,
    partition?: number,
  ): boolean {
    const kafkaHeaders = headers ? Object.entries(headers).map(([k, v]) => ({ [k]: Buffer.from(v) })) : undefined;
    try {
      producer.produce(topic, partition ?? null, value, key, timestampMs ?? Date.now(), null, kafkaHeaders);
      return true;
    } catch (err) {
      if ((err as LibrdKafkaError).code !== ERR.QUEUE_FULL) throw err;
      return false;
    }
  }

  private async produce(
    producer: RdKafkaTypes.Producer,
    topic: string,
    value: Buffer | null,
    key: Buffer | null,
    timestampMs?: number,
    headers?: Readonly<Record<string, string>>,
    partition?: number,
  ): Promise<void> {
    // The local queue is full: let librdkafka send, then try again. Nothing is lost or reordered.
    while (!this.tryProduce(producer, topic, value, key, timestampMs, headers, partition)) {
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  async close(): Promise<void> {
    const producer = this.producer;
    this.producer = null;
    if (producer) await promisify0((cb) => producer.disconnect(10_000, cb)).catch(() => undefined);
    const admin = this.admin;
    this.admin = null;
    admin?.disconnect();
  }
}
