/**
 * Self-test of the Kafka test broker (test/support/kafka-broker.ts): the
 * patched librdkafka mock cluster must behave like a real broker where Sluice
 * relies on it — transactions for read_committed readers, fencing, offsets in
 * transactions, CreateTopics, ListOffsets — and its fault injection must work.
 *
 * Everything here goes through the project's own Kafka client
 * (@confluentinc/kafka-javascript, KafkaJS-compatible API). With
 * KAFKA_BOOTSTRAP_SERVERS set, the same tests run against that cluster and
 * the fault-injection ones are skipped.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import net from 'node:net';
import { once } from 'node:events';
import { statSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import pkg from '@confluentinc/kafka-javascript';
import type { KafkaJS } from '@confluentinc/kafka-javascript';
import { ensureMockBrokerBuilt, startKafka, type KafkaInstance } from './support/kafka-broker.js';

const { Kafka, logLevel, IsolationLevel } = pkg.KafkaJS;

// Client logs are noise here (a broker going down is the point of one test);
// SLUICE_TEST_KAFKA_DEBUG=<librdkafka debug contexts> shows them, e.g.
// "protocol,eos" to see what the broker answers.
const clientDebug = process.env['SLUICE_TEST_KAFKA_DEBUG'];
const clientLogLevel = clientDebug ? logLevel.DEBUG : logLevel.NOTHING;

let kafka: KafkaInstance;
let client: KafkaJS.Kafka;
let admin: KafkaJS.Admin;
const connected = new Set<{ disconnect(): Promise<void> }>();

before(async () => {
  kafka = await startKafka({ brokers: 3 });
  client = new Kafka({
    kafkaJS: { brokers: kafka.bootstrapServers.split(','), logLevel: clientLogLevel },
    ...(clientDebug ? { debug: clientDebug } : {}),
  });
  admin = client.admin();
  await admin.connect();
  connected.add(admin);
});

after(async () => {
  await Promise.allSettled([...connected].map((c) => c.disconnect()));
  await kafka?.stop();
});

/** Unique names: the external cluster may be shared and keeps old topics. */
function uniqueName(prefix: string): string {
  return `sluice-selftest-${prefix}-${randomUUID().slice(0, 8)}`;
}

async function createTopic(partitions = 1): Promise<string> {
  const topic = uniqueName('t');
  const created = await admin.createTopics({ topics: [{ topic, numPartitions: partitions }] });
  assert.equal(created, true, `topic ${topic} should be new`);
  return topic;
}

async function disconnect(c: { disconnect(): Promise<void> }): Promise<void> {
  connected.delete(c);
  await c.disconnect();
}

async function transactionalProducer(transactionalId = uniqueName('txn')): Promise<KafkaJS.Producer> {
  const producer = client.producer({
    kafkaJS: { transactionalId, idempotent: true, maxInFlightRequests: 1 },
  });
  await producer.connect(); // initTransactions
  connected.add(producer);
  return producer;
}

async function plainProducer(config: KafkaJS.ProducerConstructorConfig = {}): Promise<KafkaJS.Producer> {
  const producer = client.producer({ ...config, kafkaJS: { acks: -1, ...config.kafkaJS } });
  await producer.connect();
  connected.add(producer);
  return producer;
}

/** A consumer group member that records the values it receives. */
class Reader {
  readonly values: string[] = [];
  private constructor(readonly consumer: KafkaJS.Consumer) {}

  static async start(topic: string, isolation: 'read_committed' | 'read_uncommitted'): Promise<Reader> {
    const consumer = client.consumer({
      kafkaJS: {
        groupId: uniqueName('group'),
        fromBeginning: true,
        readUncommitted: isolation === 'read_uncommitted',
        // Short fetch waits: "nothing arrives for a while" is asserted below.
        maxWaitTimeInMs: 100,
      },
    });
    await consumer.connect();
    connected.add(consumer);
    const reader = new Reader(consumer);
    await consumer.subscribe({ topics: [topic] });
    await consumer.run({
      eachMessage: async ({ message }) => {
        reader.values.push(message.value?.toString() ?? '<null>');
      },
    });
    return reader;
  }

