import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { freePort } from '../support/free-port.js';
import { startKafka } from '../support/kafka-broker.js';

const BIN = new URL('../../bin/sluice.js', import.meta.url).pathname;
const FIXTURES = new URL('../../fixtures/config/', import.meta.url).pathname;

interface Result {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `node bin/sluice.js …` with a clean environment (no inherited KAFKA_BOOTSTRAP_SERVERS...). */
function sluice(args: string[], env: Record<string, string> = {}, timeoutMs = 20_000): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', SLUICE_LOG_LEVEL: 'warn', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`sluice ${args.join(' ')} did not exit within ${timeoutMs} ms\n${stderr}`));
    }, timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

let dir = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sluice-cli-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('help and usage', () => {
  test('--help everywhere exits 0 with the command usage', async () => {
    const cases: [string[], RegExp][] = [
      [['--help'], /^Usage: sluice <command>/],
      [['help', 'offsets'], /^Usage: sluice offsets <config…>/],
      [['run', '--help'], /^Usage: sluice run <config…>/],
      [['validate', '-h'], /^Usage: sluice validate <config…>/],
      [['offsets', '--help'], /^Usage: sluice offsets <config…>/],
      [['demo', '--help'], /Usage: sluice demo|demo/i],
    ];
    const results = await Promise.all(cases.map(([args]) => sluice(args)));
    results.forEach((r, i) => {
      assert.equal(r.code, 0, `${cases[i]![0].join(' ')}: ${r.stderr}`);
      assert.match(r.stdout, cases[i]![1]);
    });
    assert.match(results[2]!.stdout, /Exit codes: 0 all connectors stopped cleanly, 1 a connector failed, 2 bad config or usage/);
  });

  test('usage errors exit 2', async () => {
    const [unknown, missing, badFlag] = await Promise.all([sluice(['frobnicate']), sluice(['run']), sluice(['validate', 'x.yaml', '--nope'])]);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown command "frobnicate"/);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /a config file is required/);
    assert.equal(badFlag.code, 2);
    assert.match(badFlag.stderr, /--nope/);
  });
});

describe('bad configs are refused before anything starts', () => {
  let server: Server;
  let port = 0;
  let connections = 0;
  before(async () => {
    port = await freePort();
    server = createServer((socket) => {
      connections += 1;
      socket.destroy();
    });
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  });
  after(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const config = (extra: string) => `
connectors:
  - name: orders-pg
    config:
      connector.class: postgres
      topic.prefix: shop
      database.hostname: 127.0.0.1
      database.port: ${port}
      database.user: replicator
      database.password: \${DB_PASSWORD}
      database.dbname: inventory
${extra}
sink: { type: file, path: ./out.jsonl }
`;

  test('validate lists every problem of a bad config and exits 2', async () => {
    const r = await sluice(['validate', join(FIXTURES, 'bad.yaml')]);
    assert.equal(r.code, 2);
    const errors = r.stdout.split('\n').filter((l) => l.startsWith('  error: '));
    assert.equal(errors.length, 3, r.stdout);
    assert.match(r.stdout, /connectors\[0\]\.config\.snapshot\.mode: must be one of: initial, initial_only, no_data, never, when_needed, always, recovery/);
    assert.match(r.stdout, /connectors\[0\]\.config\.database\.dbname: is required/);
    assert.match(r.stdout, /sink\.type: must be one of: kafka, stdout, file \(got "kafak"\)/);
  });

  test('run with a bad config exits 2 and never connects to the database', async () => {
    const bad = join(dir, 'bad-run.yaml');
    await writeFile(bad, config('      snapshot.mode: sometimes\n      tombstones.on.delete: perhaps'));
    const r = await sluice(['run', bad], { DB_PASSWORD: 'pw' });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /connectors\[0\]\.config\.snapshot\.mode: must be one of: initial/);
    assert.match(r.stderr, /connectors\[0\]\.config\.tombstones\.on\.delete: must be true or false/);

    const missingVar = await sluice(['run', join(dir, 'bad-run.yaml')]);
    assert.equal(missingVar.code, 2);
    assert.match(missingVar.stderr, /database\.password: environment variable DB_PASSWORD is not set/);
    assert.equal(connections, 0, 'nothing may connect before the config is valid');
  });

  test('a secret from the environment never appears in the output', async () => {
    const bad = join(dir, 'bad-secret.yaml');
    await writeFile(bad, config('      snapshot.mode: sometimes'));
    const r = await sluice(['run', bad, '--log-level', 'trace'], { DB_PASSWORD: 'Sup3r-S3cret' });
    assert.equal(r.code, 2);
    assert.ok(!(r.stdout + r.stderr).includes('Sup3r-S3cret'));
  });

  test('validate --config-only: a good config passes, with the unsupported-property warning', async () => {
    const r = await sluice(['validate', join(FIXTURES, 'debezium-mysql.json'), '--config-only'], { KAFKA_BOOTSTRAP_SERVERS: 'localhost:1' });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /configuration: ok \(1 connector\(s\), sink: kafka\)/);
    assert.match(r.stdout, /warning: .*inventory-connector: transforms, transforms\.unwrap\.type/);
  });

  test('validate reports an unreachable database as a prerequisite problem (exit 3)', async () => {
    const good = join(dir, 'unreachable.yaml');
    const closedPort = await freePort();
    await writeFile(good, config('').replace(`database.port: ${port}`, `database.port: ${closedPort}`));
    const r = await sluice(['validate', good], { DB_PASSWORD: 'pw' });
    assert.equal(r.code, 3, r.stdout + r.stderr);
    assert.match(r.stdout, /orders-pg \(postgresql\): \d+ problem\(s\)/);
    assert.match(r.stdout, /ECONNREFUSED|connect/i);
  });
});

