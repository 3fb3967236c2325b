/**
 * Restarts from every kind of position, driving the Source as the engine does: iterate batches, keep the events and
 * the offset of each, stop at a chosen point, start a new Source from the last offset. Concurrent writers keep
 * writing throughout; the combined events must hold every change exactly once.
 */
import { after as afterAll, before as beforeAll, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Connection } from 'mysql2/promise';
import type { ChangeEvent, SourceOffset } from '../../src/events/change-event.js';
import { startMariaDb, type MariaDbInstance } from '../support/mariadb.js';
import { adminConnection, after, connectorConfig, dataEvents, drive, op, source } from './helpers.js';
import { checkExactlyOnce, createAccounts, finalState, Progress, Writers } from './workload.js';

let db: MariaDbInstance;
let admin: Connection;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  db = await startMariaDb();
  admin = await adminConnection(db);
});

afterAll(async () => {
  await admin?.end();
  await db?.stop();
});

function afterBatches(n: number) {
  let count = 0;
  return () => ++count >= n;
}

describe('restart during the snapshot', () => {
  it('resumes inside a table (keyset) and table by table, with every change exactly once', async () => {
    await admin.query('CREATE DATABASE r1');
    await createAccounts(admin, 'r1.big', 30_000);
    await createAccounts(admin, 'r1.small', 5_000);
    await admin.query('CREATE TABLE r1.strk (k VARCHAR(20) PRIMARY KEY, v INT)');
    await admin.query(`INSERT INTO r1.strk VALUES ${Array.from({ length: 500 }, (_, i) => `('k${i}', ${i})`).join(',')}`);
    const writers = [new Writers(db, 'r1.big', 30_000, 2).start(), new Writers(db, 'r1.small', 5_000, 1).start()];
    const config = connectorConfig(db, { 'database.include.list': 'r1', 'max.batch.size': 1000 });

    const events: ChangeEvent[] = [];
    const run1 = await drive(source(config), null, afterBatches(8));
    events.push(...run1.events);
    const snap1 = run1.offset?.snapshot as { current: { table: string; key: unknown[] } | null } | undefined;
    assert.equal(snap1?.current?.table, 'r1.big', 'stopped inside the first table');
    assert.ok(snap1?.current?.key, 'with the last delivered key');

    const run2 = await drive(source(config), run1.offset, afterBatches(30));
    events.push(...run2.events);
    assert.ok(
      run2.batches.some((b) => (b.offset.snapshot as { epochs: unknown[] } | undefined)?.epochs.length === 2),
      'the resumed snapshot took a second consistent read',
    );

    await sleep(500);
    await Promise.all(writers.map((w) => w.stop()));
    const expectedBig = await finalState(admin, 'r1.big');
    const expectedSmall = await finalState(admin, 'r1.small');
    const big = new Progress('srv.r1.big');
    const small = new Progress('srv.r1.small');
    const all = [...events];
    const run3 = await drive(source(config), run2.offset, (ev) => {
      const combined = [...all, ...ev];
      return big.reached(combined, expectedBig) && small.reached(combined, expectedSmall);
    }, 60_000);
    events.push(...run3.events);

    checkExactlyOnce(events, 'srv.r1.big', expectedBig);
    checkExactlyOnce(events, 'srv.r1.small', expectedSmall);
    const strk = dataEvents(events, 'srv.r1.strk');
    assert.equal(strk.length, 500);
    assert.equal(new Set(strk.map((e) => after(e).k)).size, 500);
    assert.ok(writers.reduce((n, w) => n + w.transactions, 0) > 20);
  });

  it('reads a table without a numeric key again from its start when interrupted inside it, losing nothing', async () => {
    await admin.query('CREATE DATABASE r1b');
    await admin.query('CREATE TABLE r1b.strk (k VARCHAR(20) PRIMARY KEY, v INT)');
    await admin.query(`INSERT INTO r1b.strk VALUES ${Array.from({ length: 3000 }, (_, i) => `('k${i}', ${i})`).join(',')}`);
    const config = connectorConfig(db, { 'database.include.list': 'r1b', 'max.batch.size': 500, 'snapshot.mode': 'initial_only' });
    const run1 = await drive(source(config), null, afterBatches(2));
    const run2 = await drive(source(config), run1.offset, () => false);
    const keys = new Set([...run1.events, ...run2.events].filter((e) => e.value && op(e) === 'r').map((e) => after(e).k));
    assert.equal(keys.size, 3000);
    assert.equal(dataEvents(run2.events).length, 3000, 'the interrupted table is read again in full');
  });
});