  async waitFor(what: string, predicate: (values: string[]) => boolean, timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate(this.values)) {
      if (Date.now() > deadline) {
        assert.fail(`timed out waiting for ${what}; got [${this.values.join(', ')}]`);
      }
      await sleep(50);
    }
  }

  stop(): Promise<void> {
    return disconnect(this.consumer);
  }
}

async function latestOffset(topic: string, isolation: KafkaJS.IsolationLevel): Promise<string> {
  const offsets = await admin.fetchTopicOffsets(topic, { isolationLevel: isolation });
  const p0 = offsets.find((o) => o.partition === 0);
  assert.ok(p0, `no offsets for ${topic} [0]`);
  return p0.offset;
}

async function leaderOf(topic: string, partition: number): Promise<number> {
  const [meta] = await admin.fetchTopicMetadata({ topics: [topic] });
  const p = meta?.partitions.find((x) => x.partitionId === partition);
  assert.ok(p, `no metadata for ${topic} [${partition}]`);
  return p.leader;
}

function isFencingError(err: unknown): boolean {
  const e = err as { code?: number; message?: string };
  const fencedCodes = new Set([
    pkg.KafkaJS.ErrorCodes.ERR__FENCED,
    pkg.KafkaJS.ErrorCodes.ERR_PRODUCER_FENCED,
    pkg.KafkaJS.ErrorCodes.ERR_INVALID_PRODUCER_EPOCH,
  ]);
  return (e.code !== undefined && fencedCodes.has(e.code)) || /fenced/i.test(e.message ?? '');
}

