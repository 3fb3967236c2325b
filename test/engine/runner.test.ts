import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import { runConnectors, type ConnectorStatus, type Engine, type EngineConfig, type RecordConverter } from '../../src/engine/index.js';
import { ConnectionLostError, DecodeError, FencedError, PrerequisiteError, SchemaEvolutionError } from '../../src/errors.js';
import { FileOffsetStore } from '../../src/offsets/file-offset-store.js';
import type { ChangeEvent, SourceOffset } from '../../src/events/change-event.js';
import { FileSink } from '../../src/sinks/file-sink.js';
import type { SerializedRecord, Sink } from '../../src/sinks/sink.js';
import { captureLogger } from './support/capture-logger.js';
import { SinkProbe, waitFor } from './support/instrumented-sink.js';
import { MemorySource, SourceWorld, seqOf, type MemorySourceOptions } from './support/memory-source.js';
import { testConverter } from './support/test-converter.js';

let root = '';
let n = 0;
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'sluice-engine-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

const engines: Engine[] = [];
afterEach(async () => {
  await Promise.all(engines.splice(0).map((e) => e.stop()));
});

interface Harness {
  readonly engine: Engine;
  readonly world: SourceWorld;
  readonly probe: SinkProbe;
  readonly store: FileOffsetStore;
  readonly sinkPath: string;
  readonly offsetsPath: string;
  readonly statuses: ConnectorStatus[];
  readonly sourceCreatedAt: number[];
  /** Batch numbers of the lines in the sink file, in file order. */
  lines(): number[];
  storedSeq(): number;
}

interface HarnessOptions {
  readonly config: EngineConfig;
  readonly source: Omit<MemorySourceOptions, 'world'> | ((lifetime: number) => Omit<MemorySourceOptions, 'world'>);
  readonly converter?: RecordConverter;
  readonly random?: () => number;
  readonly onCreateSource?: (lifetime: number) => void;
  readonly validateOnStart?: boolean;
}

function start(o: HarnessOptions): Harness {
  const dir = join(root, `c${++n}`);
  const sinkPath = join(dir, 'out.jsonl');
  const offsetsPath = join(dir, 'offsets.json');
  const store = new FileOffsetStore(offsetsPath);
  const world = new SourceWorld();
  const probe = new SinkProbe();
  const statuses: ConnectorStatus[] = [];
  const sourceCreatedAt: number[] = [];
  let lifetime = 0;
  const engine = runConnectors([{ name: 'c', config: o.config }], {
    createSource: () => {
      lifetime += 1;
      sourceCreatedAt.push(Date.now());
      o.onCreateSource?.(lifetime);
      const opts = typeof o.source === 'function' ? o.source(lifetime) : o.source;
      return new MemorySource({ ...opts, world });
    },
    createConverter: () => o.converter ?? testConverter(),
    createSink: (spec) => probe.wrap(new FileSink({ connector: spec.name, path: sinkPath, offsets: store })),
    logger: captureLogger('silent').logger,
    onStatus: (_name, s) => statuses.push(s),
    ...(o.random ? { random: o.random } : {}),
    ...(o.validateOnStart !== undefined ? { validateOnStart: o.validateOnStart } : {}),
  });
  engines.push(engine);
  const readLines = () => {
    let text: string;
    try {
      text = readFileSync(sinkPath, 'utf8');
    } catch {
      return [];
    }
    return text
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => (JSON.parse(l) as { value: { seq: number } }).value.seq);
  };
  const storedSeq = () => {
    try {
      const file = JSON.parse(readFileSync(offsetsPath, 'utf8')) as { connectors: Record<string, { offset: { seq: number } }> };
      return file.connectors.c?.offset.seq ?? 0;
    } catch {
      return 0;
    }
  };
  return { engine, world, probe, store, sinkPath, offsetsPath, statuses, sourceCreatedAt, lines: readLines, storedSeq };
}

