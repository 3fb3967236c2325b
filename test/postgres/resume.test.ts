/**
 * Exactly-once at the snapshot/stream boundary and across restarts, under concurrent writers: every change event is
 * checked by a strict replay (no read/create of a present key, no update/delete of a missing one, every update's
 * counter exactly one more than the previous) and the replayed state must equal the table at the end.
 */
import assert from 'node:assert/strict';
import { after as afterAll, before as beforeAll, describe, it } from 'node:test';
import pg from 'pg';
import type { SourceOffset } from '../../src/events/change-event.js';
import type { StructValue } from '../../src/events/schema.js';
import { startPostgres, type PostgresFlavor, type PostgresInstance } from '../support/postgres.js';
import { admin, changes, drive, newSource, pgConfig, strictReplay, type Committed } from './helpers.js';

const flavor = (process.env['SLUICE_PG_FLAVOR'] as PostgresFlavor | undefined) ?? 'embedded';

/** A deterministic writer: inserts, counter updates, deletes, primary key changes; logs nothing but keeps going. */
class Writer {
  private live: number[] = [];
  private nextId: number;
  private seed: number;
  private stopped = false;
  private loop: Promise<void> | null = null;
  ops = 0;

  constructor(
    private readonly db: pg.Client,
    private readonly table: string,
    firstId: number,
    existing: number[],
    seed = 42,
  ) {
    this.nextId = firstId;
    this.live = [...existing];
    this.seed = seed;
  }

  private rand(n: number): number {
    this.seed = (this.seed * 1103515245 + 12345) & 0x7fffffff;
    return this.seed % n;
  }

  private pick(): number | null {
    if (this.live.length === 0) return null;
    return this.live[this.rand(this.live.length)] as number;
  }

  async step(): Promise<void> {
    const r = this.rand(100);
    const batch = this.rand(10) === 0 ? 3 : 1;
    if (batch > 1) await this.db.query('BEGIN');
    for (let i = 0; i < batch; i++) {
      const id = this.pick();
      if (r < 45 || id === null) {
        const n = this.nextId++;
        await this.db.query(`INSERT INTO ${this.table} (id, v, pad) VALUES ($1, 0, $2)`, [n, `p${n}`]);
        this.live.push(n);
      } else if (r < 80) {
        await this.db.query(`UPDATE ${this.table} SET v = v + 1 WHERE id = $1`, [id]);
      } else if (r < 92) {
        await this.db.query(`DELETE FROM ${this.table} WHERE id = $1`, [id]);
        this.live = this.live.filter((x) => x !== id);
      } else {
        const n = this.nextId++;
        await this.db.query(`UPDATE ${this.table} SET id = $2 WHERE id = $1`, [id, n]);
        this.live = this.live.filter((x) => x !== id);
        this.live.push(n);
      }
      this.ops++;
    }
    if (batch > 1) await this.db.query('COMMIT');
  }

  start(pauseMs = 1): void {
    this.loop = (async () => {
      while (!this.stopped) {
        await this.step();
        if (pauseMs > 0) await new Promise((r) => setTimeout(r, pauseMs));
      }
    })();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
  }
}

async function tableState(db: pg.Client, table: string): Promise<Map<string, StructValue>> {
  const r = await db.query<{ id: number; v: number; pad: string }>(`SELECT id, v, pad FROM ${table}`);
  return new Map(r.rows.map((row) => [String(row.id), { id: row.id, v: row.v, pad: row.pad }]));
}

function sameState(replayed: Map<string, StructValue>, actual: Map<string, StructValue>): void {
  assert.equal(replayed.size, actual.size, 'row count');
  for (const [k, row] of actual) {
    assert.deepEqual(replayed.get(k), row, `row ${k}`);
  }
}

const sentinelSeen = (c: Committed) => c.events.some((e) => e.topic === 'srv.public.sentinel' && e.value !== null);