describe('Kafka test broker: transactions', () => {
  it('hides an aborted transaction from read_committed readers, not from read_uncommitted ones', async () => {
    const topic = await createTopic();
    const producer = await transactionalProducer();

    const aborted = await producer.transaction();
    await aborted.send({ topic, messages: [{ value: 'aborted-1' }, { value: 'aborted-2' }] });
    await aborted.abort();
    const committed = await producer.transaction();
    await committed.send({ topic, messages: [{ value: 'committed-1' }] });
    await committed.commit();

    const rc = await Reader.start(topic, 'read_committed');
    const ru = await Reader.start(topic, 'read_uncommitted');
    // Records arrive in log order, so once the last one is in, anything
    // that was going to leak already has.
    await rc.waitFor('committed-1', (v) => v.includes('committed-1'));
    await ru.waitFor('committed-1', (v) => v.includes('committed-1'));
    assert.deepEqual(rc.values, ['committed-1']);
    assert.deepEqual(ru.values, ['aborted-1', 'aborted-2', 'committed-1']);

    await Promise.all([rc.stop(), ru.stop(), disconnect(producer)]);
  });

  it('read_committed sees exactly the committed records of interleaved transactions', async () => {
    // Two transactional producers and a plain one interleave on two
    // partitions; transactions commit or abort in different patterns.
    const topic = await createTopic(2);
    const [a, b, plain] = await Promise.all([transactionalProducer(), transactionalProducer(), plainProducer()]);
    const expected: string[] = [];
    for (let i = 0; i < 8; i++) {
      const ta = await a.transaction();
      const tb = await b.transaction();
      for (let j = 0; j < 3; j++) {
        await ta.send({ topic, messages: [{ value: `a${i}.${j}`, partition: j % 2 }] });
        await tb.send({ topic, messages: [{ value: `b${i}.${j}`, partition: (j + 1) % 2 }] });
        await plain.send({ topic, messages: [{ value: `p${i}.${j}`, partition: j % 2 }] });
        expected.push(`p${i}.${j}`);
      }
      if (i % 2 === 1) {
        await ta.commit();
        for (let j = 0; j < 3; j++) expected.push(`a${i}.${j}`);
      } else {
        await ta.abort();
      }
      if (i % 3 === 0) {
        await tb.commit();
        for (let j = 0; j < 3; j++) expected.push(`b${i}.${j}`);
      } else {
        await tb.abort();
      }
    }

    const rc = await Reader.start(topic, 'read_committed');
    await rc.waitFor(`${expected.length} records`, (v) => v.length >= expected.length);
    await sleep(300); // anything extra would come right behind
    assert.deepEqual([...rc.values].sort(), [...expected].sort());

    await Promise.all([rc.stop(), disconnect(a), disconnect(b), disconnect(plain)]);
  });

  it('holds read_committed readers back at an open transaction until it commits', async () => {
    const topic = await createTopic();
    const producer = await transactionalProducer();
    const other = await plainProducer();

    const first = await producer.transaction();
    await first.send({ topic, messages: [{ value: 'before' }] });
    await first.commit();

    const open = await producer.transaction();
    await open.send({ topic, messages: [{ value: 'inside' }] });
    // Not transactional, but after the open transaction in the log: a
    // read_committed reader may not pass the open transaction to get it.
    await other.send({ topic, messages: [{ value: 'after' }] });

    const rc = await Reader.start(topic, 'read_committed');
    const ru = await Reader.start(topic, 'read_uncommitted');
    await rc.waitFor('before', (v) => v.includes('before'));
    await ru.waitFor('after', (v) => v.includes('after'));
    assert.deepEqual(ru.values, ['before', 'inside', 'after']);
    // The read_committed reader is fetching (it got "before") but must stay
    // at the open transaction.
    await sleep(1_500);
    assert.deepEqual(rc.values, ['before']);

    await open.commit();
    await rc.waitFor('the rest after commit', (v) => v.length >= 3);
    assert.deepEqual(rc.values, ['before', 'inside', 'after']);

    await Promise.all([rc.stop(), ru.stop(), disconnect(producer), disconnect(other)]);
  });

  it('ListOffsets "latest" is the last stable offset for read_committed', async () => {
    const topic = await createTopic();
    const producer = await transactionalProducer();

    const first = await producer.transaction();
    await first.send({ topic, messages: [{ value: 'a' }, { value: 'b' }] });
    await first.commit();
    // a=0, b=1, COMMIT marker=2
    assert.equal(await latestOffset(topic, IsolationLevel.READ_COMMITTED), '3');
    assert.equal(await latestOffset(topic, IsolationLevel.READ_UNCOMMITTED), '3');

    const open = await producer.transaction();
    await open.send({ topic, messages: [{ value: 'c' }] }); // c=3, open
    assert.equal(await latestOffset(topic, IsolationLevel.READ_COMMITTED), '3');
    assert.equal(await latestOffset(topic, IsolationLevel.READ_UNCOMMITTED), '4');

    await open.commit(); // COMMIT marker=4
    assert.equal(await latestOffset(topic, IsolationLevel.READ_COMMITTED), '5');
    assert.equal(await latestOffset(topic, IsolationLevel.READ_UNCOMMITTED), '5');

    await disconnect(producer);
  });

  it('a second producer with the same transactional.id fences the first and aborts its open transaction', async () => {
    const topic = await createTopic();
    const transactionalId = uniqueName('zombie');
    const zombie = await transactionalProducer(transactionalId);

    const zombieTxn = await zombie.transaction();
    await zombieTxn.send({ topic, messages: [{ value: 'zombie-1' }] });

    // initTransactions of the new instance bumps the epoch.
    const successor = await transactionalProducer(transactionalId);

    await assert.rejects(
      async () => {
        await zombieTxn.send({ topic, messages: [{ value: 'zombie-2' }] });
        await zombieTxn.commit();
      },
      (err) => {
        assert.ok(isFencingError(err), `expected a fencing error, got ${String(err)}`);
        return true;
      },
    );

    const txn = await successor.transaction();
    await txn.send({ topic, messages: [{ value: 'successor-1' }] });
    await txn.commit();

    const rc = await Reader.start(topic, 'read_committed');
    await rc.waitFor('successor-1', (v) => v.includes('successor-1'));
    assert.deepEqual(rc.values, ['successor-1'], "the zombie's open transaction must have been aborted");

    await Promise.all([rc.stop(), disconnect(successor), disconnect(zombie).catch(() => undefined)]);
  });

  it('stores sendOffsets of a committed transaction, not of an aborted one', async () => {
    const topic = await createTopic();
    const groupId = uniqueName('offsets');
    const producer = await transactionalProducer();
    // sendOffsets takes the group from a consumer; it need not have joined.
    const consumer = client.consumer({ kafkaJS: { groupId } });
    await consumer.connect();
    connected.add(consumer);

    // (By partition: the mock can't list all of a group's offsets.)
    const committedOffset = async (): Promise<string | undefined> => {
      const [res] = await admin.fetchOffsets({ groupId, topics: [{ topic, partitions: [0] }] });
      const offset = res?.partitions.find((p) => p.partition === 0)?.offset;
      return offset === '-1' || offset === '-1001' ? 'none' : offset;
    };
    assert.equal(await committedOffset(), 'none');

    const t1 = await producer.transaction();
    await t1.send({ topic, messages: [{ value: 'x' }] });
    await t1.sendOffsets({ consumer, topics: [{ topic, partitions: [{ partition: 0, offset: '5' }] }] });
    // Pending until the transaction commits.
    assert.equal(await committedOffset(), 'none');
    await t1.commit();
    assert.equal(await committedOffset(), '5');

    const t2 = await producer.transaction();
    await t2.send({ topic, messages: [{ value: 'y' }] });
    await t2.sendOffsets({ consumer, topics: [{ topic, partitions: [{ partition: 0, offset: '9' }] }] });
    await t2.abort();
    assert.equal(await committedOffset(), '5');

    // A transaction with offsets only (nothing produced) commits them too.
    const t3 = await producer.transaction();
    await t3.sendOffsets({ consumer, topics: [{ topic, partitions: [{ partition: 0, offset: '7' }] }] });
    await t3.commit();
    assert.equal(await committedOffset(), '7');

    await Promise.all([disconnect(consumer), disconnect(producer)]);
  });
});

