import assert from 'node:assert/strict';
import { after as afterAll, before as beforeAll, describe, it } from 'node:test';
import type pg from 'pg';
import { startPostgres, type PostgresFlavor, type PostgresInstance } from '../support/postgres.js';
import { admin, after, before, changes, drive, newSource, pgConfig, slotRow, source, waitFor } from './helpers.js';

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

describe(`Postgres source replica identity, TOAST, messages, schema changes (${flavor})`, () => {
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

  it('gives the before image each replica identity allows', async () => {
    await db.query(`CREATE TABLE public.ri_full (id int PRIMARY KEY, a text NOT NULL, b int)`);
    await db.query(`CREATE TABLE public.ri_index (id int PRIMARY KEY, code text NOT NULL, b int)`);
    await db.query(`CREATE UNIQUE INDEX ri_index_code ON public.ri_index (code)`);
    await db.query(`ALTER TABLE public.ri_index REPLICA IDENTITY USING INDEX ri_index_code`);
    await db.query(`CREATE TABLE public.ri_nothing (id int PRIMARY KEY, a text)`);
    await db.query(`ALTER TABLE public.ri_nothing REPLICA IDENTITY NOTHING`);
    await db.query(`INSERT INTO public.ri_full VALUES (1, 'x', 1)`);
    await db.query(`INSERT INTO public.ri_index VALUES (1, 'k1', 1), (2, 'k2', 2)`);
    const src = newSource(
      pgConfig(server, {
        'slot.name': 'ri',
        'table.include.list': 'public.ri_.*',
        'snapshot.mode': 'no_data',
        'replica.identity.autoset.values': 'public.ri_full:FULL',
      }),
    );
    const running = drive(src, null, (c) => changes(c.events).length >= 6, { timeoutMs: 30_000 });
    await waitFor('the slot to be streamed', async () => (await slotRow(db, 'ri'))?.active === true);
    const identity = await db.query<{ relreplident: string }>(`SELECT relreplident FROM pg_class WHERE oid = 'public.ri_full'::regclass`);
    assert.equal(identity.rows[0]?.relreplident, 'f', 'replica.identity.autoset.values applied at start-up');
    await db.query(`UPDATE public.ri_full SET b = 2 WHERE id = 1`);
    await db.query(`DELETE FROM public.ri_full WHERE id = 1`);
    await db.query(`UPDATE public.ri_index SET b = 3 WHERE id = 1`);
    await db.query(`UPDATE public.ri_index SET code = 'k9' WHERE id = 2`);
    await db.query(`DELETE FROM public.ri_index WHERE id = 1`);
    await db.query(`INSERT INTO public.ri_nothing VALUES (1, 'n')`);
    await assert.rejects(db.query(`UPDATE public.ri_nothing SET a = 'm'`), /replica identity/);
    await assert.rejects(db.query(`DELETE FROM public.ri_nothing`), /replica identity/);
    const c = await running;
    const full = changes(c.events, 'srv.public.ri_full');
    assert.deepEqual(full.map((e) => e['op']), ['u', 'd']);
    assert.deepEqual(before(full[0]!), { id: 1, a: 'x', b: 1 });
    assert.deepEqual(after(full[0]!), { id: 1, a: 'x', b: 2 });
    assert.deepEqual(before(full[1]!), { id: 1, a: 'x', b: 2 });
    const idx = changes(c.events, 'srv.public.ri_index');
    assert.deepEqual(idx.map((e) => e['op']), ['u', 'u', 'd']);
    assert.equal(idx[0]!['before'], null, 'INDEX identity: no old key when the index columns did not change');
    assert.deepEqual(before(idx[1]!), { id: 2, code: 'k2', b: null }, 'INDEX identity: old index key, the key taken as unchanged, the rest fallback');
    assert.deepEqual(after(idx[1]!), { id: 2, code: 'k9', b: 2 });
    assert.deepEqual(before(idx[2]!), { id: 0, code: 'k1', b: null });
    const nothing = changes(c.events, 'srv.public.ri_nothing');
    assert.deepEqual(nothing.map((e) => e['op']), ['c']);
  });

  it('marks unchanged TOASTed values with the placeholder (REPLICA IDENTITY FULL gives the real value)', async () => {
    const big = (n: number) => Array.from({ length: n }, (_, i) => ((i * 7919) % 65536).toString(36)).join('');
    await db.query(`CREATE TABLE public.toasty (id int PRIMARY KEY, n int, body text, blob bytea, tags text[], nums int[], data jsonb)`);
    await db.query(`CREATE TABLE public.toasty_full (id int PRIMARY KEY, n int, body text)`);
    await db.query(`ALTER TABLE public.toasty_full REPLICA IDENTITY FULL`);
    await db.query(`ALTER TABLE public.toasty ALTER COLUMN body SET STORAGE EXTERNAL, ALTER COLUMN blob SET STORAGE EXTERNAL,
                    ALTER COLUMN tags SET STORAGE EXTERNAL, ALTER COLUMN nums SET STORAGE EXTERNAL, ALTER COLUMN data SET STORAGE EXTERNAL`);
    await db.query(`ALTER TABLE public.toasty_full ALTER COLUMN body SET STORAGE EXTERNAL`);
    const body = big(20000);
    await db.query(
      `INSERT INTO public.toasty VALUES (1, 1, $1, convert_to($1, 'UTF8'), ARRAY[$1], (SELECT array_agg(g) FROM generate_series(1, 3000) g), jsonb_build_object('k', $1))`,
      [body],
    );
    await db.query(`INSERT INTO public.toasty_full VALUES (1, 1, $1)`, [body]);
    const src = newSource(pgConfig(server, { 'slot.name': 'toast', 'table.include.list': 'public.toasty.*', 'snapshot.mode': 'no_data' }));
    const running = drive(src, null, (c) => changes(c.events).length >= 2, { timeoutMs: 30_000 });
    await waitFor('the slot to be streamed', async () => (await slotRow(db, 'toast'))?.active === true);
    await db.query(`UPDATE public.toasty SET n = 2`);
    await db.query(`UPDATE public.toasty_full SET n = 2`);
    const c = await running;
    const t = after(changes(c.events, 'srv.public.toasty')[0]!);
    const ph = '__debezium_unavailable_value';
    assert.equal(t['n'], 2);
    assert.equal(t['body'], ph);
    assert.deepEqual(Buffer.from(t['blob'] as Uint8Array).toString(), ph);
    assert.deepEqual(t['tags'], [ph]);
    assert.deepEqual(t['nums'], [...Buffer.from(ph)]);
    assert.equal(t['data'], ph);
    const f = changes(c.events, 'srv.public.toasty_full')[0]!;
    assert.equal(after(f)['body'], body);
    assert.equal(before(f)['body'], body);
  });

  it('emits logical decoding messages (transactional and not) as op m', async () => {
    await db.query(`CREATE TABLE public.msg_t (id int PRIMARY KEY)`);
    const src = newSource(pgConfig(server, { 'slot.name': 'msgs', 'table.include.list': 'public.msg_t', 'snapshot.mode': 'no_data' }));
    const running = drive(src, null, (c) => c.events.filter((e) => e.topic === 'srv.message').length >= 2 && changes(c.events, 'srv.public.msg_t').length >= 1, {
      timeoutMs: 30_000,
    });
    await waitFor('the slot to be streamed', async () => (await slotRow(db, 'msgs'))?.active === true);
    await db.query(`BEGIN; INSERT INTO public.msg_t VALUES (1); SELECT pg_logical_emit_message(true, 'audit', 'hello'); COMMIT`);
    await db.query(`SELECT pg_logical_emit_message(false, 'ping', convert_to('x', 'UTF8'))`);
    const c = await running;
    const msgs = c.events.filter((e) => e.topic === 'srv.message');
    const tx = msgs.find((m) => (m.key as Record<string, unknown>)['prefix'] === 'audit')!;
    const v = tx.value as Record<string, unknown>;
    assert.equal(v['op'], 'm');
    assert.equal(Buffer.from((v['message'] as Record<string, unknown>)['content'] as Uint8Array).toString(), 'hello');
    assert.equal(typeof (v['source'] as Record<string, unknown>)['txId'], 'bigint');
    const nt = msgs.find((m) => (m.key as Record<string, unknown>)['prefix'] === 'ping')!;
    assert.equal(((nt.value as Record<string, unknown>)['source'] as Record<string, unknown>)['txId'], null);
  });

  it('rebuilds a table schema when its Relation message arrives again after ALTER TABLE', async () => {
    await db.query(`CREATE TABLE public.evolve (id int PRIMARY KEY, a text)`);
    const src = newSource(pgConfig(server, { 'slot.name': 'evolve', 'table.include.list': 'public.evolve', 'snapshot.mode': 'no_data' }));
    const running = drive(src, null, (c) => changes(c.events).length >= 2, { timeoutMs: 30_000 });
    await waitFor('the slot to be streamed', async () => (await slotRow(db, 'evolve'))?.active === true);
    await db.query(`INSERT INTO public.evolve VALUES (1, 'x')`);
    await db.query(`ALTER TABLE public.evolve ADD COLUMN b numeric(5,2) NOT NULL DEFAULT 1.5`);
    await db.query(`INSERT INTO public.evolve VALUES (2, 'y', 2.25)`);
    const c = await running;
    const ev = changes(c.events);
    assert.deepEqual(Object.keys(after(ev[0]!)), ['id', 'a']);
    assert.deepEqual(Object.keys(after(ev[1]!)), ['id', 'a', 'b']);
    const schemas = c.events.filter((e) => e.value !== null).map((e) => e.valueSchema);
    assert.notEqual(schemas[0], schemas[1]);
  });
});
