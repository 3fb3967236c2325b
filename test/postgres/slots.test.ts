/**
 * Slot hygiene: heartbeats keep the slot's confirmed_flush_lsn moving while captured tables are idle and others are
 * busy; misconfigurations produce messages that name the fix; slot.drop.on.stop; a lost slot is an offset error.
 */
import assert from 'node:assert/strict';
import { after as afterAll, before as beforeAll, describe, it } from 'node:test';
import pg from 'pg';
import { ConnectionLostError, OffsetError, PrerequisiteError, SluiceError } from '../../src/errors.js';
import type { SourceOffset } from '../../src/events/change-event.js';
import { startPostgres, type PostgresFlavor, type PostgresInstance } from '../support/postgres.js';
import { admin, drive, newSource, pgConfig, slotRow, waitFor, type Committed } from './helpers.js';

const flavor = (process.env['SLUICE_PG_FLAVOR'] as PostgresFlavor | undefined) ?? 'embedded';

async function walLsn(db: pg.Client): Promise<bigint> {
  const r = await db.query<{ l: string }>(`SELECT (pg_current_wal_lsn() - '0/0')::text AS l`);
  return BigInt(r.rows[0]!.l);
}

describe(`Postgres slots, heartbeats and prerequisites (${flavor})`, () => {
  let server: PostgresInstance;
  let db: pg.Client;
  let busyDb: pg.Client;

  beforeAll(async () => {
    server = await startPostgres({ flavor });
    db = await admin(server);
    busyDb = await admin(server);
    await db.query(`CREATE TABLE public.hb_captured (id int PRIMARY KEY)`);
    await db.query(`CREATE TABLE public.hb_busy (id serial PRIMARY KEY, x int)`);
    await db.query(`CREATE TABLE public.hb_action (id serial PRIMARY KEY, at timestamptz DEFAULT now())`);
  });
  afterAll(async () => {
    await busyDb?.end();
    await db?.end();
    await server?.stop();
  });

  for (const mode of ['filtered', 'all_tables'] as const) {
    it(`heartbeats advance confirmed_flush_lsn while only uncaptured tables change (publication ${mode})`, async () => {
      const slot = `hb_${mode}`;
      const src = newSource(
        pgConfig(server, {
          'slot.name': slot,
          'publication.name': `pub_${mode}`,
          'publication.autocreate.mode': mode,
          'table.include.list': 'public.hb_captured',
          'snapshot.mode': 'no_data',
          'heartbeat.interval.ms': 150,
          ...(mode === 'filtered' ? { 'heartbeat.action.query': 'INSERT INTO public.hb_action DEFAULT VALUES' } : {}),
        }),
      );
      let stop = false;
      const running = drive(src, null, () => stop, { timeoutMs: 30_000 });
      await waitFor('the slot to be streamed', async () => (await slotRow(db, slot))?.active === true);
      const start = (await slotRow(db, slot))!.confirmed!;
      let busy = true;
      const writer = (async () => {
        while (busy) {
          await busyDb.query(`INSERT INTO public.hb_busy (x) VALUES (1)`);
          await new Promise((r) => setTimeout(r, 5));
        }
      })();
      await new Promise((r) => setTimeout(r, 600));
      const mark = await walLsn(db);
      await waitFor(
        'confirmed_flush_lsn to pass the WAL position written while the captured table was idle',
        async () => ((await slotRow(db, slot))?.confirmed ?? 0n) >= mark,
        15_000,
      );
      busy = false;
      await writer;
      stop = true;
      await db.query(`INSERT INTO public.hb_busy (x) VALUES (2)`); // wake the source so `stop` is seen
      const c = await running;
      const confirmed = (await slotRow(db, slot))!.confirmed!;
      assert.ok(confirmed > start, `confirmed_flush_lsn moved from ${start} to ${confirmed}`);
      const beats = c.events.filter((e) => e.topic === '__debezium-heartbeat.srv');
      assert.ok(beats.length >= 2, `heartbeat events (${beats.length})`);
      assert.deepEqual(beats[0]!.key, { serverName: 'srv' });
      assert.ok(c.events.every((e) => e.topic === '__debezium-heartbeat.srv'), 'nothing else was emitted');
      if (mode === 'filtered') {
        const actions = await db.query<{ n: string }>(`SELECT count(*)::text AS n FROM public.hb_action`);
        assert.ok(Number(actions.rows[0]!.n) >= 2, 'heartbeat.action.query ran');
      }
    });
  }

  it('validate() lists every problem, each naming its fix, without changing anything', async () => {
    await db.query(`CREATE TABLE public.nopk (a int, b text)`);
    await db.query(`CREATE ROLE norepl LOGIN PASSWORD 'pw'`);
    const config = pgConfig(server, {
      'slot.name': 'val',
      'publication.name': 'missing_pub',
      'publication.autocreate.mode': 'disabled',
      'table.include.list': 'public.nopk,public.hb_captured',
    });
    const problems = await newSource(config).validate();
    const text = problems.map((p) => `${p.severity}: ${p.message}`).join('\n');
    assert.match(text, /error: publication "missing_pub" does not exist and publication.autocreate.mode is disabled: create it with: CREATE PUBLICATION "missing_pub" FOR TABLE "public"."hb_captured", "public"."nopk";/);
    assert.match(text, /warning: table public\.nopk has no primary key and REPLICA IDENTITY DEFAULT.*ALTER TABLE "public"\."nopk" REPLICA IDENTITY FULL/);
    const pubs = await db.query(`SELECT 1 FROM pg_publication WHERE pubname = 'missing_pub'`);
    assert.equal(pubs.rowCount, 0, 'validate created nothing');
    assert.equal(await slotRow(db, 'val'), null);
    await assert.rejects(drive(newSource(config), null, () => false), (err: unknown) => err instanceof PrerequisiteError && /CREATE PUBLICATION/.test(err.message));

    const noRepl = pgConfig(
      { ...server, user: 'norepl', password: 'pw' },
      { 'slot.name': 'val2', 'publication.autocreate.mode': 'disabled', 'publication.name': 'missing_pub' },
    );
    const p2 = await newSource(noRepl).validate();
    assert.ok(p2.some((p) => p.severity === 'error' && p.message.includes('ALTER ROLE "norepl" REPLICATION')), JSON.stringify(p2));
    await assert.rejects(drive(newSource(noRepl), null, () => false), (err: unknown) => err instanceof PrerequisiteError && /ALTER ROLE "norepl" REPLICATION/.test(err.message));
    const p3 = await newSource(pgConfig({ ...server, user: 'norepl', password: 'pw' }, { 'slot.name': 'val3', 'publication.name': 'p_all' })).validate();
    assert.ok(p3.some((p) => p.severity === 'error' && p.message.includes('only a superuser may create a FOR ALL TABLES publication')), JSON.stringify(p3));
  });

  it('names wal_level = logical and the restart when the server runs with wal_level replica', async () => {
    const replica = await startPostgres({ flavor, settings: { wal_level: 'replica' } });
    try {
      const config = pgConfig(replica, { 'slot.name': 'walrep' });
      const problems = await newSource(config).validate();
      assert.ok(
        problems.some((p) => p.severity === 'error' && /wal_level is 'replica'.*set wal_level = logical in postgresql\.conf.*restart/.test(p.message)),
        JSON.stringify(problems),
      );
      await assert.rejects(drive(newSource(config), null, () => false), (err: unknown) => err instanceof PrerequisiteError && /wal_level = logical/.test(err.message));
    } finally {
      await replica.stop();
    }
  });

  it('reports a slot in use by another process with its pid, as a retriable failure (a zombie being fenced lets go)', async () => {
    const config = pgConfig(server, { 'slot.name': 'busy_slot', 'snapshot.mode': 'no_data', 'table.include.list': 'public.hb_captured' });
    let stop = false;
    const first = drive(newSource(config), null, () => stop, { timeoutMs: 30_000 });
    await waitFor('the slot to be streamed', async () => (await slotRow(db, 'busy_slot'))?.active === true);
    const pid = (await db.query<{ p: number }>(`SELECT active_pid AS p FROM pg_replication_slots WHERE slot_name = 'busy_slot'`)).rows[0]!.p;
    const problems = await newSource(config).validate();
    assert.ok(problems.some((p) => p.severity === 'error' && p.message.includes(`active for process ${pid}`)), JSON.stringify(problems));
    await assert.rejects(
      drive(newSource(config), null, () => false),
      (err: unknown) => err instanceof SluiceError && err.retriable && err.message.includes(String(pid)) && /pg_terminate_backend/.test(err.message),
    );
    stop = true;
    await db.query(`INSERT INTO public.hb_captured VALUES (1)`);
    await first;
  });

  it('a lost replication connection is a retriable error; a new source resumes from the last offset', async () => {
    const config = pgConfig(server, { 'slot.name': 'lost', 'snapshot.mode': 'no_data', 'table.include.list': 'public.hb_captured' });
    await db.query(`TRUNCATE public.hb_captured`);
    const into: Committed = { events: [], batches: [], offset: null };
    const running = drive(newSource(config), null, () => false, { into, timeoutMs: 30_000 });
    await waitFor('the slot to be streamed', async () => (await slotRow(db, 'lost'))?.active === true);
    await db.query(`INSERT INTO public.hb_captured VALUES (100)`);
    await waitFor('the first change', () => into.events.length >= 1);
    await db.query(`SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = 'lost'`);
    await assert.rejects(running, (err: unknown) => err instanceof ConnectionLostError && err.retriable);
    await db.query(`INSERT INTO public.hb_captured VALUES (101)`);
    const again = await drive(newSource(config), into.offset, (c) => c.events.length >= 1);
    assert.deepEqual(
      again.events.map((e) => ((e.value as Record<string, unknown>)['after'] as Record<string, unknown>)['id']),
      [101],
    );
  });

  it('drops the slot on stop when slot.drop.on.stop is set; a lost slot makes a stored offset unusable', async () => {
    const config = pgConfig(server, { 'slot.name': 'dropme', 'slot.drop.on.stop': true, 'table.include.list': 'public.hb_captured' });
    const c = await drive(newSource(config), null, (c) => c.batches.some((b) => b.acknowledgeable));
    assert.equal(await slotRow(db, 'dropme'), null, 'slot dropped');
    const stored = c.offset as SourceOffset;
    await assert.rejects(
      drive(newSource(pgConfig(server, { 'slot.name': 'dropme', 'table.include.list': 'public.hb_captured' })), stored, () => false),
      (err: unknown) => err instanceof OffsetError && /no longer exists/.test(err.message) && /when_needed/.test(err.message),
    );
    // when_needed takes a new snapshot instead
    const again = await drive(
      newSource(pgConfig(server, { 'slot.name': 'dropme', 'snapshot.mode': 'when_needed', 'slot.drop.on.stop': true, 'table.include.list': 'public.hb_captured' })),
      stored,
      (c) => c.batches.some((b) => b.acknowledgeable),
    );
    assert.ok(again.events.some((e) => (e.value as Record<string, unknown> | null)?.['op'] === 'r'));
  });
});