describe('Kafka test broker: admin', () => {
  it('CreateTopics creates a topic with the requested partitions and replication', async () => {
    const topic = uniqueName('created');
    const created = await admin.createTopics({
      topics: [
        {
          topic,
          numPartitions: 5,
          replicationFactor: kafka.external ? undefined : 2,
          configEntries: [{ name: 'cleanup.policy', value: 'compact' }],
        },
      ],
    });
    assert.equal(created, true);

    const [meta] = await admin.fetchTopicMetadata({ topics: [topic] });
    assert.ok(meta);
    assert.deepEqual(
      meta.partitions.map((p) => p.partitionId).sort((a, b) => a - b),
      [0, 1, 2, 3, 4],
    );
    if (!kafka.external) {
      for (const p of meta.partitions) assert.equal(p.replicas.length, 2, `replicas of partition ${p.partitionId}`);
    }

    // TOPIC_ALREADY_EXISTS: createTopics() reports it as false.
    assert.equal(await admin.createTopics({ topics: [{ topic, numPartitions: 3 }] }), false);
    const [again] = await admin.fetchTopicMetadata({ topics: [topic] });
    assert.equal(again?.partitions.length, 5);
  });

  it('advertises a live broker as controller', async (t) => {
    if (kafka.external) return t.skip('needs the local test broker');
    // CreateTopics goes to the controller named in Metadata. The stock mock
    // names broker 0, which doesn't exist (CreateTopics would time out);
    // ours names broker 1, or the first live broker while 1 is down. A
    // client learns the controller from its metadata, so use a new one.
    await kafka.brokerDown(1);
    try {
      const fresh = client.admin();
      await fresh.connect();
      connected.add(fresh);
      const topic = uniqueName('ctl');
      const created = await fresh.createTopics({ topics: [{ topic, numPartitions: 1 }] }).catch((err: unknown) => {
        const errors = (err as { errors?: unknown[] }).errors ?? [];
        assert.fail(`${String(err)}: ${errors.map(String).join('; ')}`);
      });
      assert.equal(created, true);
      await disconnect(fresh);
    } finally {
      await kafka.brokerUp(1);
    }
  });
});

