// `sluice demo` (what `npm run demo` runs): embedded Postgres, snapshot then a live stream on stdout, Ctrl-C stops
// cleanly, and a second run resumes without re-emitting anything.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, test } from 'node:test';
import { postgresDir } from '../../src/cli/demo.js';

const BIN = new URL('../../bin/sluice.js', import.meta.url).pathname;
const dir = await mkdtemp(join(tmpdir(), 'sluice-demo-test-'));
after(async () => {
  const pgDir = postgresDir(join(dir, 'state'));
  await rm(pgDir.startsWith('/var/tmp/') ? dirname(pgDir) : pgDir, { recursive: true, force: true });
  await rm(dir, { recursive: true, force: true });
});

interface Line {
  key: { id: number } | null;
  value: { op: string; before: Record<string, unknown> | null; after: Record<string, unknown> | null; source: { lsn: number; snapshot: string } } | null;
}

/** Runs the demo until `events` lines arrived (or a time limit), then sends SIGINT like Ctrl-C. */
function runDemo(minLines: number): Promise<{ code: number | null; lines: Line[]; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, 'demo', '--dir', join(dir, 'state'), '--rate', '40'], {
      env: { ...process.env, KAFKA_BOOTSTRAP_SERVERS: '', SCHEMA_REGISTRY_URL: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let interrupted = false;
    const interrupt = () => {
      if (!interrupted) child.kill('SIGINT');
      interrupted = true;
    };
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (stdout.split('\n').length > minLines) interrupt();
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const limit = setTimeout(interrupt, 40_000);
    const hard = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`demo did not stop after SIGINT\n${stderr}`));
    }, 70_000);
    child.on('exit', (code) => {
      clearTimeout(limit);
      clearTimeout(hard);
      const lines = stdout
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map((l) => JSON.parse(l) as Line);
      resolve({ code, lines, stderr });
    });
  });
}

const identity = (l: Line) => (l.value === null ? `tombstone:${l.key?.id}:` : `${l.value.op}:${l.key?.id}:${l.value.source.lsn}`);

test('the demo prints the snapshot then live changes, stops on SIGINT, and resumes without re-emitting', async () => {
  const first = await runDemo(60);
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stderr, /op "r"\s+snapshot read/, 'prints a legend');
  assert.match(first.stderr, /stopped cleanly/);
  const ops = first.lines.map((l) => l.value?.op ?? 'tombstone');
  // The generator starts with the engine, so a generated row may already be in the snapshot.
  const reads = ops.filter((o) => o === 'r').length;
  assert.ok(reads >= 5, `the 5 seeded rows (at least) as snapshot reads, got ${reads}`);
  assert.deepEqual(ops.slice(0, reads), Array<string>(reads).fill('r'), 'snapshot first');
  assert.ok(ops.includes('c') && ops.includes('u'), `live inserts and updates follow: ${ops.join(',')}`);
  for (const l of first.lines) assert.equal(typeof l.key?.id, 'number');
  const amount = first.lines[0]?.value?.after?.amount;
  assert.equal(typeof amount, 'number', 'decimals print as numbers in the demo (decimal.format=NUMERIC)');

  const second = await runDemo(20);
  assert.equal(second.code, 0, second.stderr);
  assert.ok(second.lines.length > 0);
  assert.ok(second.lines.every((l) => l.value === null || l.value.op !== 'r'), 'no second snapshot');
  const seen = new Set(first.lines.map(identity));
  const repeated = second.lines.map(identity).filter((id) => seen.has(id) && !id.startsWith('tombstone'));
  assert.deepEqual(repeated, [], 'nothing from the first run is emitted again');
  const all = [...first.lines, ...second.lines];
  const deletes = all.filter((l) => l.value?.op === 'd');
  for (const d of deletes) {
    const next = all[all.indexOf(d) + 1];
    assert.equal(next?.value, null, 'a delete is followed by its tombstone');
    assert.deepEqual(next?.key, d.key);
  }
});
