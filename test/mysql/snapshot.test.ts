/**
 * The consistent snapshot: exactly-once hand-over to the binlog under concurrent writes for each locking mode,
 * snapshot markers, and the snapshot modes.
 */
import { after as afterAll, before as beforeAll, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Connection } from 'mysql2/promise';
import { OffsetError, ConfigError } from '../../src/errors.js';
import { startMariaDb, type MariaDbInstance } from '../support/mariadb.js';
import { adminConnection, after, connectorConfig, dataEvents, drive, op, sourceOf, source } from './helpers.js';
import { checkExactlyOnce, createAccounts, finalState, Progress, Writers } from './workload.js';

let db: MariaDbInstance;
let admin: Connection;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** PURGE BINARY LOGS up to the current file; MariaDB keeps files its binlog checkpoint still needs, so retry. */
async function purgeAllButCurrent(): Promise<void> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const [[status]] = (await admin.query('SHOW MASTER STATUS')) as unknown as [[{ File: string }]];
    await admin.query(`PURGE BINARY LOGS TO '${status.File}'`);
    const [logs] = (await admin.query('SHOW BINARY LOGS')) as unknown as [{ Log_name: string }[]];
    if (logs.length === 1) return;
    await sleep(100);
  }
  throw new Error('binary logs could not be purged');
}

beforeAll(async () => {
  db = await startMariaDb();
  admin = await adminConnection(db);
  await admin.query('CREATE DATABASE bank; CREATE DATABASE modes');
});

afterAll(async () => {
  await admin?.end();
  await db?.stop();
});

describe('snapshot → binlog hand-over under concurrent writes', () => {
  for (const mode of ['minimal', 'none', 'extended', 'tables'] as const) {
    const title =
      mode === 'tables' ? 'table locks (MySQL without RELOAD), forced on MariaDB' : `snapshot.locking.mode=${mode}`;
    it(`${title}: every change exactly once`, async () => {
      const table = `bank.acct_${mode}`;
      const topic = `srv.bank.acct_${mode}`;
      await createAccounts(admin, table, 20_000);
      const writers = new Writers(db, table, 20_000).start();
      await sleep(300);
      const config = connectorConfig(db, {
        'table.include.list': table.replace('.', '\\.'),
        'snapshot.locking.mode': mode === 'tables' ? 'minimal' : mode,
        'max.batch.size': 500,
      });
      let expected: Map<string, number> | null = null;
      const progress = new Progress(topic);
      const deps = mode === 'tables' ? { snapshotLockStrategy: 'tables' as const } : {};
      const run = drive(source(config, deps), null, (events) => progress.reached(events, expected), 90_000);
      await sleep(2500);
      await writers.stop();
      expected = await finalState(admin, table);
      const res = await run;
      const checked = checkExactlyOnce(res.events, topic, expected);
      const ops = new Set(dataEvents(res.events, topic).map(op));
      assert.ok(ops.has('r') && ops.has('c') && ops.has('u'), `snapshot and streamed events (${[...ops].join(',')})`);
      assert.ok(writers.transactions > 20, `${writers.transactions} transactions written`);
      assert.ok(checked > 20_000);
    });
  }
});