/**
 * ApiVersions v0 over a raw socket: { ApiKey: [MinVersion, MaxVersion] }.
 * (The client doesn't expose what the broker advertises.)
 */
async function apiVersions(bootstrap: string): Promise<Map<number, [number, number]>> {
  const [host, port] = bootstrap.split(',')[0]!.split(':') as [string, string];
  const clientId = Buffer.from('sluice-selftest');
  const body = Buffer.alloc(2 + 2 + 4 + 2 + clientId.length);
  body.writeInt16BE(18, 0); // ApiKey: ApiVersions
  body.writeInt16BE(0, 2); // ApiVersion
  body.writeInt32BE(42, 4); // CorrelationId
  body.writeInt16BE(clientId.length, 8);
  clientId.copy(body, 10);
  const size = Buffer.alloc(4);
  size.writeInt32BE(body.length, 0);

  const socket = net.connect(Number(port), host);
  try {
    await once(socket, 'connect');
    socket.write(Buffer.concat([size, body]));
    let buf = Buffer.alloc(0);
    for await (const chunk of socket) {
      buf = Buffer.concat([buf, chunk as Buffer]);
      if (buf.length >= 4 && buf.length >= 4 + buf.readInt32BE(0)) break;
    }
    // Size, CorrelationId, ErrorCode, [ApiKey, MinVersion, MaxVersion]
    assert.equal(buf.readInt32BE(4), 42);
    assert.equal(buf.readInt16BE(8), 0);
    const versions = new Map<number, [number, number]>();
    const count = buf.readInt32BE(10);
    for (let i = 0, at = 14; i < count; i++, at += 6) {
      versions.set(buf.readInt16BE(at), [buf.readInt16BE(at + 2), buf.readInt16BE(at + 4)]);
    }
    return versions;
  } finally {
    socket.destroy();
  }
}

describe('Kafka test broker: protocol', () => {
  it('advertises only API versions it parses, and CreateTopics', async (t) => {
    if (kafka.external) return t.skip('checks the local test broker');
    const versions = await apiVersions(kafka.bootstrapServers);
    // LeaveGroup v3+ has a Members array the mock doesn't read.
    assert.deepEqual(versions.get(13), [0, 2], 'LeaveGroup');
    assert.deepEqual(versions.get(19), [0, 4], 'CreateTopics');
    assert.deepEqual(versions.get(3), [0, 12], 'Metadata');
  });
});

