import assert from 'node:assert/strict';
import { test } from 'node:test';
import { backoffDelay, describeError, isRetriable } from '../../src/engine/index.js';
import { ConfigError, ConnectionLostError, FencedError, PrerequisiteError, SchemaEvolutionError, SluiceError } from '../../src/errors.js';

const withCode = (message: string, code: string) => Object.assign(new Error(message), { code });

test('retriable: connection errors, Kafka transport errors, SluiceError.retriable, through causes', () => {
  assert.equal(isRetriable(new ConnectionLostError('lost')), true);
  assert.equal(isRetriable(withCode('connect ECONNREFUSED 127.0.0.1:5432', 'ECONNREFUSED')), true);
  assert.equal(isRetriable(withCode('read ECONNRESET', 'ECONNRESET')), true);
  assert.equal(isRetriable(Object.assign(new Error('Local: Broker transport failure'), { type: 'ERR__TRANSPORT', code: -195 })), true);
  assert.equal(isRetriable(Object.assign(new Error('x'), { name: 'KafkaJSConnectionError' })), true);
  assert.equal(isRetriable(new Error('wrapped', { cause: withCode('read ECONNRESET', 'ECONNRESET') })), true);
  assert.equal(isRetriable(new AggregateError([withCode('a', 'ECONNREFUSED'), withCode('b', 'ECONNREFUSED')])), true);
});

test('not retriable: config, prerequisites, schema evolution, fencing, fatal Kafka errors, unknown errors', () => {
  assert.equal(isRetriable(new ConfigError('bad')), false);
  assert.equal(isRetriable(new PrerequisiteError('wal_level')), false);
  assert.equal(isRetriable(new SchemaEvolutionError('incompatible')), false);
  assert.equal(isRetriable(new FencedError('fenced')), false);
  // a Sluice error decides for itself even when its cause is a socket error
  assert.equal(isRetriable(new SluiceError('no', { cause: withCode('x', 'ECONNRESET') })), false);
  assert.equal(isRetriable(Object.assign(new Error('fenced'), { type: 'ERR__FENCED', retriable: true })), false);
  assert.equal(isRetriable(Object.assign(new Error('fatal'), { fatal: true, code: 'ECONNRESET' })), false);
  assert.equal(isRetriable(new TypeError('cannot read properties of undefined')), false);
  assert.equal(isRetriable('a string'), false);
});

test('describeError includes the cause chain', () => {
  const err = new ConnectionLostError('lost the replication connection', { cause: withCode('read ECONNRESET', 'ECONNRESET') });
  assert.equal(describeError(err), 'ConnectionLostError: lost the replication connection (caused by: ECONNRESET read ECONNRESET)');
});

test('backoff doubles from the initial delay up to the cap, with jitter in [d/2, d]', () => {
  assert.deepEqual([1, 2, 3, 4, 8, 20].map((a) => backoffDelay(a, 1000, 60_000, () => 1)), [1000, 2000, 4000, 8000, 60_000, 60_000]);
  assert.deepEqual([1, 2, 3].map((a) => backoffDelay(a, 1000, 60_000, () => 0)), [500, 1000, 2000]);
  for (let i = 0; i < 100; i++) {
    const d = backoffDelay(3, 1000, 60_000);
    assert.ok(d >= 2000 && d <= 4000);
  }
});
