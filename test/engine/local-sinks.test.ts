import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { isRetriable } from '../../src/engine/index.js';
import { OffsetError } from '../../src/errors.js';
import type { SourceOffset } from '../../src/events/change-event.js';
import { FileOffsetStore, MemoryOffsetStore, type LocalOffsetStore } from '../../src/offsets/file-offset-store.js';
import { FileSink } from '../../src/sinks/file-sink.js';
import type { SerializedRecord } from '../../src/sinks/sink.js';
import { formatRecordLine, StdoutSink } from '../../src/sinks/stdout-sink.js';

let dir = '';
let n = 0;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sluice-sinks-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});
const fresh = () => join(dir, `t${++n}`);

const rec = (topic: string, key: unknown, value: unknown): SerializedRecord => ({
  topic,
  key: key === null ? null : Buffer.from(JSON.stringify(key)),
  value: value === null ? null : Buffer.from(JSON.stringify(value)),
});

describe('record lines', () => {
  test('JSON bytes are embedded verbatim, so int64 values stay exact', () => {
    const r: SerializedRecord = {
      topic: 'shop.public.orders',
      key: Buffer.from('{"id":12345678901234567890}'),
      value: Buffer.from('{\n  "after": {"id": 12345678901234567890},\n  "op": "c"\n}'),
    };
    const line = formatRecordLine(r);
    assert.equal(line, '{"topic":"shop.public.orders","key":{"id":12345678901234567890},"value":{   "after": {"id": 12345678901234567890},   "op": "c" }}\n');
    assert.equal(line.split('\n').length, 2, 'one line per record');
  });

  test('tombstones, headers, timestamps, and non-JSON bytes as base64', () => {
    const line = formatRecordLine({
      topic: 't',
      key: Buffer.from([0, 0, 0, 0, 7, 2, 4]),
      value: null,
      headers: { '__debezium.oldkey': '{"id":1}' },
      timestampMs: 1700000000000,
    });
    const parsed = JSON.parse(line) as Record<string, unknown>;
    assert.deepEqual(parsed, {
      topic: 't',
      key_base64: Buffer.from([0, 0, 0, 0, 7, 2, 4]).toString('base64'),
      value: null,
      headers: { '__debezium.oldkey': '{"id":1}' },
      timestamp: 1700000000000,
    });
  });
});

describe('file offset store', () => {
  test('atomic rewrite: survives a new instance, leaves no temp files, serializes concurrent writers', async () => {
    const d = fresh();
    const path = join(d, 'offsets.json');
    const store = new FileOffsetStore(path);
    assert.equal(await store.get('a'), null);
    await Promise.all(Array.from({ length: 20 }, (_, i) => store.set(i % 2 === 0 ? 'a' : 'b', { lsn: `0/${i}` })));
    const again = new FileOffsetStore(path);
    assert.deepEqual(await again.get('a'), { lsn: '0/18' });
    assert.deepEqual(await again.get('b'), { lsn: '0/19' });
    assert.deepEqual(await readdir(d), ['offsets.json']);
    const file = JSON.parse(await readFile(path, 'utf8')) as { format: string; connectors: Record<string, { offset: SourceOffset }> };
    assert.equal(file.format, 'sluice-offsets/1');
    assert.deepEqual(Object.keys(file.connectors).sort(), ['a', 'b']);
    assert.equal(await again.delete('a'), true);
    assert.equal(await again.delete('a'), false);
    assert.equal(await new FileOffsetStore(path).get('a'), null);
  });

  test('a damaged offsets file is an OffsetError, not a silent fresh start', async () => {
    const path = join(fresh(), 'offsets.json');
    await new FileOffsetStore(path).set('a', { x: 1 });
    await writeFile(path, '{"format":"sluice-offsets/1","connectors":{"a":');
    await assert.rejects(new FileOffsetStore(path).get('a'), (err: unknown) => err instanceof OffsetError && /not valid JSON/.test(err.message));
    await writeFile(path, '{"something":"else"}');
    await assert.rejects(new FileOffsetStore(path).get('a'), OffsetError);
  });
});

