/**
 * Zombie fencing at the engine level: instance A of a connector streams (a child process, `sluice run`); instance B
 * starts with the same config. B's `initTransactions` (same `transactional.id`) fences A: A's next transaction
 * fails, A stops with the reason on stderr and exits 1, and B carries on from the last offset A committed. A
 * `read_committed` reader sees every change exactly once; what A had in flight is aborted.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { startKafka, type KafkaInstance } from '../support/kafka-broker.js';
import { startMariaDb, type MariaDbInstance } from '../support/mariadb.js';
import { startPostgres, type PostgresInstance } from '../support/postgres.js';
import {
  checkExactlyOnce,
  jsonDecoder,
  killAllSluice,
  mysqlWorkloadDb,
  postgresWorkloadDb,
  readAll,
  sleep,
  startSluice,
  Workload,
  type SluiceProcess,
  type WorkloadDb,
} from './support.js';

const INITIAL_ROWS = 200;

let kafka: KafkaInstance;
let pgi: PostgresInstance;
let client: pg.Client;
let maria: MariaDbInstance;
let conn: mysql.Connection;
let dir = '';

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sluice-zombie-'));
  [kafka, pgi, maria] = await Promise.all([startKafka({ brokers: 3 }), startPostgres({ flavor: 'embedded' }), startMariaDb()]);
  client = new pg.Client({ connectionString: pgi.url });
  await client.connect();
  conn = await mysql.createConnection({ host: maria.host, port: maria.port, user: maria.user, password: maria.password, database: maria.database });
});

after(async () => {
  await killAllSluice();
  await client?.end().catch(() => undefined);
  await conn?.end().catch(() => undefined);
  await pgi?.stop();
  await maria?.stop();
  await kafka?.stop();
  await rm(dir, { recursive: true, force: true });
});

async function committedOffset(connector: string): Promise<Record<string, unknown> | null> {
  let last: Record<string, unknown> | null = null;
  for (const r of await readAll(kafka.bootstrapServers, 'sluice-offsets').catch(() => [])) {
    if (r.key && (JSON.parse(r.key.toString()) as unknown[])[0] === connector) {
      last = r.value === null ? null : (JSON.parse(r.value.toString()) as Record<string, unknown>);
    }
  }
  return last;
}

/**
 * A streams; B starts. With `idle`, the generator pauses while B starts, so A has nothing to commit (its next
 * transaction — and so its fencing error — comes with the next change or the source's heartbeat).
 */
