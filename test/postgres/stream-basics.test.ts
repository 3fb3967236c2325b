import assert from 'node:assert/strict';
import { after as afterAll, before as beforeAll, describe, it } from 'node:test';
import type pg from 'pg';
import { startPostgres, type PostgresFlavor, type PostgresInstance } from '../support/postgres.js';
import { admin, after, before, changes, drive, newSource, pgConfig, source } from './helpers.js';

const flavor = (process.env['SLUICE_PG_FLAVOR'] as PostgresFlavor | undefined) ?? 'embedded';

describe(`Postgres source basics (${flavor})`, () => {
  let server: PostgresInstance;
  let db: pg.Client;

  beforeAll(async () => {
    server = await startPostgres({ flavor });
    db = await admin(server);
  });
  afterAll(async () => {
    await db?.end();
    await server?.stop();
  });

  it('snapshots, then streams inserts, updates, deletes and truncates with Debezium envelopes', async () => {
    await db.query(`CREATE TABLE public.orders (id int PRIMARY KEY, item text NOT NULL, qty int)`);
    await db.query(`INSERT INTO public.orders VALUES (1, 'apple', 3), (2, 'pear', NULL)`);
    const src = newSource(pgConfig(server, { 'slot.name': 'basics', 'table.include.list': 'public.orders' }));
    let wrote = false;
    const c = await drive(src, null, (c) => changes(c.events).length >= 8, {
      onBatch: async (b) => {
        if (!wrote && b.acknowledgeable) {
          wrote = true;
          await db.query(`INSERT INTO public.orders VALUES (3, 'fig', 1)`);
          await db.query(`UPDATE public.orders SET qty = 4 WHERE id = 1`);
          await db.query(`UPDATE public.orders SET id = 10 WHERE id = 2`);
          await db.query(`DELETE FROM public.orders WHERE id = 3`);
          await db.query(`TRUNCATE public.orders`);
        }
      },
    });
    const ev = changes(c.events, 'srv.public.orders');
    const ops = ev.map((e) => e['op']);
    assert.deepEqual(ops.slice(0, 2), ['r', 'r']);
    assert.equal(source(ev[0]!)['snapshot'], 'first');
    assert.equal(source(ev[1]!)['snapshot'], 'last');
    assert.deepEqual(after(ev[0]!), { id: 1, item: 'apple', qty: 3 });
    assert.deepEqual(after(ev[1]!), { id: 2, item: 'pear', qty: null });
    assert.deepEqual(ops.slice(2), ['c', 'u', 'd', 'c', 'd', 't']);
    const [ins, upd, pkDel, pkIns, del, trunc] = ev.slice(2) as [
      Record<string, unknown>, Record<string, unknown>, Record<string, unknown>, Record<string, unknown>, Record<string, unknown>, Record<string, unknown>,
    ];
    assert.deepEqual(after(ins), { id: 3, item: 'fig', qty: 1 });
    assert.equal(upd['before'], null, 'REPLICA IDENTITY DEFAULT: no before image for an update that keeps the key');
    assert.deepEqual(after(upd), { id: 1, item: 'apple', qty: 4 });
    // key change: delete of the old key (before holds the key, other columns Debezium's fallback) + create
    assert.deepEqual(before(pkDel), { id: 2, item: '', qty: null });
    assert.deepEqual(after(pkIns), { id: 10, item: 'pear', qty: null });
    assert.deepEqual(before(del), { id: 3, item: '', qty: null });
    assert.equal(trunc['after'], null);
    const src0 = source(ins);
    assert.equal(src0['snapshot'], 'false');
    assert.equal(src0['schema'], 'public');
    assert.equal(src0['table'], 'orders');
    assert.equal(src0['db'], 'test');
    assert.equal(src0['name'], 'srv');
    assert.equal(typeof src0['txId'], 'bigint');
    assert.equal(typeof src0['lsn'], 'bigint');
    const seq = JSON.parse(src0['sequence'] as string) as [string | null, string];
    assert.equal(seq[1], String(src0['lsn']));
    // tombstones follow deletes
    const tomb = c.events.filter((e) => e.value === null);
    assert.equal(tomb.length, 2);
    assert.deepEqual(c.events.find((e) => e.value === null)?.key, { id: 2 });
  });
});