describe('file sink', () => {
  test('appends JSON lines, stores the offset after them, and reopens at that offset', async () => {
    const d = fresh();
    const store = new FileOffsetStore(join(d, 'offsets.json'));
    const sink = new FileSink({ connector: 'c', path: join(d, 'out.jsonl'), offsets: store });
    assert.equal(await sink.open(), null);
    await sink.commit([rec('t', { id: 1 }, { v: 1 }), rec('t', { id: 1 }, null)], { pos: 2 });
    await sink.commit([], { pos: 3 }); // an offset-only cycle (e.g. heartbeat)
    await sink.close();
    assert.equal(await readFile(join(d, 'out.jsonl'), 'utf8'), '{"topic":"t","key":{"id":1},"value":{"v":1}}\n{"topic":"t","key":{"id":1},"value":null}\n');
    const reopened = new FileSink({ connector: 'c', path: join(d, 'out.jsonl'), offsets: new FileOffsetStore(join(d, 'offsets.json')) });
    assert.deepEqual(await reopened.open(), { pos: 3 });
    await reopened.close();
  });

  test('connectors sharing a file never interleave inside a commit', async () => {
    const d = fresh();
    const store = new FileOffsetStore(join(d, 'offsets.json'));
    const path = join(d, 'shared.jsonl');
    const sinks = ['a', 'b'].map((c) => new FileSink({ connector: c, path, offsets: store }));
    await Promise.all(sinks.map((s) => s.open()));
    await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        sinks[i % 2]!.commit(Array.from({ length: 50 }, (_, j) => rec(i % 2 === 0 ? 'a' : 'b', { i, j }, { i, j })), { i }),
      ),
    );
    await Promise.all(sinks.map((s) => s.close()));
    const topics = (await readFile(path, 'utf8')).trim().split('\n').map((l) => (JSON.parse(l) as { topic: string; key: { i: number } }).key.i);
    assert.equal(topics.length, 500);
    // each commit's 50 lines are contiguous
    for (let k = 0; k < 500; k += 50) assert.equal(new Set(topics.slice(k, k + 50)).size, 1);
  });

  test('at-least-once: a crash between the records and the offset replays the cycle', async () => {
    const d = fresh();
    const real = new FileOffsetStore(join(d, 'offsets.json'));
    let crash = false;
    const flaky: LocalOffsetStore = {
      get: (c) => real.get(c),
      set: async (c, o) => {
        if (crash) throw new Error('power cut');
        await real.set(c, o);
      },
      delete: (c) => real.delete(c),
      all: () => real.all(),
    };
    const path = join(d, 'out.jsonl');
    const sink = new FileSink({ connector: 'c', path, offsets: flaky });
    await sink.open();
    await sink.commit([rec('t', { id: 1 }, { v: 1 })], { pos: 1 });
    crash = true;
    await assert.rejects(sink.commit([rec('t', { id: 2 }, { v: 2 })], { pos: 2 }), /power cut/);
    await sink.close();
    // restart: the sink reports the last durable offset, so the source sends record 2 again
    const restarted = new FileSink({ connector: 'c', path, offsets: new FileOffsetStore(join(d, 'offsets.json')) });
    assert.deepEqual(await restarted.open(), { pos: 1 });
    await restarted.commit([rec('t', { id: 2 }, { v: 2 })], { pos: 2 });
    await restarted.close();
    const ids = (await readFile(path, 'utf8')).trim().split('\n').map((l) => (JSON.parse(l) as { key: { id: number } }).key.id);
    assert.deepEqual(ids, [1, 2, 2]);
  });
});

describe('stdout sink', () => {
  test('writes lines, then stores the offset', async () => {
    const out = new PassThrough();
    let text = '';
    out.on('data', (d: Buffer) => (text += d.toString()));
    const offsets = new MemoryOffsetStore();
    const sink = new StdoutSink({ connector: 'c', offsets, out });
    assert.equal(await sink.open(), null);
    await sink.commit([rec('t', 1, { a: 1 })], { p: 1 });
    assert.equal(text, '{"topic":"t","key":1,"value":{"a":1}}\n');
    assert.deepEqual(await offsets.get('c'), { p: 1 });
  });

  test('a closed stdout is a non-retriable failure and stores no offset', async () => {
    const out = new Writable({
      write(_chunk, _enc, cb) {
        cb(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
      },
    });
    out.on('error', () => undefined);
    const offsets = new MemoryOffsetStore();
    const sink = new StdoutSink({ connector: 'c', offsets, out });
    await assert.rejects(sink.commit([rec('t', 1, 1)], { p: 1 }), (err: unknown) => {
      assert.match(String(err), /cannot write to stdout: write EPIPE/);
      assert.equal(isRetriable(err), false);
      return true;
    });
    assert.equal(await offsets.get('c'), null);
  });
});