describe('commit cycles', () => {
  test('by size: source batches merge up to max.batch.size events, never split, source order kept', async () => {
    const h = start({
      config: { 'max.batch.size': 10, 'commit.interval.ms': 10_000, 'max.queue.size': 100 },
      source: { batches: 30, eventsPerBatch: (seq) => (seq === 5 ? 15 : 3) },
    });
    const t0 = Date.now();
    const [report] = await h.engine.done;
    assert.equal(report!.status.state, 'stopped');
    assert.ok(Date.now() - t0 < 5000, 'cycles closed on size, not on the 10 s interval');
    const sizes = h.probe.done.map((c) => c.records);
    // the 15-event batch is a cycle of its own; every other cycle holds 3 batches (9 events) or fewer
    assert.ok(sizes.includes(15));
    for (const s of sizes) assert.ok(s === 15 || s <= 10, `cycle of ${s} events`);
    assert.equal(sizes.filter((s) => s === 9).length >= 8, true, `cycles: ${sizes.join(',')}`);
    assert.ok(h.probe.done.length < 30, 'batches were merged');
    // every event once, in source order; the offset of each cycle is its last batch's
    const lines = h.lines();
    assert.equal(lines.length, 29 * 3 + 15);
    assert.deepEqual([...new Set(lines)], Array.from({ length: 30 }, (_, i) => i + 1));
    assert.deepEqual(
      lines.filter((_, i) => i === 0 || lines[i - 1] !== lines[i]),
      Array.from({ length: 30 }, (_, i) => i + 1),
    );
    assert.equal(seqOf(h.probe.done.at(-1)!.offset), 30);
    assert.equal(h.storedSeq(), 30);
  });

  test('by time: a cycle waits commit.interval.ms after its first event, then commits what it has', async () => {
    const h = start({
      config: { 'max.batch.size': 1000, 'commit.interval.ms': 400 },
      source: { batches: 10, eventsPerBatch: 4, delayMs: 10, endless: true },
    });
    await waitFor(() => h.probe.done.length >= 1, 5000, 'first commit');
    const firstYield = h.world.yielded.length > 0 ? h.probe.commits[0]!.startedAt : 0;
    assert.ok(firstYield > 0);
    await new Promise((r) => setTimeout(r, 150));
    assert.equal(h.probe.commits.length, 1, 'all ten batches (yielded within ~150 ms) went into one cycle');
    assert.equal(h.probe.commits[0]!.records, 40);
    assert.equal(seqOf(h.probe.commits[0]!.offset), 10);
  });

  test('by time: the interval starts at the first event of the cycle', async () => {
    let firstYieldAt = 0;
    const h = start({
      config: { 'max.batch.size': 1000, 'commit.interval.ms': 300 },
      source: { batches: 1, eventsPerBatch: 1, delayMs: 50, endless: true, onYield: () => (firstYieldAt ||= Date.now()) },
    });
    await waitFor(() => h.probe.done.length >= 1, 5000, 'first commit');
    const waited = h.probe.commits[0]!.startedAt - firstYieldAt;
    assert.ok(waited >= 290, `committed ${waited} ms after the event arrived`);
    assert.ok(waited < 1500, `committed ${waited} ms after the event arrived`);
  });

  test('by time with a steady trickle: several cycles, each holding several batches', async () => {
    const h = start({
      config: { 'max.batch.size': 1000, 'commit.interval.ms': 60 },
      source: { batches: 20, eventsPerBatch: 1, delayMs: 15 },
    });
    await h.engine.done;
    const cycles = h.probe.done.length;
    assert.ok(cycles >= 3 && cycles < 20, `${cycles} cycles for 20 batches`);
    assert.deepEqual(h.lines(), Array.from({ length: 20 }, (_, i) => i + 1));
  });
});