describe(`Postgres exactly-once under concurrent writes (${flavor})`, () => {
  let server: PostgresInstance;
  let db: pg.Client;
  let writerDb: pg.Client;

  beforeAll(async () => {
    server = await startPostgres({ flavor });
    db = await admin(server);
    writerDb = await admin(server);
    await db.query(`CREATE TABLE public.sentinel (id int PRIMARY KEY)`);
  });
  afterAll(async () => {
    await writerDb?.end();
    await db?.end();
    await server?.stop();
  });

  async function setup(table: string, rows: number): Promise<Writer> {
    await db.query(`CREATE TABLE ${table} (id int PRIMARY KEY, v int NOT NULL, pad text)`);
    await db.query(`INSERT INTO ${table} SELECT g, 0, 'p' || g FROM generate_series(1, ${rows}) g`);
    return new Writer(writerDb, table, rows + 1, Array.from({ length: rows }, (_, i) => i + 1));
  }

  async function finish(writer: Writer, sentinelId: number): Promise<void> {
    await writer.stop();
    await db.query(`INSERT INTO public.sentinel VALUES ($1)`, [sentinelId]);
  }

  it('snapshot/stream boundary: every row change exactly once while writers keep writing', async () => {
    const writer = await setup('public.w1', 3000);
    writer.start();
    const src = newSource(pgConfig(server, { 'slot.name': 'w1', 'table.include.list': 'public.w1,public.sentinel', 'snapshot.fetch.size': 200 }));
    let finishing: Promise<void> | null = null;
    const c = await drive(src, null, sentinelSeen, {
      onBatch: (b, c) => {
        if (finishing === null && b.acknowledgeable && c.events.length > 4000) finishing = finish(writer, 1);
      },
    });
    await finishing;
    assert.ok(writer.ops > 100, `the writer wrote (${writer.ops} ops)`);
    const ev = changes(c.events, 'srv.public.w1');
    assert.ok(ev.some((e) => e['op'] === 'r') && ev.some((e) => e['op'] !== 'r'));
    sameState(strictReplay(c.events, 'srv.public.w1'), await tableState(db, 'public.w1'));
  });

  it('restart mid-snapshot resumes after the last key in a new snapshot: no loss, no duplicate', async () => {
    const writer = await setup('public.w2', 4000);
    await db.query(`CREATE TABLE public.w2b (id int PRIMARY KEY, v int NOT NULL, pad text)`);
    await db.query(`INSERT INTO public.w2b SELECT g, 0, 'p' || g FROM generate_series(1, 500) g`);
    writer.start();
    const config = pgConfig(server, { 'slot.name': 'w2', 'table.include.list': 'public.w2,public.w2b,public.sentinel', 'snapshot.fetch.size': 250 });
    const first = await drive(newSource(config), null, (c) => c.batches.length >= 6);
    const stored = first.offset as SourceOffset;
    const progress = stored['snapshot'] as { done: number; last_key: string[] | null };
    assert.ok(progress && progress.last_key !== null, 'stopped inside a table');
    // the writer keeps writing while the connector is down
    await new Promise((r) => setTimeout(r, 300));
    let finishing: Promise<void> | null = null;
    const second = await drive(newSource(config), stored, sentinelSeen, {
      onBatch: (b, c) => {
        if (finishing === null && b.acknowledgeable && c.events.length > 500) finishing = finish(writer, 2);
      },
    });
    await finishing;
    const all = [...first.events, ...second.events];
    sameState(strictReplay(all, 'srv.public.w2'), await tableState(db, 'public.w2'));
    const w2b = strictReplay(all, 'srv.public.w2b');
    assert.equal(w2b.size, 500);
    const offset = second.offset as SourceOffset;
    assert.equal(offset['snapshot'], undefined);
  });

  it('restart between transactions and again inside a multi-batch transaction: no loss, no duplicate', async () => {
    const writer = await setup('public.w3', 100);
    const config = pgConfig(server, {
      'slot.name': 'w3',
      'table.include.list': 'public.w3,public.sentinel',
      'max.batch.size': 50,
    });
    writer.start(0);
    // run 1: stop after a few streamed transactions (between transactions)
    const r1 = await drive(newSource(config), null, (c) => c.batches.filter((b) => b.acknowledgeable).length >= 20);
    // a transaction large enough to span several batches
    await writerDb.query('BEGIN');
    await writerDb.query(`INSERT INTO public.w3 (id, v, pad) SELECT g, 0, 'big' FROM generate_series(1000000, 1000999) g`);
    await writerDb.query(`UPDATE public.w3 SET v = v + 1 WHERE id BETWEEN 1000000 AND 1000499`);
    await writerDb.query('COMMIT');
    // run 2: stop inside that transaction
    const r2 = await drive(newSource(config), r1.offset, (c) => {
      const o = c.offset as SourceOffset | null;
      return o !== null && typeof o['events_in_tx'] === 'number' && o['events_in_tx'] > 300;
    });
    assert.ok(((r2.offset as SourceOffset)['events_in_tx'] as number) > 0, 'stopped inside the transaction');
    let finishing: Promise<void> | null = null;
    const r3 = await drive(newSource(config), r2.offset, sentinelSeen, {
      onBatch: (b) => {
        if (finishing === null && b.acknowledgeable) finishing = finish(writer, 3);
      },
    });
    await finishing;
    const all = [...r1.events, ...r2.events, ...r3.events];
    sameState(strictReplay(all, 'srv.public.w3'), await tableState(db, 'public.w3'));
  });
});