describe('restart while streaming', () => {
  for (const resume of ['auto', 'position'] as const) {
    it(`resumes inside and between transactions (binlog.resume.mode=${resume}) with every change exactly once`, async () => {
      const dbName = `r2_${resume}`;
      const table = `${dbName}.acct`;
      const topic = `srv.${table}`;
      await admin.query(`CREATE DATABASE ${dbName}`);
      await createAccounts(admin, table, 2000);
      const config = connectorConfig(db, {
        'database.include.list': dbName,
        'max.batch.size': 300,
        'binlog.resume.mode': resume,
      });
      const snapshot = await drive(source({ ...config, 'snapshot.mode': 'initial_only' }), null, () => false);
      const events: ChangeEvent[] = [...snapshot.events];
      let offset: SourceOffset | null = snapshot.offset;

      const writers = new Writers(db, table, 2000, 2).start();
      // one big transaction: 5000 inserts and 1500 updates
      const big = (async () => {
        const conn = await adminConnection(db);
        try {
          await conn.query('BEGIN');
          for (let start = 0; start < 5000; start += 1000) {
            const values = Array.from({ length: 1000 }, (_, i) => `(${3_000_000_000 + start + i}, 0, 'big')`).join(',');
            await conn.query(`INSERT INTO ${table} VALUES ${values}`);
          }
          await conn.query(`UPDATE ${table} SET ver = ver + 1 WHERE id BETWEEN 1 AND 1500`);
          await conn.query('COMMIT');
        } finally {
          await conn.end();
        }
      })();

      let inside = 0;
      let between = 0;
      let expected: Map<string, number> | null = null;
      const progress = new Progress(topic);
      progress.reached(events, null);
      const stopWriters = (async () => {
        await big;
        await sleep(1500);
        await writers.stop();
        expected = await finalState(admin, table);
      })();
      const deadline = Date.now() + 90_000;
      for (let round = 0; Date.now() < deadline; round++) {
        // alternate: stop inside a transaction, then between two; give up on the kind after 12 batches
        const wantInside = round % 2 === 0;
        let count = 0;
        const run = await drive(source(config), offset, (ev, batch) => {
          if (progress.reached([...events, ...ev], expected)) return true;
          if (batch.events.length === 0) return false;
          count++;
          const isInside = (batch.offset.row_skip as number) > 0;
          return count >= 12 || isInside === wantInside;
        }, 30_000);
        events.push(...run.events);
        offset = run.offset;
        const last = run.batches[run.batches.length - 1];
        if (last && (last.offset.row_skip as number) > 0) {
          assert.equal(last.acknowledgeable, false, 'an offset inside a transaction is not acknowledgeable');
          inside++;
        } else if (last?.acknowledgeable && last.events.length > 0) {
          between++;
        }
        if (progress.reached(events, expected)) break;
      }
      await stopWriters;
      assert.ok(progress.reached(events, expected), 'caught up with the writers');
      checkExactlyOnce(events, topic, expected!);
      assert.ok(inside >= 2, `stopped inside a transaction ${inside} times`);
      assert.ok(between >= 1, `stopped between transactions ${between} times`);
    });
  }
});

