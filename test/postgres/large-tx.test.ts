/**
 * Large transactions: a 200k-row single transaction streams out in batches as it arrives, with bounded memory
 * (RSS printed at 50k and 200k events), with pgoutput v2 streaming of the in-progress transaction (spilled to a
 * local file until Stream Commit) and with v1; and a restart inside such a transaction skips exactly what was out.
 */
import assert from 'node:assert/strict';
import { after as afterAll, before as beforeAll, describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type pg from 'pg';
import type { SourceOffset } from '../../src/events/change-event.js';
import type { StructValue } from '../../src/events/schema.js';
import { startPostgres, type PostgresFlavor, type PostgresInstance } from '../support/postgres.js';
import { admin, drive, newSource, pgConfig, slotRow, waitFor } from './helpers.js';

const flavor = (process.env['SLUICE_PG_FLAVOR'] as PostgresFlavor | undefined) ?? 'embedded';
const ROWS = 200_000;
const mb = (n: number) => Math.round(n / 1024 / 1024);

// A full collection on demand, so "retained" is measured, not how lazily V8 collects garbage.
setFlagsFromString('--expose_gc');
const gc = runInNewContext('gc') as () => void;
function retained(): number {
  gc();
  return process.memoryUsage().heapUsed;
}

describe(`Postgres large transactions (${flavor})`, () => {
  let server: PostgresInstance;
  let db: pg.Client;

  beforeAll(async () => {
    server = await startPostgres({ flavor });
    db = await admin(server);
    // Make the server stream in-progress transactions early (protocol v2).
    await db.query(`ALTER SYSTEM SET logical_decoding_work_mem = '64kB'`);
    await db.query(`SELECT pg_reload_conf()`);
    await db.query(`CREATE TABLE public.big (id int PRIMARY KEY, pad text NOT NULL)`);
  });
  afterAll(async () => {
    await db?.end();
    await server?.stop();
  });

  for (const proto of [2, 1] as const) {
    it(`streams a ${ROWS}-row transaction with bounded memory (protocol v${proto})`, async () => {
      const slot = `big_v${proto}`;
      const src = newSource(
        pgConfig(server, {
          'slot.name': slot,
          'table.include.list': 'public.big',
          'snapshot.mode': 'no_data',
          'max.batch.size': 2000,
          'sluice.postgres.protocol.version': proto,
        }),
      );
      let rss50: number | null = null;
      let rss200: number | null = null;
      let heap50 = 0;
      let heap200 = 0;
      let peak = 0;
      let seen = 0;
      let firstId = 0;
      let lastId = 0;
      const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
      const running = drive(src, null, () => seen >= ROWS, {
        keepEvents: false,
        timeoutMs: 180_000,
        onBatch: (b) => {
          for (const e of b.events) {
            if (e.topic !== 'srv.public.big' || e.value === null || (e.value as StructValue)['op'] !== 'c') continue;
            const id = ((e.value as StructValue)['after'] as StructValue)['id'] as number;
            if (seen === 0) firstId = id;
            assert.equal(id, lastId + 1, 'in order, none missing');
            lastId = id;
            seen++;
          }
          if (rss50 === null && seen >= 50_000) {
            rss50 = process.memoryUsage().rss;
            heap50 = retained();
          }
          if (seen >= ROWS) {
            rss200 = process.memoryUsage().rss;
            heap200 = retained();
          }
        },
      });
      await waitFor('the slot to be streamed', async () => (await slotRow(db, slot))?.active === true);
      await db.query(`TRUNCATE public.big`);
      const before = process.memoryUsage().rss;
      await db.query(`INSERT INTO public.big SELECT g, repeat(md5(g::text), 4) FROM generate_series(1, ${ROWS}) g`);
      await running;
      clearInterval(sampler);
      assert.equal(firstId, 1);
      assert.equal(seen, ROWS);
      const r50 = rss50 as unknown as number;
      const r200 = rss200 as unknown as number;
      console.log(
        `[large-tx v${proto} ${flavor}] RSS before ${mb(before)} MB, at 50k events ${mb(r50)} MB, at 200k events ${mb(r200)} MB, ` +
          `peak ${mb(peak)} MB; heap retained after GC at 50k ${mb(heap50)} MB, at 200k ${mb(heap200)} MB`,
      );
      assert.ok(heap200 - heap50 < 16 * 1024 * 1024, `retained heap grew by ${mb(heap200 - heap50)} MB between 50k and 200k events`);
      assert.ok(peak < 768 * 1024 * 1024, `peak RSS ${mb(peak)} MB`);
      if (proto === 2 && server.version >= 14) {
        await waitFor('the server to have streamed the transaction in progress', async () => {
          const stats = await db.query<{ n: string }>(`SELECT stream_txns::text AS n FROM pg_stat_replication_slots WHERE slot_name = $1`, [slot]);
          return Number(stats.rows[0]?.n ?? 0) > 0;
        });
      }
    });
  }

  it('drops what a transaction rolled back: a subtransaction (ROLLBACK TO SAVEPOINT) of a streamed one, and a whole one', async () => {
    await db.query(`CREATE TABLE public.big3 (id int PRIMARY KEY, pad text NOT NULL)`);
    const ids: number[] = [];
    const running = drive(
      newSource(pgConfig(server, { 'slot.name': 'big_subx', 'table.include.list': 'public.big3', 'snapshot.mode': 'no_data', 'max.batch.size': 500 })),
      null,
      () => ids.includes(99999),
      {
        keepEvents: false,
        onBatch: (b) => {
          for (const e of b.events) if (e.value !== null) ids.push(((e.value as StructValue)['after'] as StructValue)['id'] as number);
        },
      },
    );
    await waitFor('the slot to be streamed', async () => (await slotRow(db, 'big_subx'))?.active === true);
    const ins = (from: number, to: number) => `INSERT INTO public.big3 SELECT g, repeat('z', 100) FROM generate_series(${from}, ${to}) g`;
    await db.query('BEGIN');
    await db.query(ins(1, 3000));
    await db.query('SAVEPOINT a');
    await db.query(ins(3001, 6000));
    await db.query('ROLLBACK TO SAVEPOINT a');
    await db.query(ins(10001, 10100));
    await db.query('SAVEPOINT b');
    await db.query(ins(20001, 22000));
    await db.query('RELEASE SAVEPOINT b');
    await db.query('COMMIT');
    if (server.version >= 14) {
      // the transaction with the rolled-back subtransaction went through the streamed (spill file) path;
      // slot statistics are flushed asynchronously
      await waitFor('the transaction to have been streamed in progress', async () => {
        const stats = await db.query<{ n: string }>(`SELECT stream_txns::text AS n FROM pg_stat_replication_slots WHERE slot_name = 'big_subx'`);
        return Number(stats.rows[0]?.n ?? 0) >= 1;
      });
    }
    await db.query('BEGIN');
    await db.query(ins(30001, 35000));
    await db.query('ROLLBACK');
    await db.query(`INSERT INTO public.big3 VALUES (99999, 'end')`);
    await running;
    const expected = [
      ...Array.from({ length: 3000 }, (_, i) => i + 1),
      ...Array.from({ length: 100 }, (_, i) => i + 10001),
      ...Array.from({ length: 2000 }, (_, i) => i + 20001),
      99999,
    ];
    assert.deepEqual(ids, expected);
  });

  it('restarts inside a streamed transaction and skips exactly what was delivered', async () => {
    const n = 30_000;
    await db.query(`CREATE TABLE public.big2 (id int PRIMARY KEY, pad text NOT NULL)`);
    const config = pgConfig(server, {
      'slot.name': 'big_restart',
      'table.include.list': 'public.big2',
      'snapshot.mode': 'no_data',
      'max.batch.size': 1000,
    });
    const ids = new Set<number>();
    const take = (events: readonly { topic: string; value: unknown }[]) => {
      for (const e of events) {
        if (e.topic !== 'srv.public.big2' || e.value === null) continue;
        const id = ((e.value as StructValue)['after'] as StructValue)['id'] as number;
        assert.ok(!ids.has(id), `duplicate ${id}`);
        ids.add(id);
      }
    };
    const first = drive(newSource(config), null, (c) => c.batches.length >= 7, { keepEvents: false, onBatch: (b) => take(b.events) });
    await waitFor('the slot to be streamed', async () => (await slotRow(db, 'big_restart'))?.active === true);
    await db.query(`INSERT INTO public.big2 SELECT g, repeat('y', 50) FROM generate_series(1, ${n}) g`);
    const r1 = await first;
    const stored = r1.offset as SourceOffset;
    assert.ok((stored['events_in_tx'] as number) > 0, 'stopped inside the transaction');
    assert.equal(ids.size, stored['events_in_tx']);
    const confirmed = (await slotRow(db, 'big_restart'))?.confirmed;
    assert.ok(confirmed !== null && confirmed !== undefined && confirmed <= BigInt(stored['lsn'] as string), 'nothing of the partial transaction confirmed');
    await drive(newSource(config), stored, () => ids.size >= n, { keepEvents: false, onBatch: (b) => take(b.events) });
    assert.equal(ids.size, n);
  });
});
