import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

const CHILD = new URL('./fixtures/sigterm-child.ts', import.meta.url).pathname;

test('SIGTERM stops a running connector gracefully: what is stored is exactly what was written', { timeout: 30_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-sigterm-'));
  try {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('ready\n')) resolve();
      });
      child.on('exit', () => reject(new Error(`child exited before it was ready: ${err}`)));
    });
    child.kill('SIGTERM');
    const code = await exited;
    assert.equal(code, 0, err);
    const report = JSON.parse(out.split('\n').filter((l) => l.startsWith('{')).at(-1) ?? '{}') as {
      state: string;
      acks: number[];
      stops: number;
      closes: number;
    };
    assert.equal(report.state, 'stopped');
    assert.equal(report.stops, 1);
    assert.equal(report.closes, 1);

    const lines = (await readFile(join(dir, 'out.jsonl'), 'utf8')).split('\n').filter((l) => l !== '');
    const seqs = lines.map((l) => (JSON.parse(l) as { value: { seq: number } }).value.seq);
    const stored = (JSON.parse(await readFile(join(dir, 'offsets.json'), 'utf8')) as { connectors: { c: { offset: { seq: number } } } }).connectors.c
      .offset.seq;
    // every event once, in order, and the stored offset is the last written event: no cycle was cut in half
    assert.deepEqual(seqs, Array.from({ length: seqs.length }, (_, i) => i + 1));
    assert.equal(stored, seqs.at(-1));
    assert.equal(report.acks.at(-1), stored, 'the last commit was acknowledged before the source stopped');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