describe('snapshot markers and modes', () => {
  beforeAll(async () => {
    await admin.query(`CREATE TABLE modes.a (id INT PRIMARY KEY); INSERT INTO modes.a VALUES (1),(2),(3);
      CREATE TABLE modes.b (id INT PRIMARY KEY); CREATE TABLE modes.c (id INT PRIMARY KEY); INSERT INTO modes.c VALUES (1),(2)`);
  });

  const base = () => connectorConfig(db, { 'database.include.list': 'modes' });

  it('marks first, first/last in each table and last, and emits CREATE TABLE schema changes first', async () => {
    const res = await drive(source({ ...base(), 'snapshot.mode': 'initial_only' }), null, () => false);
    const data = dataEvents(res.events);
    assert.deepEqual(
      data.map((e) => [e.topic, after(e).id, sourceOf(e).snapshot]),
      [
        ['srv.modes.a', 1, 'first'],
        ['srv.modes.a', 2, 'true'],
        ['srv.modes.a', 3, 'last_in_data_collection'],
        ['srv.modes.c', 1, 'first_in_data_collection'],
        ['srv.modes.c', 2, 'last'],
      ],
    );
    const schema = res.events.filter((e) => e.topic === 'srv');
    assert.equal(schema.length, 3);
    assert.ok(res.events.indexOf(schema[2]!) < res.events.indexOf(data[0]!), 'schema changes come first');
    assert.match(String(schema[0]!.value?.ddl), /^CREATE TABLE `a`/);
    const last = res.batches[res.batches.length - 1]!;
    assert.equal(last.acknowledgeable, true);
    assert.equal(last.offset.snapshot, undefined, 'the final offset is a plain streaming position');
  });

  it('initial_only ends the stream after the snapshot', async () => {
    const res = await drive(source({ ...base(), 'snapshot.mode': 'initial_only' }), null, () => false, 20_000);
    assert.equal(dataEvents(res.events).length, 5);
  });

  it('no_data (and legacy never/schema_only) captures the schema and streams from now', async () => {
    for (const mode of ['no_data', 'schema_only', 'never'] as const) {
      const run = drive(source({ ...base(), 'snapshot.mode': mode }), null, (ev) => dataEvents(ev).length >= 1);
      await sleep(500);
      await admin.query('INSERT INTO modes.b VALUES (?)', [Math.floor(Math.random() * 1e9)]);
      const res = await run;
      const data = dataEvents(res.events);
      assert.equal(data.length, 1, mode);
      assert.equal(op(data[0]!), 'c');
      assert.equal(res.events.filter((e) => e.topic === 'srv').length, 3, `${mode}: schema changes of the three tables`);
    }
  });

  it('always takes a new snapshot even with a stored offset', async () => {
    const first = await drive(source({ ...base(), 'snapshot.mode': 'initial_only' }), null, () => false);
    const again = await drive(source({ ...base(), 'snapshot.mode': 'always' }), first.offset, (ev) => dataEvents(ev).some((e) => sourceOf(e).snapshot === 'last'));
    assert.ok(dataEvents(again.events).filter((e) => op(e) === 'r').length >= 5);
  });

  it('recovery needs a stored offset, and with one streams from it after rebuilding the schema', async () => {
    await assert.rejects(drive(source({ ...base(), 'snapshot.mode': 'recovery' }), null, () => false), ConfigError);
    const first = await drive(source({ ...base(), 'snapshot.mode': 'initial_only' }), null, () => false);
    await admin.query('INSERT INTO modes.c VALUES (100)');
    const res = await drive(source({ ...base(), 'snapshot.mode': 'recovery' }), first.offset, (ev) => dataEvents(ev).length >= 1);
    assert.deepEqual(dataEvents(res.events).map((e) => [op(e), after(e).id]), [['c', 100]]);
  });

  it('a purged stored position fails naming snapshot.mode=when_needed, which takes a new snapshot', async () => {
    const first = await drive(source({ ...base(), 'snapshot.mode': 'initial_only' }), null, () => false);
    await admin.query('FLUSH BINARY LOGS');
    await admin.query('INSERT INTO modes.c VALUES (200)');
    await admin.query('FLUSH BINARY LOGS');
    await purgeAllButCurrent();
    await assert.rejects(
      drive(source(base()), first.offset, () => false),
      (err: Error) => err instanceof OffsetError && /no longer on the server/.test(err.message) && /snapshot\.mode=when_needed/.test(err.message),
    );
    const res = await drive(source({ ...base(), 'snapshot.mode': 'when_needed' }), first.offset, (ev) =>
      dataEvents(ev).some((e) => sourceOf(e).snapshot === 'last'),
    );
    assert.ok(dataEvents(res.events).some((e) => op(e) === 'r' && after(e).id === 200));
  });

  it('sends heartbeats while idle, running heartbeat.action.query, and the offset follows the binlog', async () => {
    await admin.query('CREATE TABLE modes.sluice_hb (id INT PRIMARY KEY AUTO_INCREMENT, at TIMESTAMP DEFAULT CURRENT_TIMESTAMP)');
    const config = connectorConfig(db, {
      'database.include.list': 'modes',
      'snapshot.mode': 'no_data',
      'table.include.list': 'modes\\.a',
      'heartbeat.interval.ms': 200,
      'heartbeat.action.query': 'INSERT INTO modes.sluice_hb () VALUES ()',
    });
    const res = await drive(source(config), null, (ev) => ev.filter((e) => e.topic === '__debezium-heartbeat.srv').length >= 4, 15_000);
    const beats = res.events.filter((e) => e.topic === '__debezium-heartbeat.srv');
    assert.deepEqual(beats[0]!.key, { serverName: 'srv' });
    assert.equal(typeof beats[0]!.value?.ts_ms, 'bigint');
    const positions = new Set(res.batches.map((b) => String(b.offset.pos)));
    assert.ok(positions.size >= 2, 'the offset advanced past the heartbeat writes');
    const [[{ n }]] = (await admin.query('SELECT COUNT(*) AS n FROM modes.sluice_hb')) as unknown as [[{ n: string }]];
    assert.ok(Number(n) >= 3);
  });

  it('stop() during a snapshot ends the stream promptly', async () => {
    await createAccounts(admin, 'modes.many', 30_000);
    const src = source(connectorConfig(db, { 'table.include.list': 'modes\\.many', 'max.batch.size': 100 }));
    const iterator = src.stream(null)[Symbol.asyncIterator]();
    await iterator.next();
    await iterator.next();
    const t0 = Date.now();
    await src.stop();
    for (let step = await iterator.next(); !step.done; step = await iterator.next()) {
      /* drain what was already produced */
    }
    assert.ok(Date.now() - t0 < 3000, `stopped after ${Date.now() - t0} ms`);
  });
});
