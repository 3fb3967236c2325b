/**
 * Failure messages, and nothing lost: `sluice run` (a child process, Kafka sink) against a database or a broker
 * that cannot be reached — a closed port — says clearly what it cannot reach and keeps retrying; once the port
 * leads to the real service (a forwarder starts listening on it), it gets going, and every change arrives exactly
 * once. The database case also loses its connections in the middle of the stream (the forwarder closes), and the
 * broker case loses every broker for a few seconds.
 *
 * (A bad config exits 2 before touching anything: test/cli covers that.)
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { freePort } from '../support/free-port.js';
import { startKafka, type KafkaInstance } from '../support/kafka-broker.js';
import { startMariaDb, type MariaDbInstance } from '../support/mariadb.js';
import { startPostgres, type PostgresInstance } from '../support/postgres.js';
import {
  checkExactlyOnce,
  jsonDecoder,
  killAllSluice,
  mysqlWorkloadDb,
  PortForward,
  postgresWorkloadDb,
  readAll,
  sleep,
  startSluice,
  Workload,
  type LogLine,
  type SluiceProcess,
  type WorkloadDb,
} from './support.js';

const HOST = '127.0.0.1';
const INITIAL_ROWS = 100;

let kafka: KafkaInstance;
let pgi: PostgresInstance;
let client: pg.Client;
let maria: MariaDbInstance;
let conn: mysql.Connection;
let dir = '';
const forwards: PortForward[] = [];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sluice-failures-'));
  [kafka, pgi, maria] = await Promise.all([startKafka({ brokers: 3 }), startPostgres({ flavor: 'embedded' }), startMariaDb()]);
  client = new pg.Client({ connectionString: pgi.url });
  await client.connect();
  conn = await mysql.createConnection({ host: maria.host, port: maria.port, user: maria.user, password: maria.password, database: maria.database });
});

after(async () => {
  await killAllSluice();
  for (const f of forwards) await f.close();
  await client?.end().catch(() => undefined);
  await conn?.end().catch(() => undefined);
  await pgi?.stop();
  await maria?.stop();
  await kafka?.stop();
  await rm(dir, { recursive: true, force: true });
});

const restartLines = (p: SluiceProcess): LogLine[] => p.logs().filter((l) => typeof l.msg === 'string' && l.msg.startsWith('retriable failure; restarting'));

/** A generator in the background (~200 changes/s) until stop(). */
function generate(workload: Workload): { stop(): Promise<void> } {
  let running = true;
  const done = (async () => {
    const start = Date.now();
    const base = workload.stats.changes;
    while (running) {
      await workload.transaction();
      const due = start + ((workload.stats.changes - base) / 200) * 1000;
      if (due > Date.now()) await sleep(due - Date.now());
    }
  })();
  return {
    async stop() {
      running = false;
      await done;
    },
  };
}

/** Waits until a read_committed reader has the last change the generator committed; then SIGTERM, exit 0. */
async function finish(p: SluiceProcess, topic: string, workload: Workload): Promise<void> {
  const lastChange = workload.committed.at(-1)!.at(-1)!;
  for (const deadline = Date.now() + 60_000; ; ) {
    assert.equal(p.child.exitCode, null, `sluice is still running:\n${p.stderr().slice(-3000)}`);
    const records = await jsonDecoder(await readAll(kafka.bootstrapServers, topic));
    if (records.some((r) => String(r.key?.['id']) === String(lastChange.id) && Number((r.value?.after ?? r.value?.before)?.['ver']) === lastChange.ver)) break;
    assert.ok(Date.now() < deadline, `the last change arrived:\n${p.stderr().slice(-3000)}`);
    await sleep(500);
  }
  await sleep(1000);
  p.child.kill('SIGTERM');
  assert.equal((await p.exit).code, 0, `sluice stops cleanly:\n${p.stderr().slice(-3000)}`);
}

function sinkYaml(bootstrap: string): string {
  return `sink:
  type: kafka
  bootstrap.servers: ${bootstrap}
  topic.creation.default.partitions: 3
`;
}

const engineKnobs = `      key.converter.schemas.enable: false
      value.converter.schemas.enable: false
      commit.interval.ms: 100
      retriable.restart.connector.wait.ms: 300
      restart.backoff.max.ms: 1500
`;