describe('records', () => {
  test('each event becomes one record with its topic, key, value, headers, timestamp and partition', async () => {
    const seen: SerializedRecord[] = [];
    const event: ChangeEvent = {
      topic: 'shop',
      keySchema: null,
      key: { databaseName: 'inventory' },
      valueSchema: null,
      value: { ddl: 'ALTER TABLE t ADD c int' },
      headers: { h: '1' },
      timestampMs: 1234,
      partition: 0,
    };
    const tombstone: ChangeEvent = { topic: 't', keySchema: null, key: { id: 1 }, valueSchema: null, value: null };
    const probe = new SinkProbe();
    const engine = runConnectors([{ name: 'r', config: { 'commit.interval.ms': 5 } }], {
      createSource: () => ({
        connector: 'mysql' as const,
        validate: async () => [],
        acknowledge: async () => undefined,
        stop: async () => undefined,
        async *stream() {
          yield { events: [event, tombstone], offset: { n: 1 } };
        },
      }),
      createConverter: () => testConverter(),
      createSink: () => probe.wrap({ open: async () => null, commit: async () => undefined, close: async () => undefined }, { beforeCommit: (r) => seen.push(...r) }),
      logger: captureLogger('silent').logger,
    });
    engines.push(engine);
    await engine.done;
    assert.deepEqual(
      seen.map((r) => ({ ...r, key: r.key?.toString() ?? null, value: r.value?.toString() ?? null })),
      [
        { topic: 'shop', key: '{"databaseName":"inventory"}', value: '{"ddl":"ALTER TABLE t ADD c int"}', headers: { h: '1' }, timestampMs: 1234, partition: 0 },
        { topic: 't', key: '{"id":1}', value: null },
      ],
    );
  });
});

describe('acknowledgements', () => {
  test('only acknowledgeable offsets, the last of each cycle, only after the commit holding it is durable', async () => {
    const atAck: { seq: number; stored: number; inFile: boolean }[] = [];
    const h = start({
      config: { 'max.batch.size': 4, 'commit.interval.ms': 10_000 },
      source: { batches: 20, eventsPerBatch: 1, acknowledgeable: (seq) => seq % 3 === 0 },
    });
    h.world.onAck = (seq) => atAck.push({ seq, stored: h.storedSeq(), inFile: h.lines().includes(seq) });
    await h.engine.done;
    // cycles: 1-4, 5-8, 9-12, 13-16, 17-20 → last acknowledgeable batch of each
    assert.deepEqual(h.probe.done.map((c) => seqOf(c.offset)), [4, 8, 12, 16, 20]);
    assert.deepEqual(atAck.map((a) => a.seq), [3, 6, 12, 15, 18]);
    // at each acknowledgement the cycle's records were in the file and its offset (the cycle's last) was stored
    assert.deepEqual(atAck.map((a) => a.stored), [4, 8, 12, 16, 20]);
    assert.ok(atAck.every((a) => a.inFile));
  });

  test('nothing is acknowledged when the commit fails', async () => {
    const failing: RecordConverter = {
      ...testConverter(),
      serializeValue: async () => {
        throw new SchemaEvolutionError('incompatible schema');
      },
    };
    const h = start({ config: { 'commit.interval.ms': 10 }, source: { batches: 5, eventsPerBatch: 1 }, converter: failing });
    const [report] = await h.engine.done;
    assert.equal(report!.status.state, 'failed');
    assert.deepEqual(h.world.acks, []);
    assert.equal(h.storedSeq(), 0);
  });
});

describe('backpressure', () => {
  test('with a commit in flight, the source is pulled only until max.queue.size events wait', async () => {
    const h = start({
      config: { 'max.batch.size': 10, 'max.queue.size': 20, 'commit.interval.ms': 10_000 },
      source: { batches: Infinity, eventsPerBatch: 2 },
    });
    h.probe.hold();
    await waitFor(() => h.probe.commits.length === 1, 5000, 'the first commit to start');
    await new Promise((r) => setTimeout(r, 200));
    const pulled = h.world.pulledEvents;
    // in flight: 10 events (5 batches); queued: 20 (10 batches); one more batch held by the puller
    assert.equal(pulled, 10 + 20 + 2);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(h.world.pulledEvents, pulled, 'the source is not pulled while the queue is full');
    h.probe.release();
    await waitFor(() => h.probe.done.length >= 4, 5000, 'commits after release');
    assert.ok(h.world.pulledEvents > pulled);
  });
});