describe('offsets', () => {
  test('show, --set and --reset a connector offset in the file store', async () => {
    const cfg = join(dir, 'offsets.yaml');
    await writeFile(
      cfg,
      `connectors:
  - {name: a, config: {connector.class: mysql, topic.prefix: p, database.hostname: h, database.user: u}}
  - {name: b, config: {connector.class: mysql, topic.prefix: q, database.hostname: h, database.user: u}}
sink: {type: stdout}
offsets: {file: ./state/offsets.json}
`,
    );
    const empty = await sluice(['offsets', cfg]);
    assert.equal(empty.code, 0, empty.stderr);
    assert.deepEqual(JSON.parse(empty.stdout), { a: null, b: null });

    const ambiguous = await sluice(['offsets', cfg, '--set', '{"file":"binlog.000003","pos":"4"}']);
    assert.equal(ambiguous.code, 2);
    assert.match(ambiguous.stderr, /name one with --connector \(a, b\)/);

    const set = await sluice(['offsets', cfg, '--connector', 'a', '--set', '{"file":"binlog.000003","pos":"4"}']);
    assert.equal(set.code, 0, set.stderr);
    assert.deepEqual(JSON.parse(set.stdout), { a: { file: 'binlog.000003', pos: '4' } });
    const stored = JSON.parse(await readFile(join(dir, 'state', 'offsets.json'), 'utf8')) as { connectors: Record<string, { offset: unknown }> };
    assert.deepEqual(stored.connectors.a?.offset, { file: 'binlog.000003', pos: '4' });

    const all = await sluice(['offsets', cfg]);
    assert.deepEqual(JSON.parse(all.stdout), { a: { file: 'binlog.000003', pos: '4' }, b: null });

    const reset = await sluice(['offsets', cfg, '--connector', 'a', '--reset']);
    assert.equal(reset.code, 0);
    assert.deepEqual(JSON.parse(reset.stdout), { a: null });

    const [badJson, unknown, both] = await Promise.all([
      sluice(['offsets', cfg, '--connector', 'a', '--set', '{nope']),
      sluice(['offsets', cfg, '--connector', 'zz']),
      sluice(['offsets', cfg, '--connector', 'a', '--set', '{}', '--reset']),
    ]);
    assert.equal(badJson.code, 2);
    assert.match(badJson.stderr, /--set is not valid JSON/);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /no connector named "zz"/);
    assert.equal(both.code, 2);
  });

  test('show, --set and --reset an offset in the Kafka offsets topic (test broker)', async () => {
    const kafka = await startKafka({ brokers: 1 });
    try {
      const env = { KAFKA_BOOTSTRAP_SERVERS: kafka.bootstrapServers };
      const cfg = join(FIXTURES, 'debezium-postgres.json');
      const empty = await sluice(['offsets', cfg], env);
      assert.equal(empty.code, 0, empty.stderr);
      assert.deepEqual(JSON.parse(empty.stdout), { 'inventory-connector': null });

      const set = await sluice(['offsets', cfg, '--set', '{"lsn":"24023128","txId":"555"}'], env);
      assert.equal(set.code, 0, set.stderr);
      const shown = await sluice(['offsets', cfg], env);
      assert.deepEqual(JSON.parse(shown.stdout), { 'inventory-connector': { lsn: '24023128', txId: '555' } });

      const reset = await sluice(['offsets', cfg, '--reset'], env);
      assert.equal(reset.code, 0, reset.stderr);
      const after = await sluice(['offsets', cfg], env);
      assert.deepEqual(JSON.parse(after.stdout), { 'inventory-connector': null });
    } finally {
      await kafka.stop();
    }
  });
});