interface Db {
  readonly name: 'postgres' | 'mariadb';
  readonly target: { host: string; port: number };
  readonly db: WorkloadDb;
  /** what the source logs once it streams */
  readonly streaming: string;
  createTable(table: string): Promise<void>;
  /** the connector's config, reaching the database at host:port */
  connector(table: string, port: number): string;
  topic(table: string): string;
}

function postgresDb(): Db {
  return {
    name: 'postgres',
    target: { host: pgi.host, port: pgi.port },
    db: postgresWorkloadDb(client),
    streaming: 'streaming from the replication slot',
    async createTable(table) {
      await client.query(`CREATE TABLE public.${table} (id BIGINT PRIMARY KEY, ver INT NOT NULL, val VARCHAR(40))`);
      await client.query(`ALTER TABLE public.${table} REPLICA IDENTITY FULL`);
    },
    connector: (table, port) => `      connector.class: io.debezium.connector.postgresql.PostgresConnector
      database.hostname: ${HOST}
      database.port: ${port}
      database.user: ${pgi.user}
      database.password: ${pgi.password}
      database.dbname: ${pgi.database}
      table.include.list: public.${table}
      slot.name: sluice_${table}
      publication.name: sluice_${table}
`,
    topic: (table) => `failures.public.${table}`,
  };
}

function mariaDb(): Db {
  return {
    name: 'mariadb',
    target: { host: maria.host, port: maria.port },
    db: mysqlWorkloadDb(conn),
    streaming: 'streaming the binlog',
    async createTable(table) {
      await conn.query(`CREATE TABLE ${table} (id BIGINT PRIMARY KEY, ver INT NOT NULL, val VARCHAR(40))`);
    },
    connector: (table, port) => `      connector.class: io.debezium.connector.mariadb.MariaDbConnector
      database.hostname: ${HOST}
      database.port: ${port}
      database.user: ${maria.user}
      database.password: ${maria.password}
      database.server.id: 6601
      database.include.list: ${maria.database}
      table.include.list: ${maria.database}.${table}
`,
    topic: (table) => `failures.${maria.database}.${table}`,
  };
}

async function unreachableDatabase(d: Db): Promise<void> {
  const table = `items_${d.name === 'postgres' ? 'pg' : 'maria'}_down`;
  await d.createTable(table);
  const workload = new Workload(d.db, { table, initialRows: INITIAL_ROWS });
  await workload.seed();
  workload.destructive = true; // the snapshot is taken before the generator starts (below)
  const port = await freePort(HOST);
  const forward = new PortForward(HOST, port);
  forwards.push(forward);
  const config = join(dir, `${table}.yaml`);
  await writeFile(config, `connectors:\n  - name: ${table.replace(/_/g, '-')}\n    config:\n${d.connector(table, port)}      topic.prefix: failures\n${engineKnobs}${sinkYaml(kafka.bootstrapServers)}`);

  // 1. nothing listens on the port: a clear message naming it, then retries (the process stays up)
  const p = startSluice(config);
  await p.waitForLog('a restart after the refused connection', (l) => l.msg?.startsWith('retriable failure; restarting') === true, 30_000);
  await sleep(1500);
  const refused = restartLines(p);
  assert.ok(refused.length >= 2, `keeps retrying: ${refused.length} restart(s)`);
  const reason = String(refused[0]!['reason']);
  assert.match(reason, new RegExp(`${HOST.replace(/\./g, '\\.')}:${port}`), `the reason names the address: ${reason}`);
  assert.match(reason, /ECONNREFUSED|refused/i, `the reason says the connection was refused: ${reason}`);
  assert.equal(p.child.exitCode, null, 'sluice keeps running while the database is unreachable');
  console.log(`[${d.name}] database unreachable at start: ${refused.length} restarts so far; reason: ${reason}`);

  // 2. the port leads to the database: the snapshot, then the stream
  await forward.open(d.target);
  await p.waitForLog('the stream', (l) => l.msg === d.streaming, 30_000);
  const gen = generate(workload);
  await sleep(2500);

  // 3. the connections drop in the middle of the stream, the database stays away for 2 s, changes go on
  const restartsBefore = restartLines(p).length;
  await forward.close();
  await sleep(2000);
  const lost = restartLines(p).slice(restartsBefore);
  assert.ok(lost.length >= 1, `a restart after the lost connection:\n${p.stderr().slice(-3000)}`);
  const lostReason = lost.map((l) => String(l['reason'])).join(' | ');
  assert.match(lostReason, new RegExp(`${HOST.replace(/\./g, '\\.')}:${port}|connection`, 'i'), `the reason says what was lost: ${lostReason}`);
  console.log(`[${d.name}] connection lost mid-stream: ${lost.length} restart(s); reasons: ${lostReason.slice(0, 600)}`);
  await forward.open(d.target);
  await sleep(2500);
  await gen.stop();
  await finish(p, d.topic(table), workload);

  const records = await readAll(kafka.bootstrapServers, d.topic(table));
  const result = checkExactlyOnce({ records: await jsonDecoder(records), workload, initialRows: INITIAL_ROWS, final: await workload.select() });
  console.log(`[${d.name}] ${result.changes} row changes + ${INITIAL_ROWS} snapshot rows: ${result.records} records, each exactly once; ${restartLines(p).length} restarts in all`);
}