describe('restarts', () => {
  test('a retriable failure restarts the connector after a backoff, resuming from the last committed offset', async () => {
    const storedAtRestart: number[] = [];
    let failedAt = 0;
    const h = start({
      config: { 'max.batch.size': 2, 'commit.interval.ms': 5, 'retriable.restart.connector.wait.ms': 200 },
      random: () => 0, // equal jitter's lower bound: half of 200 ms
      source: (lifetime) => ({
        batches: 12,
        eventsPerBatch: 1,
        delayMs: 5,
        ...(lifetime === 1
          ? { failAt: { atSeq: 8, error: new ConnectionLostError('replication connection lost') }, onYield: (seq: number) => seq === 7 && (failedAt = Date.now()) }
          : {}),
      }),
      onCreateSource: (lifetime) => lifetime > 1 && storedAtRestart.push(h.storedSeq()),
    });
    const [report] = await h.engine.done;
    assert.equal(report!.status.state, 'stopped');
    assert.equal(h.sourceCreatedAt.length, 2);
    assert.ok(h.sourceCreatedAt[1]! - failedAt >= 95, `restarted after ${h.sourceCreatedAt[1]! - failedAt} ms`);
    const restarting = h.statuses.filter((s) => s.state === 'restarting');
    assert.equal(restarting.length, 1);
    assert.ok(restarting[0]!.state === 'restarting' && restarting[0]!.attempt === 1);
    assert.match(restarting[0]!.state === 'restarting' ? restarting[0]!.reason : '', /ConnectionLostError: replication connection lost/);
    // the second stream started exactly at the offset the sink had committed
    assert.ok(storedAtRestart[0]! >= 2);
    assert.deepEqual(h.world.streams, [null, { seq: storedAtRestart[0]! }]);
    // every event exactly once, in order (nothing uncommitted was written)
    assert.deepEqual(h.lines(), Array.from({ length: 12 }, (_, i) => i + 1));
    assert.equal(report!.stats.restarts, 1);
  });

  test('a sink that can reopen is kept across a restart the sink did not cause; a sink failure replaces it; fenced on reopen stops', async () => {
    // An in-memory sink with reopen(), as the Kafka sink has: it proves ownership instead of fencing anew.
    const made: { opens: number; reopens: number; closes: number; offset: SourceOffset | null; fencedOnReopen: boolean; failCommitAt: number }[] = [];
    const makeSink = (fencedOnReopen: boolean, failCommitAt = -1): Sink => {
      const state = { opens: 0, reopens: 0, closes: 0, offset: null as SourceOffset | null, fencedOnReopen, failCommitAt };
      made.push(state);
      let commits = 0;
      return {
        open: async () => (state.opens++, state.offset),
        reopen: async () => {
          state.reopens++;
          if (state.fencedOnReopen) throw new FencedError('fenced by a newer instance');
          return state.offset;
        },
        commit: async (_records, offset) => {
          if (++commits === state.failCommitAt) throw new ConnectionLostError('broker went away');
          state.offset = offset;
        },
        close: async () => void state.closes++,
      };
    };
    const run = async (fencedOnReopen: boolean, failCommitAt: number, failSourceAt: number) => {
      made.length = 0;
      let lifetime = 0;
      const engine = runConnectors([{ name: 'k', config: { 'max.batch.size': 1, 'commit.interval.ms': 1, 'retriable.restart.connector.wait.ms': 1 } }], {
        createSource: () => {
          lifetime += 1;
          return new MemorySource({
            world: new SourceWorld(),
            batches: 6,
            eventsPerBatch: 1,
            delayMs: 2,
            ...(lifetime === 1 && failSourceAt > 0 ? { failAt: { atSeq: failSourceAt, error: new ConnectionLostError('database connection lost') } } : {}),
          });
        },
        createConverter: () => testConverter(),
        createSink: () => makeSink(fencedOnReopen, made.length === 0 ? failCommitAt : -1),
        logger: captureLogger('silent').logger,
        random: () => 0,
      });
      engines.push(engine);
      const [report] = await engine.done;
      return report!;
    };

    const sourceFailure = await run(false, -1, 3);
    assert.equal(sourceFailure.status.state, 'stopped');
    assert.equal(made.length, 1, 'the same sink served both lifetimes');
    assert.deepEqual([made[0]!.opens, made[0]!.reopens, made[0]!.closes], [1, 1, 1]);

    const sinkFailure = await run(false, 2, -1);
    assert.equal(sinkFailure.status.state, 'stopped');
    assert.equal(made.length, 2, 'a failed sink is closed and replaced');
    assert.deepEqual([made[0]!.closes, made[1]!.opens, made[1]!.reopens], [1, 1, 0]);

    const fenced = await run(true, -1, 3);
    assert.equal(fenced.status.state, 'failed', 'fenced while proving ownership: the connector stops');
    assert.match(fenced.status.state === 'failed' ? fenced.status.reason : '', /FencedError/);
    assert.deepEqual([made.length, made[0]!.reopens, made[0]!.closes], [1, 1, 1]);
  });

  test('consecutive failures back off exponentially and give up after errors.max.retries', async () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
    const h = start({
      config: { 'errors.max.retries': 3, 'retriable.restart.connector.wait.ms': 40, 'restart.backoff.max.ms': 1000 },
      random: () => 1, // no jitter: 40, 80, 160 ms
      source: { batches: 1, eventsPerBatch: 1, failImmediately: refused },
    });
    const [report] = await h.engine.done;
    assert.equal(h.sourceCreatedAt.length, 4);
    const gaps = h.sourceCreatedAt.slice(1).map((t, i) => t - h.sourceCreatedAt[i]!);
    assert.ok(gaps[0]! >= 38 && gaps[1]! >= 78 && gaps[2]! >= 158, `gaps ${gaps.join(', ')}`);
    assert.ok(gaps[2]! > gaps[0]! * 2, `gaps ${gaps.join(', ')}`);
    assert.deepEqual(
      h.statuses.filter((s) => s.state === 'restarting').map((s) => (s.state === 'restarting' ? s.attempt : 0)),
      [1, 2, 3],
    );
    assert.equal(report!.status.state, 'failed');
    assert.match(report!.status.state === 'failed' ? report!.status.reason : '', /ECONNREFUSED.*gave up after 3 restarts/);
  });

  test('non-retriable failures stop the connector: no restart, sink closed, source stopped', async () => {
    const h = start({
      config: { 'retriable.restart.connector.wait.ms': 1 },
      source: { batches: 5, eventsPerBatch: 1, failAt: { atSeq: 3, error: new DecodeError('cannot decode the row') } },
    });
    const [report] = await h.engine.done;
    assert.equal(report!.status.state, 'failed');
    assert.match(report!.status.state === 'failed' ? report!.status.reason : '', /DecodeError: cannot decode the row/);
    assert.equal(h.sourceCreatedAt.length, 1);
    assert.equal(h.probe.closes, 1);
    assert.ok(h.world.stops >= 1);
    assert.ok(!h.statuses.some((s) => s.state === 'restarting'));
  });

  test('with validateOnStart, a failed prerequisite check stops the connector before streaming', async () => {
    const h = start({
      validateOnStart: true,
      config: {},
      source: { batches: 5, eventsPerBatch: 1, problems: [{ severity: 'error', message: 'wal_level is replica; set wal_level=logical' }] },
    });
    const [report] = await h.engine.done;
    assert.equal(report!.status.state, 'failed');
    assert.ok(report!.status.state === 'failed' && report!.status.error instanceof PrerequisiteError);
    assert.match(report!.status.state === 'failed' ? report!.status.reason : '', /wal_level is replica/);
    assert.deepEqual(h.world.streams, []);
  });

  test('without validateOnStart (the default) the source checks for itself when it streams', async () => {
    const h = start({
      config: { 'commit.interval.ms': 5 },
      source: { batches: 2, eventsPerBatch: 1, problems: [{ severity: 'error', message: 'would fail' }] },
    });
    const [report] = await h.engine.done;
    assert.equal(report!.status.state, 'stopped');
    assert.equal(h.world.validations, 0);
    assert.deepEqual(h.lines(), [1, 2]);
  });
});