async function fencing(database: 'postgres' | 'mariadb', idle: boolean): Promise<void> {
  const name = `${database === 'postgres' ? 'pg' : 'maria'}_${idle ? 'idle' : 'busy'}`;
  const table = `items_${name}`;
  const connector = `zombie-${name}`;
  let topic: string;
  let db: WorkloadDb;
  let source: string;
  if (database === 'postgres') {
    await client.query(`CREATE TABLE public.${table} (id BIGINT PRIMARY KEY, ver INT NOT NULL, val VARCHAR(40))`);
    await client.query(`ALTER TABLE public.${table} REPLICA IDENTITY FULL`);
    topic = `zombie.public.${table}`;
    db = postgresWorkloadDb(client);
    source = `      connector.class: io.debezium.connector.postgresql.PostgresConnector
      database.hostname: ${pgi.host}
      database.port: ${pgi.port}
      database.user: ${pgi.user}
      database.password: ${pgi.password}
      database.dbname: ${pgi.database}
      table.include.list: public.${table}
      slot.name: sluice_${name}
      publication.name: sluice_${name}
`;
  } else {
    await conn.query(`CREATE TABLE ${table} (id BIGINT PRIMARY KEY, ver INT NOT NULL, val VARCHAR(40))`);
    topic = `zombie.${maria.database}.${table}`;
    db = mysqlWorkloadDb(conn);
    source = `      connector.class: io.debezium.connector.mariadb.MariaDbConnector
      database.hostname: ${maria.host}
      database.port: ${maria.port}
      database.user: ${maria.user}
      database.password: ${maria.password}
      database.server.id: ${idle ? 7101 : 7102}
      database.include.list: ${maria.database}
      table.include.list: ${maria.database}.${table}
`;
  }
  const config = join(dir, `${name}.yaml`);
  await writeFile(
    config,
    `connectors:
  - name: ${connector}
    config:
${source}      topic.prefix: zombie
      key.converter.schemas.enable: false
      value.converter.schemas.enable: false
      commit.interval.ms: 100
      retriable.restart.connector.wait.ms: 300
      errors.max.retries: 10
sink:
  type: kafka
  bootstrap.servers: ${kafka.bootstrapServers}
  topic.creation.default.partitions: 3
`,
  );
  const workload = new Workload(db, { table, initialRows: INITIAL_ROWS });
  await workload.seed();

  // the generator, at ~300 changes/s; deletes and key changes once the snapshot is committed
  let generating = true;
  let paused = false;
  let failure: unknown = null;
  const generator = (async () => {
    let base = Date.now();
    let counted = 0;
    while (generating) {
      if (paused) {
        await sleep(20);
        base = Date.now();
        counted = workload.stats.changes;
        continue;
      }
      await workload.transaction();
      const due = base + ((workload.stats.changes - counted) / 300) * 1000;
      if (due > Date.now()) await sleep(due - Date.now());
    }
  })().catch((err: unknown) => {
    failure = err;
  });

  const a: SluiceProcess = startSluice(config);
  await a.waitForLog('A to stream', (l) => l.msg === 'connector running', 30_000);
  for (const deadline = Date.now() + 30_000; ; ) {
    const o = await committedOffset(connector);
    if (o !== null && !o['snapshot']) break;
    assert.ok(Date.now() < deadline, `A committed its snapshot:\n${a.stderr().slice(-3000)}`);
    await sleep(200);
  }
  workload.destructive = true;
  await sleep(2000);
  if (idle) {
    paused = true;
    await sleep(1000); // A commits what it has, then has nothing in flight
  }


  // B: same connector, same transactional.id
  const bStarted = Date.now();
  const b: SluiceProcess = startSluice(config);
  await b.waitForLog('B to resume', (l) => l.msg === 'resuming from the stored offset', 30_000);
  const bResumedMs = Date.now() - bStarted;
  if (idle) {
    // B has fenced A; A learns it at its next transaction: the changes resume
    await sleep(500);
    paused = false;
  }
  const aExit = await Promise.race([a.exit, sleep(15_000).then(() => null)]);
  const why = () => `\n--- A:\n${a.stderr().slice(-2500)}\n--- B:\n${b.stderr().slice(-2500)}`;
  assert.ok(aExit !== null, `A stopped after B started${why()}`);
  const aStoppedMs = Date.now() - bStarted;
  assert.equal(aExit.code, 1, `A exits 1 (a connector failed)${why()}`);
  const aFailure = a.logs().find((l) => l.msg?.startsWith('connector failed'));
  assert.ok(aFailure, `A logs why it stopped${why()}`);
  assert.match(aFailure.msg!, /FencedError: .*fenced — another instance of the connector started with the same transactional\.id/);
  assert.ok(!a.logs().some((l) => l.msg === 'resuming from the stored offset' && l['attempt'] !== 0), `A never restarted (a restart would fence B)${why()}`);
  assert.equal(b.child.exitCode, null, `B is still running${why()}`);

  // B goes on streaming while the generator runs a little longer
  await sleep(3000);
  generating = false;
  await generator;
  if (failure) throw failure;
  const lastChange = workload.committed.at(-1)!.at(-1)!;
  for (const deadline = Date.now() + 60_000; ; ) {
    assert.equal(b.child.exitCode, null, `B is still running:\n${b.stderr().slice(-3000)}`);
    const records = await jsonDecoder(await readAll(kafka.bootstrapServers, topic));
    if (records.some((r) => String(r.key?.['id']) === String(lastChange.id) && Number((r.value?.after ?? r.value?.before)?.['ver']) === lastChange.ver)) break;
    assert.ok(Date.now() < deadline, `B delivered the last change:\n${b.stderr().slice(-3000)}`);
    await sleep(500);
  }
  await sleep(1000);
  b.child.kill('SIGTERM');
  const bExit = await b.exit;
  assert.equal(bExit.code, 0, `B stops cleanly:\n${b.stderr().slice(-3000)}`);

  const committed = await readAll(kafka.bootstrapServers, topic);
  const uncommitted = await readAll(kafka.bootstrapServers, topic, { isolation: 'read_uncommitted' });
  const result = checkExactlyOnce({ records: await jsonDecoder(committed), workload, initialRows: INITIAL_ROWS, final: await workload.select() });
  const bRestarts = b.logs().filter((l) => l.msg?.startsWith('retriable failure; restarting'));
  console.log(
    `[${name}] ${result.changes} row changes on ${INITIAL_ROWS} snapshot rows; read_committed ${committed.length} records, exactly once; ` +
      `read_uncommitted ${uncommitted.length} (${uncommitted.length - committed.length} aborted)\n` +
      `[${name}] B resumed ${bResumedMs} ms and A exited ${aExit.code} ${aStoppedMs} ms after B started: ${aFailure.msg}\n` +
      `[${name}] B restarted itself ${bRestarts.length} time(s)${bRestarts.length ? `: ${bRestarts.map((l) => String(l['reason'])).join(' | ')}` : ''}`,
  );
}

// The idle variants: an instance that has been fenced but has not noticed yet (it had nothing to commit) still holds
// the database side of the stream. Postgres: B finds the replication slot active and retries (a retriable failure)
// until A, fenced at its next heartbeat commit, lets go. MariaDB: B's binlog connection (same server id) drops A's;
// A restarts keeping its Kafka producer, whose ownership check (Sink.reopen) fails fenced, so A stops instead of
// fencing B in turn.
for (const database of ['postgres', 'mariadb'] as const) {
  test(`${database}: a second instance of a connector fences the first, which stops; nothing is lost or repeated`, { timeout: 120_000 }, async () => {
    await fencing(database, false);
  });

  test(`${database}: the same when the first instance is idle as the second starts`, { timeout: 120_000 }, async () => {
    await fencing(database, true);
  });
}