test('postgres unreachable (closed port), then lost mid-stream: clear messages, retries, nothing lost', { timeout: 120_000 }, async () => {
  await unreachableDatabase(postgresDb());
});

test('mariadb unreachable (closed port), then lost mid-stream: clear messages, retries, nothing lost', { timeout: 120_000 }, async () => {
  await unreachableDatabase(mariaDb());
});

test('broker unreachable (closed port), then every broker down for a while: clear messages, retries, nothing lost', { timeout: 120_000 }, async (t) => {
  if (kafka.external) return t.skip('needs the local Kafka test broker (fault injection)');
  const d = postgresDb();
  const table = 'items_kafka_down';
  await d.createTable(table);
  const workload = new Workload(d.db, { table, initialRows: INITIAL_ROWS });
  await workload.seed();
  workload.destructive = true;
  const port = await freePort(HOST);
  const forward = new PortForward(HOST, port);
  forwards.push(forward);
  const [first] = kafka.bootstrapServers.split(',');
  const [brokerHost, brokerPort] = first!.split(':');
  const config = join(dir, `${table}.yaml`);
  await writeFile(config, `connectors:\n  - name: kafka-down\n    config:\n${d.connector(table, pgi.port)}      topic.prefix: failures\n${engineKnobs}${sinkYaml(`${HOST}:${port}`)}`);

  // 1. nothing listens on bootstrap.servers
  const p = startSluice(config);
  await p.waitForLog('a restart after the unreachable broker', (l) => l.msg?.startsWith('retriable failure; restarting') === true, 60_000);
  const firstFailure = restartLines(p)[0]!;
  const reason = String(firstFailure['reason']);
  assert.match(reason, new RegExp(`${HOST.replace(/\./g, '\\.')}:${port}|bootstrap\\.servers`), `the reason names the address or what to check: ${reason}`);
  assert.equal(p.child.exitCode, null, 'sluice keeps running while the broker is unreachable');
  console.log(`[kafka] broker unreachable at start: first restart ${Number(firstFailure['time']) - p.startedAt} ms after the start; reason: ${reason}`);

  // 2. the port leads to the cluster: snapshot and stream; then every broker goes down for 4 s
  await forward.open({ host: brokerHost!, port: Number(brokerPort) });
  await p.waitForLog('the stream', (l) => l.msg === d.streaming, 60_000);
  const gen = generate(workload);
  await sleep(2500);
  for (const b of kafka.brokerIds) await kafka.brokerDown(b);
  await sleep(4000);
  for (const b of kafka.brokerIds) await kafka.brokerUp(b);
  await sleep(2500);
  await gen.stop();
  await finish(p, d.topic(table), workload);

  const warnings = p.logs().filter((l) => l.msg === 'kafka producer error');
  const records = await readAll(kafka.bootstrapServers, d.topic(table));
  const result = checkExactlyOnce({ records: await jsonDecoder(records), workload, initialRows: INITIAL_ROWS, final: await workload.select() });
  console.log(
    `[kafka] every broker down 4 s: ${restartLines(p).length} restarts in all, ${warnings.length} producer warnings ` +
      `(e.g. ${String(warnings[0]?.['err'] ?? '-')}); ${result.changes} row changes + ${INITIAL_ROWS} snapshot rows: ${result.records} records, each exactly once`,
  );
});
