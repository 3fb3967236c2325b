/**
 * `sluice run` end to end against a real (ephemeral) MariaDB, given a Debezium connector config (the JSON posted
 * to Kafka Connect) unchanged plus a Sluice file holding only the sink: stdout, with offsets in a file.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import mysql from 'mysql2/promise';
import { startMariaDb, type MariaDbInstance } from '../support/mariadb.js';

const BIN = new URL('../../bin/sluice.js', import.meta.url).pathname;

let db: MariaDbInstance;
let dir = '';
let conn: mysql.Connection;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sluice-run-maria-'));
  db = await startMariaDb();
  conn = await mysql.createConnection({ host: db.host, port: db.port, user: db.user, password: db.password, database: db.database });
  await conn.query('CREATE TABLE items (id INT PRIMARY KEY, name VARCHAR(20))');
  await conn.query("INSERT INTO items VALUES (1, 'a')");
});

after(async () => {
  await conn?.end().catch(() => undefined);
  await db?.stop();
  await rm(dir, { recursive: true, force: true });
});

interface Line {
  topic: string;
  key: { id: number } | null;
  value: { op: string; after: { id: number; name: string } | null } | null;
}

test('sluice run: a Debezium MariaDB config unchanged, to stdout, one JSON envelope per line', { timeout: 180_000 }, async () => {
  const connector = join(dir, 'inventory-connector.json');
  await writeFile(
    connector,
    JSON.stringify({
      name: 'inventory-connector',
      config: {
        'connector.class': 'io.debezium.connector.mariadb.MariaDbConnector',
        'tasks.max': '1',
        'database.hostname': db.host,
        'database.port': String(db.port),
        'database.user': db.user,
        'database.password': '${MARIADB_PASSWORD}',
        'database.server.id': '223344',
        'topic.prefix': 'dbserver1',
        'database.include.list': db.database,
        'schema.history.internal.kafka.bootstrap.servers': 'kafka:9092',
        'schema.history.internal.kafka.topic': 'schema-changes.inventory',
        'key.converter': 'org.apache.kafka.connect.json.JsonConverter',
        'key.converter.schemas.enable': 'false',
        'value.converter': 'org.apache.kafka.connect.json.JsonConverter',
        'value.converter.schemas.enable': 'false',
        'commit.interval.ms': '50',
      },
    }),
  );
  const sink = join(dir, 'sink.yaml');
  await writeFile(sink, 'sink: {type: stdout}\noffsets: {file: ./offsets.json}\n');

  const child = spawn(process.execPath, [BIN, 'run', connector, sink], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', MARIADB_PASSWORD: db.password },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const parsed = () =>
    out
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as Line);
  const until = async (what: string, check: (ls: Line[]) => boolean) => {
    const start = Date.now();
    while (!check(parsed())) {
      if (child.exitCode !== null) throw new Error(`sluice exited (${child.exitCode}) waiting for ${what}:\n${err}`);
      if (Date.now() - start > 60_000) throw new Error(`timed out waiting for ${what}:\n${err}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    return parsed();
  };

  const rows = (ls: Line[]) => ls.filter((l) => l.topic === `dbserver1.${db.database}.items`);
  await until('the snapshot row', (ls) => rows(ls).length >= 1);
  await conn.query("INSERT INTO items VALUES (2, 'b')");
  const ls = await until('the inserted row', (x) => rows(x).some((l) => l.value?.after?.id === 2));
  child.kill('SIGTERM');
  assert.equal(await exit, 0, err);

  assert.deepEqual(rows(ls).map((l) => [l.key?.id, l.value?.op, l.value?.after?.name]), [
    [1, 'r', 'a'],
    [2, 'c', 'b'],
  ]);
  // the schema-history keys are accepted silently; only unsupported keys would be warned about
  assert.doesNotMatch(err, /not supported by Sluice/);
});