describe('several connectors', () => {
  test('each is isolated: one failing and one restarting never stop the others', async () => {
    const dir = join(root, `iso${++n}`);
    const store = new FileOffsetStore(join(dir, 'offsets.json'));
    const worlds = { good: new SourceWorld(), bad: new SourceWorld(), flaky: new SourceWorld() };
    const probes = { good: new SinkProbe(), bad: new SinkProbe(), flaky: new SinkProbe() };
    const reset = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
    const engine = runConnectors(
      [
        { name: 'good', config: { 'commit.interval.ms': 10 } },
        { name: 'bad', config: {} },
        { name: 'flaky', config: { 'retriable.restart.connector.wait.ms': 60_000 } },
      ],
      {
        createSource: (spec) => {
          const name = spec.name as keyof typeof worlds;
          if (name === 'bad') return new MemorySource({ world: worlds.bad, batches: 3, eventsPerBatch: 1, failImmediately: new DecodeError('bad bytes') });
          if (name === 'flaky') return new MemorySource({ world: worlds.flaky, batches: 3, eventsPerBatch: 1, failImmediately: reset });
          return new MemorySource({ world: worlds.good, batches: Infinity, eventsPerBatch: 1, delayMs: 5 });
        },
        createConverter: () => testConverter(),
        createSink: (spec) => {
          const name = spec.name as keyof typeof probes;
          return probes[name].wrap(new FileSink({ connector: spec.name, path: join(dir, 'all.jsonl'), offsets: store }));
        },
        logger: captureLogger('silent').logger,
      },
    );
    engines.push(engine);
    await waitFor(() => engine.status('bad')?.state === 'failed' && engine.status('flaky')?.state === 'restarting', 5000, 'bad to fail');
    const before = probes.good.done.length;
    await waitFor(() => probes.good.done.length >= before + 3, 5000, 'good to keep committing');
    assert.equal(engine.status('good')?.state, 'running');
    const reports = await engine.stop();
    const byName = Object.fromEntries(reports.map((r) => [r.name, r.status.state]));
    assert.deepEqual(byName, { good: 'stopped', bad: 'failed', flaky: 'stopped' });
    assert.ok((await store.get('good')) !== null);
    assert.equal(await store.get('bad'), null);
  });
});