describe('transaction metadata across a restart', () => {
  it('keeps counting a transaction split by a restart (provide.transaction.metadata=true)', async () => {
    await admin.query('CREATE DATABASE r3; CREATE TABLE r3.a (id INT PRIMARY KEY); CREATE TABLE r3.b (id INT PRIMARY KEY)');
    const config = connectorConfig(db, { 'database.include.list': 'r3', 'max.batch.size': 7, 'provide.transaction.metadata': true });
    const init = await drive(source({ ...config, 'snapshot.mode': 'no_data' }), null, (_ev, b) => b.acknowledgeable === true);
    const conn = await adminConnection(db);
    await conn.query('BEGIN');
    for (let i = 1; i <= 30; i++) await conn.query(`INSERT INTO r3.${i % 3 === 0 ? 'b' : 'a'} VALUES (${i})`);
    await conn.query('COMMIT');
    await conn.end();
    const [[{ g }]] = (await admin.query('SELECT @@gtid_binlog_pos AS g')) as unknown as [[{ g: string }]];
    const first = await drive(source(config), init.offset, (_ev, b) => (b.offset.row_skip as number) > 10);
    assert.ok(first.offset?.transaction, 'the offset carries the transaction counts');
    const second = await drive(source(config), first.offset, (ev) => ev.some((e) => e.topic === 'srv.transaction' && e.value?.status === 'END'));
    const events = [...first.events, ...second.events];
    const tx = events.filter((e) => e.topic === 'srv.transaction');
    assert.deepEqual(tx.map((e) => [e.value!.status, e.value!.id]), [['BEGIN', g], ['END', g]]);
    assert.equal(tx[1]!.value!.event_count, 30n);
    assert.deepEqual(plainCounts(tx[1]!.value!.data_collections), { 'r3.a': '20', 'r3.b': '10' });
    const blocks = dataEvents(events).map((e) => e.value!.transaction as { id: string; total_order: bigint });
    assert.deepEqual(blocks.map((b) => Number(b.total_order)), Array.from({ length: 30 }, (_, i) => i + 1));
    assert.ok(blocks.every((b) => b.id === g));
  });
});

function plainCounts(list: unknown): Record<string, string> {
  return Object.fromEntries((list as { data_collection: string; event_count: bigint }[]).map((c) => [c.data_collection, String(c.event_count)]));
}

describe('statements inside a transaction group', () => {
  it('a SAVEPOINT or CREATE TABLE ... SELECT does not end the group: restarts inside it lose nothing', async () => {
    await admin.query('CREATE DATABASE r4; CREATE TABLE r4.t (id INT PRIMARY KEY)');
    const config = connectorConfig(db, { 'database.include.list': 'r4', 'max.batch.size': 4 });
    const init = await drive(source({ ...config, 'snapshot.mode': 'no_data' }), null, (_ev, b) => b.acknowledgeable === true);
    const conn = await adminConnection(db);
    await conn.query('BEGIN');
    for (let i = 1; i <= 10; i++) await conn.query(`INSERT INTO r4.t VALUES (${i})`);
    await conn.query('SAVEPOINT s1');
    for (let i = 11; i <= 20; i++) await conn.query(`INSERT INTO r4.t VALUES (${i})`);
    await conn.query('SAVEPOINT s2');
    await conn.query('INSERT INTO r4.t VALUES (99)');
    await conn.query('ROLLBACK TO SAVEPOINT s2');
    for (let i = 21; i <= 30; i++) await conn.query(`INSERT INTO r4.t VALUES (${i})`);
    await conn.query('COMMIT');
    await conn.query('CREATE TABLE r4.copy (id INT PRIMARY KEY) SELECT id FROM r4.t');
    await conn.end();
    const ids = (events: readonly ChangeEvent[], topic: string) => dataEvents(events, topic).map((e) => Number(after(e).id));
    let offset = init.offset;
    const all: ChangeEvent[] = [];
    const done = (ev: readonly ChangeEvent[]) => ids([...all, ...ev], 'srv.r4.copy').length >= 30;
    for (let round = 0; round < 40 && !done([]); round++) {
      let n = 0;
      const run = await drive(source(config), offset, (ev, b) => done(ev) || (b.events.length > 0 && ++n >= 2), 20_000);
      all.push(...run.events);
      offset = run.offset;
    }
    assert.deepEqual(ids(all, 'srv.r4.t'), Array.from({ length: 30 }, (_, i) => i + 1));
    assert.deepEqual(ids(all, 'srv.r4.copy'), Array.from({ length: 30 }, (_, i) => i + 1));
  });
});
