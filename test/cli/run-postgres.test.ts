/**
 * `sluice run` end to end against a real (ephemeral) Postgres: file sink, SIGTERM, offsets, resume.
 * The CLI runs as a child process exactly as a user starts it.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import pg from 'pg';
import { startPostgres, type PostgresInstance } from '../support/postgres.js';

const BIN = new URL('../../bin/sluice.js', import.meta.url).pathname;

let pgi: PostgresInstance;
let dir = '';
let client: pg.Client;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sluice-run-pg-'));
  pgi = await startPostgres({ flavor: 'embedded' });
  client = new pg.Client({ connectionString: pgi.url });
  await client.connect();
  await client.query('CREATE TABLE public.orders (id int PRIMARY KEY, note text)');
  await client.query("INSERT INTO public.orders VALUES (1, 'one'), (2, 'two')");
});

after(async () => {
  await client?.end().catch(() => undefined);
  await pgi?.stop();
  await rm(dir, { recursive: true, force: true });
});

interface Line {
  topic: string;
  key: { id: number } | null;
  value: { op: string; before: { id: number; note: string } | null; after: { id: number; note: string } | null } | null;
}

async function lines(): Promise<Line[]> {
  try {
    return (await readFile(join(dir, 'changes.jsonl'), 'utf8'))
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as Line);
  } catch {
    return [];
  }
}

async function until(what: string, check: (ls: Line[]) => boolean, child: ChildProcess, stderr: () => string, timeoutMs = 60_000): Promise<Line[]> {
  const start = Date.now();
  for (;;) {
    const ls = await lines();
    if (check(ls)) return ls;
    if (child.exitCode !== null) throw new Error(`sluice exited (${child.exitCode}) while waiting for ${what}:\n${stderr()}`);
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}:\n${stderr()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function start(config: string): { child: ChildProcess; stderr: () => string; exit: Promise<number | null> } {
  const child = spawn(process.execPath, [BIN, 'run', config], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', PGPASSWORD_FOR_TEST: pgi.password },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  child.stdout!.resume();
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, stderr: () => err, exit };
}

function runCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', PGPASSWORD_FOR_TEST: pgi.password },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

test('sluice run: snapshot and stream to a file, stop on SIGTERM, resume from the stored offset', { timeout: 180_000 }, async () => {
  const config = join(dir, 'sluice.yaml');
  await writeFile(
    config,
    `connectors:
  - name: orders-pg
    config:
      connector.class: io.debezium.connector.postgresql.PostgresConnector
      topic.prefix: shop
      database:
        hostname: ${pgi.host}
        port: ${pgi.port}
        user: ${pgi.user}
        password: \${PGPASSWORD_FOR_TEST}
        dbname: ${pgi.database}
      table.include.list: public.orders
      slot.name: sluice_cli_test
      publication.name: sluice_cli_test
      commit.interval.ms: 50
      key.converter.schemas.enable: false
      value.converter.schemas.enable: false
sink:
  type: file
  path: ./changes.jsonl
`,
  );

  const check = await runCli(['validate', config]);
  assert.equal(check.code, 0, check.stdout + check.stderr);
  assert.match(check.stdout, /orders-pg \(postgresql\): ok/);

  // first run: snapshot, then live changes
  const first = start(config);
  const snap = await until('the snapshot', (ls) => ls.length >= 2, first.child, first.stderr);
  assert.deepEqual(snap.slice(0, 2).map((l) => [l.topic, l.value?.op, l.value?.after?.id]), [
    ['shop.public.orders', 'r', 1],
    ['shop.public.orders', 'r', 2],
  ]);
  await client.query("INSERT INTO public.orders VALUES (3, 'three')");
  await client.query("UPDATE public.orders SET note = 'uno' WHERE id = 1");
  await client.query('DELETE FROM public.orders WHERE id = 2');
  const streamed = await until('the streamed changes', (ls) => ls.length >= 6, first.child, first.stderr);
  assert.deepEqual(streamed.slice(2, 6).map((l) => [l.value?.op ?? 'tombstone', l.key?.id]), [
    ['c', 3],
    ['u', 1],
    ['d', 2],
    ['tombstone', 2],
  ]);
  first.child.kill('SIGTERM');
  assert.equal(await first.exit, 0, first.stderr());

  const offsets = await runCli(['offsets', config]);
  assert.equal(offsets.code, 0, offsets.stderr);
  const stored = JSON.parse(offsets.stdout) as Record<string, unknown>;
  assert.notEqual(stored['orders-pg'], null, 'an offset was stored');

  // a change while Sluice is down, then a second run resumes without a new snapshot and without repeats
  await client.query("INSERT INTO public.orders VALUES (4, 'four')");
  const second = start(config);
  const resumed = await until('the change made while stopped', (ls) => ls.some((l) => l.value?.after?.id === 4), second.child, second.stderr);
  await client.query("INSERT INTO public.orders VALUES (5, 'five')");
  const all = await until('a change after the restart', (ls) => ls.some((l) => l.value?.after?.id === 5), second.child, second.stderr);
  second.child.kill('SIGTERM');
  assert.equal(await second.exit, 0, second.stderr());
  assert.ok(resumed.length >= 7);
  assert.equal(all.filter((l) => l.value?.op === 'r').length, 2, 'no second snapshot');
  assert.deepEqual(all.slice(6).map((l) => [l.value?.op, l.value?.after?.id]), [
    ['c', 4],
    ['c', 5],
  ]);
});