describe('graceful stop', () => {
  test('the in-flight cycle completes and is acknowledged; then sink closed and source stopped', async () => {
    const h = start({
      config: { 'max.batch.size': 5, 'commit.interval.ms': 10_000 },
      source: { batches: Infinity, eventsPerBatch: 1 },
    });
    h.probe.hold();
    await waitFor(() => h.probe.commits.length === 1, 5000, 'a commit in flight');
    const stopping = h.engine.stop();
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(h.engine.status('c')?.state, 'stopping');
    assert.equal(h.probe.closes, 0, 'the sink stays open while its commit is in flight');
    h.probe.release();
    const [report] = await stopping;
    assert.equal(report!.status.state, 'stopped');
    assert.equal(h.probe.commits.length, 1, 'no new cycle after the stop request');
    assert.equal(h.probe.commits[0]!.doneAt !== null, true);
    assert.equal(h.storedSeq(), 5);
    assert.deepEqual(h.world.acks.map((a) => a.seq), [5]);
    assert.equal(h.probe.closes, 1);
    assert.equal(h.world.stops, 1);
    assert.deepEqual(h.lines(), [1, 2, 3, 4, 5]);
  });

  test('a stop while idle abandons the queued cycle (it is replayed on the next start)', async () => {
    const h = start({
      config: { 'commit.interval.ms': 60_000 },
      source: { batches: 3, eventsPerBatch: 1, endless: true },
    });
    await waitFor(() => h.world.yielded.length === 3, 5000, 'three batches');
    const [report] = await h.engine.stop();
    assert.equal(report!.status.state, 'stopped');
    assert.equal(h.probe.commits.length, 0);
    assert.deepEqual(h.world.acks, []);
    assert.equal(h.world.stops, 1);
  });
});
