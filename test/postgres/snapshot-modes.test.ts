/**
 * snapshot.mode: initial_only, no_data / never, when_needed, always; a slot that exists before the first start
 * (snapshot read in a fresh snapshot, changes it saw filtered); tables without a primary key (cursor); column
 * filters; transaction metadata.
 */
import assert from 'node:assert/strict';
import { after as afterAll, before as beforeAll, describe, it } from 'node:test';
import type pg from 'pg';
import type { SourceOffset } from '../../src/events/change-event.js';
import type { StructValue } from '../../src/events/schema.js';
import { startPostgres, type PostgresFlavor, type PostgresInstance } from '../support/postgres.js';
import { admin, after, changes, drive, newSource, pgConfig, slotRow, source, strictReplay, waitFor } from './helpers.js';

const flavor = (process.env['SLUICE_PG_FLAVOR'] as PostgresFlavor | undefined) ?? 'embedded';

describe(`Postgres snapshot modes (${flavor})`, () => {
  let server: PostgresInstance;
  let db: pg.Client;

  beforeAll(async () => {
    server = await startPostgres({ flavor });
    db = await admin(server);
    await db.query(`CREATE TABLE public.m (id int PRIMARY KEY, v int NOT NULL, pad text)`);
    await db.query(`INSERT INTO public.m SELECT g, 0, 'p' || g FROM generate_series(1, 300) g`);
    await db.query(`CREATE TABLE public.keyless (a int, b text)`);
    await db.query(`INSERT INTO public.keyless SELECT g, 'k' || g FROM generate_series(1, 25) g`);
  });
  afterAll(async () => {
    await db?.end();
    await server?.stop();
  });

  it('initial_only reads every table (with and without a primary key) and ends', async () => {
    const c = await drive(
      newSource(pgConfig(server, { 'slot.name': 'only', 'snapshot.mode': 'initial_only', 'table.include.list': 'public.m,public.keyless', 'snapshot.fetch.size': 7 })),
      null,
      () => false,
    );
    const ev = changes(c.events);
    assert.ok(ev.every((e) => e['op'] === 'r'));
    assert.equal(changes(c.events, 'srv.public.m').length, 300);
    assert.equal(changes(c.events, 'srv.public.keyless').length, 25);
    assert.deepEqual(
      ev.map((e) => source(e)['snapshot']).filter((m) => m !== 'true'),
      ['first', 'last_in_data_collection', 'first_in_data_collection', 'last'],
    );
    assert.equal(c.events.find((e) => e.topic === 'srv.public.keyless')!.key, null, 'no key without a primary key');
    const last = c.offset as SourceOffset;
    assert.equal(last['snapshot'], undefined);
    assert.equal(c.batches.at(-1)!.acknowledgeable, true);
    // a second start with the stored offset has nothing left to do
    const again = await drive(newSource(pgConfig(server, { 'slot.name': 'only', 'snapshot.mode': 'initial_only', 'table.include.list': 'public.m' })), last, () => false);
    assert.equal(again.events.length, 0);
  });

  it('message.key.columns gives a table without primary key a key', async () => {
    const c = await drive(
      newSource(pgConfig(server, { 'slot.name': 'mkc', 'snapshot.mode': 'initial_only', 'slot.drop.on.stop': true, 'table.include.list': 'public.keyless', 'message.key.columns': 'public.keyless:a' })),
      null,
      () => false,
    );
    assert.deepEqual(c.events[0]!.key, { a: 1 });
    assert.equal(c.events[0]!.keySchema?.name, 'srv.public.keyless.Key');
  });

  it('no_data (and the legacy never) stream without reading the tables', async () => {
    for (const mode of ['no_data', 'never']) {
      const slot = `nodata_${mode}`;
      const running = drive(newSource(pgConfig(server, { 'slot.name': slot, 'snapshot.mode': mode, 'table.include.list': 'public.m' })), null, (c) => c.events.length >= 1);
      await waitFor('the slot to be streamed', async () => (await slotRow(db, slot))?.active === true);
      await db.query(`UPDATE public.m SET v = v + 1 WHERE id = 1`);
      const c = await running;
      assert.deepEqual(changes(c.events).map((e) => e['op']), ['u']);
    }
  });

  it('a slot that already exists is read with a fresh snapshot; changes it saw are not streamed again', async () => {
    await db.query(`SELECT pg_create_logical_replication_slot('pre', 'pgoutput')`);
    await db.query(`UPDATE public.m SET v = v + 1 WHERE id BETWEEN 10 AND 20`);
    await db.query(`DELETE FROM public.m WHERE id = 30`);
    await db.query(`INSERT INTO public.m VALUES (1000, 0, 'new')`);
    const c = await drive(newSource(pgConfig(server, { 'slot.name': 'pre', 'table.include.list': 'public.m', 'snapshot.fetch.size': 50 })), null, (c) =>
      changes(c.events).some((e) => e['op'] !== 'r'),
      {
        onBatch: async (b) => {
          if (b.acknowledgeable) await db.query(`UPDATE public.m SET v = v + 1 WHERE id = 1000`);
        },
      },
    );
    const state = strictReplay(c.events, 'srv.public.m');
    assert.equal(state.get('1000')?.['v'], 1);
    assert.ok(!state.has('30'));
    assert.ok(changes(c.events).filter((e) => e['op'] !== 'r').every((e) => after(e)['id'] === 1000));
  });

  it('always re-reads the tables at every start and then streams from the stored position exactly once', async () => {
    const config = pgConfig(server, { 'slot.name': 'alw', 'snapshot.mode': 'always', 'table.include.list': 'public.m' });
    const r1 = await drive(newSource(config), null, (c) => c.batches.some((b) => b.acknowledgeable));
    // changes while down: they are in the new snapshot, and must not come again from the slot
    await db.query(`UPDATE public.m SET v = v + 1 WHERE id BETWEEN 100 AND 110`);
    await db.query(`INSERT INTO public.m VALUES (2000, 0, 'x')`);
    const r2 = await drive(newSource(config), r1.offset, (c) => changes(c.events).some((e) => e['op'] !== 'r'), {
      onBatch: async (b) => {
        if (b.acknowledgeable) await db.query(`UPDATE public.m SET v = v + 1 WHERE id = 2000`);
      },
    });
    const reads = changes(r2.events).filter((e) => e['op'] === 'r');
    assert.ok(reads.length >= 300);
    const state = strictReplay(r2.events, 'srv.public.m');
    assert.equal(state.get('2000')?.['v'], 1);
    assert.equal(state.get('105')?.['v'], (await db.query<{ v: number }>(`SELECT v FROM public.m WHERE id = 105`)).rows[0]!.v);
  });

  it('when_needed snapshots only without a usable position', async () => {
    const config = pgConfig(server, { 'slot.name': 'wn', 'snapshot.mode': 'when_needed', 'table.include.list': 'public.m' });
    const r1 = await drive(newSource(config), null, (c) => c.batches.some((b) => b.acknowledgeable));
    assert.ok(changes(r1.events).length >= 300);
    const running = drive(newSource(config), r1.offset, (c) => c.events.length >= 1);
    await waitFor('the slot to be streamed', async () => (await slotRow(db, 'wn'))?.active === true);
    await db.query(`UPDATE public.m SET v = v + 1 WHERE id = 2`);
    const r2 = await running;
    assert.deepEqual(changes(r2.events).map((e) => e['op']), ['u']);
  });

  it('column include/exclude lists and transaction metadata', async () => {
    await db.query(`CREATE TABLE public.cols (id int PRIMARY KEY, secret text, keep text)`);
    const running = drive(
      newSource(
        pgConfig(server, {
          'slot.name': 'cols',
          'snapshot.mode': 'no_data',
          'table.include.list': 'public.cols,public.m',
          'column.exclude.list': 'public\\.cols\\.secret',
          'provide.transaction.metadata': true,
        }),
      ),
      null,
      (c) => c.events.filter((e) => e.topic === 'srv.transaction').length >= 2,
    );
    await waitFor('the slot to be streamed', async () => (await slotRow(db, 'cols'))?.active === true);
    await db.query(`BEGIN; INSERT INTO public.cols VALUES (1, 's', 'k'); UPDATE public.m SET v = v + 1 WHERE id = 3; INSERT INTO public.cols VALUES (2, 's', 'k'); COMMIT`);
    const c = await running;
    const cols = changes(c.events, 'srv.public.cols');
    assert.deepEqual(after(cols[0]!), { id: 1, keep: 'k' });
    const tx = c.events.filter((e) => e.topic === 'srv.transaction').map((e) => e.value as StructValue);
    assert.deepEqual(tx.map((t) => t['status']), ['BEGIN', 'END']);
    const id = tx[0]!['id'] as string;
    assert.match(id, /^\d+:\d+$/);
    assert.equal(tx[1]!['event_count'], 3n);
    const blocks = changes(c.events).map((e) => e['transaction'] as StructValue);
    assert.deepEqual(blocks.map((b) => [b['id'], b['total_order'], b['data_collection_order']]), [
      [id, 1n, 1n],
      [id, 2n, 1n],
      [id, 3n, 2n],
    ]);
  });
});