describe('Kafka test broker: fault injection', () => {
  it('a producer delivers after the partition leader comes back up', async (t) => {
    if (kafka.external) return t.skip('needs the local test broker');
    const topic = await createTopic();
    const producer = await plainProducer({
      'reconnect.backoff.ms': 50,
      'reconnect.backoff.max.ms': 200,
    });
    await producer.send({ topic, messages: [{ value: 'warm-up' }] });

    const leader = await leaderOf(topic, 0);
    await kafka.brokerDown(leader);
    let delivered = false;
    const sending = producer.send({ topic, messages: [{ value: 'while-down' }] }).then((r) => {
      delivered = true;
      return r;
    });
    try {
      await sleep(1_500);
      assert.equal(delivered, false, 'nothing can be delivered while the leader is down');
    } finally {
      await kafka.brokerUp(leader);
    }
    const [meta] = await sending;
    assert.equal(meta?.errorCode, 0);
    assert.equal(meta?.baseOffset, '1');
    assert.equal(await latestOffset(topic, IsolationLevel.READ_UNCOMMITTED), '2');

    await disconnect(producer);
  });

  it('injects request errors', async (t) => {
    if (kafka.external) return t.skip('needs the local test broker');
    const topic = await createTopic();
    const producer = await plainProducer({ 'message.send.max.retries': 0 });
    await producer.send({ topic, messages: [{ value: 'ok-1' }] });

    // A permanent error that fails just the one request.
    const PRODUCE = 0;
    const INVALID_RECORD = 87;
    await kafka.pushRequestErrors(PRODUCE, [INVALID_RECORD]);
    await assert.rejects(producer.send({ topic, messages: [{ value: 'rejected' }] }), (err: unknown) => {
      const e = err as { code?: number };
      assert.equal(e.code, INVALID_RECORD, `expected INVALID_RECORD, got ${String(err)}`);
      return true;
    });
    // The error was used up by that one request.
    const [meta] = await producer.send({ topic, messages: [{ value: 'ok-2' }] });
    assert.equal(meta?.baseOffset, '1');

    await disconnect(producer);
  });

  it('moves partition leadership', async (t) => {
    if (kafka.external) return t.skip('needs the local test broker');
    const topic = await createTopic();
    const before = await leaderOf(topic, 0);
    const target = kafka.brokerIds.find((id) => id !== before);
    assert.ok(target !== undefined);
    await kafka.setPartitionLeader(topic, 0, target);
    assert.equal(await leaderOf(topic, 0), target);

    const producer = await plainProducer();
    const [meta] = await producer.send({ topic, messages: [{ value: 'to-new-leader' }] });
    assert.equal(meta?.errorCode, 0);
    await disconnect(producer);

    await assert.rejects(kafka.setPartitionLeader(topic, 0, 99), /no broker 99/);
    await assert.rejects(kafka.control('no-such-command'), /unknown command/);
  });
});

describe('Kafka test broker: process', () => {
  it('caches the binary: a second ensureMockBrokerBuilt() does not rebuild', async (t) => {
    if (kafka.external) return t.skip('needs the local test broker');
    const first = await ensureMockBrokerBuilt();
    const before = statSync(first);
    const started = performance.now();
    const second = await ensureMockBrokerBuilt();
    const elapsed = performance.now() - started;
    assert.equal(second, first);
    assert.ok(elapsed < 3_000, `cached lookup took ${Math.round(elapsed)} ms`);
    const after = statSync(second);
    assert.equal(after.ino, before.ino, 'binary was replaced');
    assert.equal(after.mtimeMs, before.mtimeMs, 'binary was rewritten');
  });

  it('exits on end of stdin and on SIGTERM', async (t) => {
    if (kafka.external) return t.skip('needs the local test broker');
    const binary = await ensureMockBrokerBuilt();

    const startBroker = async () => {
      const child = spawn(binary, ['--brokers', '1'], { stdio: ['pipe', 'pipe', 'inherit'] });
      const [firstLine] = (await once(child.stdout, 'data')) as [Buffer];
      assert.match(firstLine.toString(), /^BOOTSTRAP 127\.0\.0\.1:\d+\n/);
      return child;
    };
    const exitWithin = async (child: ReturnType<typeof spawn>, ms: number) => {
      const timer = setTimeout(() => child.kill('SIGKILL'), ms);
      const [code, signal] = (await once(child, 'exit')) as [number | null, string | null];
      clearTimeout(timer);
      return { code, signal };
    };

    const eof = await startBroker();
    eof.stdin.end();
    assert.deepEqual(await exitWithin(eof, 5_000), { code: 0, signal: null });

    const term = await startBroker();
    term.kill('SIGTERM');
    assert.deepEqual(await exitWithin(term, 5_000), { code: 0, signal: null });
  });
});
