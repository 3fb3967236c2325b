// The exactly-once Kafka sink against the Kafka test broker: records and offsets in one transaction, offsets
// read back after fencing, and a second instance of a connector fencing the first.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { KafkaSink, type KafkaSinkOptions } from '../../src/sinks/kafka/kafka-sink.js';
import { FencedError } from '../../src/errors.js';
import { startKafka, type KafkaInstance } from '../support/kafka-broker.js';
import { readTopic } from '../support/kafka-read.js';

let kafka: KafkaInstance;
const logger = pino({ level: 'silent' });

before(async () => {
  kafka = await startKafka({ brokers: 3 });
});
after(async () => {
  await kafka?.stop();
});

function sink(name: string, extra: Partial<KafkaSinkOptions> = {}): KafkaSink {
  return new KafkaSink({
    bootstrapServers: kafka.bootstrapServers,
    connectorName: name,
    topicPrefix: name,
    offsetsTopic: `offsets-${name}`,
    logger,
    ...extra,
  });
}

const rec = (topic: string, key: string, value: string | null) => ({
  topic,
  key: Buffer.from(key),
  value: value === null ? null : Buffer.from(value),
  headers: { h: 'x' },
});

test('records and the offset commit together; a new instance resumes from the stored offset', async () => {
  const first = sink('resume');
  assert.equal(await first.open(), null, 'nothing stored yet');
  await first.commit([rec('resume.t', 'k1', 'v1'), rec('resume.t', 'k1', null)], { lsn: '10' });
  await first.commit([rec('resume.t', 'k2', 'v2')], { lsn: '20', big: '18446744073709551615' });
  await first.close();

  const second = sink('resume');
  assert.deepEqual(await second.open(), { lsn: '20', big: '18446744073709551615' });
  await second.close();

  const records = await readTopic(kafka.bootstrapServers, 'resume.t');
  assert.deepEqual(
    records.map((r) => [r.key?.toString(), r.value?.toString() ?? null, r.headers.h]),
    [
      ['k1', 'v1', 'x'],
      ['k1', null, 'x'],
      ['k2', 'v2', 'x'],
    ],
  );
});

test('a second instance of the same connector fences the first; nothing from the zombie is visible', async () => {
  const zombie = sink('fence');
  await zombie.open();
  await zombie.commit([rec('fence.t', 'a', '1')], { n: 1 });

  const successor = sink('fence');
  assert.deepEqual(await successor.open(), { n: 1 });

  await assert.rejects(zombie.commit([rec('fence.t', 'a', 'zombie')], { n: 99 }), (err: unknown) => {
    assert.ok(err instanceof FencedError, `expected FencedError, got ${String(err)}`);
    assert.match((err as Error).message, /fenced/);
    return true;
  });
  await successor.commit([rec('fence.t', 'a', '2')], { n: 2 });
  await zombie.close();
  await successor.close();

  const committed = await readTopic(kafka.bootstrapServers, 'fence.t');
  assert.deepEqual(committed.map((r) => r.value?.toString()), ['1', '2']);
  const third = sink('fence');
  assert.deepEqual(await third.open(), { n: 2 }, 'the zombie offset never became durable');
  await third.close();
});

test('connectors sharing an offsets topic each read back their own offset', async () => {
  const a = sink('shared-a', { offsetsTopic: 'offsets-shared' });
  const b = sink('shared-b', { offsetsTopic: 'offsets-shared' });
  await a.open();
  await b.open();
  await a.commit([rec('shared.t', 'a', 'a1')], { who: 'a', n: 1 });
  await b.commit([rec('shared.t', 'b', 'b1')], { who: 'b', n: 1 });
  await a.commit([], { who: 'a', n: 2 });
  await a.close();
  await b.close();
  const a2 = sink('shared-a', { offsetsTopic: 'offsets-shared' });
  const b2 = sink('shared-b', { offsetsTopic: 'offsets-shared' });
  assert.deepEqual(await a2.open(), { who: 'a', n: 2 });
  assert.deepEqual(await b2.open(), { who: 'b', n: 1 });
  await a2.close();
  await b2.close();
});
