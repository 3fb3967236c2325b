/**
 * A 200 000-row single transaction streams in bounded memory: batches end inside the transaction (nothing waits
 * for its commit), a slow consumer makes the binlog connection pause instead of buffering, and peak RSS stays
 * bounded. RSS is printed at points along the way.
 */
import { after as afterAll, before as beforeAll, describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import assert from 'node:assert/strict';
import type { Connection } from 'mysql2/promise';
import type { StructValue } from '../../src/events/schema.js';
import { startMariaDb, type MariaDbInstance } from '../support/mariadb.js';
import { adminConnection, connectorConfig, rssMb, source } from './helpers.js';

const ROWS = 200_000;

// A forced GC makes the live heap measurable (RSS also counts garbage not yet collected).
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
function liveHeapMb(): number {
  gc();
  return Math.round(process.memoryUsage().heapUsed / 1024 / 1024);
}
let db: MariaDbInstance;
let admin: Connection;

beforeAll(async () => {
  db = await startMariaDb();
  admin = await adminConnection(db);
  await admin.query('CREATE DATABASE bulk; CREATE TABLE bulk.t (id BIGINT PRIMARY KEY, v VARCHAR(100), n INT)');
});

afterAll(async () => {
  await admin?.end();
  await db?.stop();
});

describe('a 200k-row transaction', () => {
  it('streams with bounded memory, in batches that end inside the transaction', async () => {
    const src = source(connectorConfig(db, { 'database.include.list': 'bulk', 'snapshot.mode': 'no_data', 'max.batch.size': 1000 }));
    const iterator = src.stream(null)[Symbol.asyncIterator]();
    // the schema-only snapshot, then the stream is open
    const first = await iterator.next();
    assert.equal(first.done, false);

    const baseline = rssMb();
    const heapBaseline = liveHeapMb();
    let heapPeak = heapBaseline;
    console.log(`RSS before the transaction: ${baseline} MB, live heap ${heapBaseline} MB`);

    const writer = (async () => {
      const conn = await adminConnection(db);
      try {
        await conn.query('BEGIN');
        for (let start = 1; start <= ROWS; start += 5000) {
          const values = Array.from({ length: 5000 }, (_, i) => `(${start + i}, 'row ${start + i} ${'x'.repeat(60)}', ${i})`).join(',');
          await conn.query(`INSERT INTO bulk.t VALUES ${values}`);
        }
        await conn.query('COMMIT');
      } finally {
        await conn.end();
      }
    })();

    let seen = 0;
    let next = 1;
    let peak = baseline;
    let insideBatches = 0;
    let committed = false;
    let nextReport = 25_000;
    const started = Date.now();
    while (!committed) {
      const step = await iterator.next();
      if (step.done) break;
      const batch = step.value;
      for (const e of batch.events) {
        if (e.topic !== 'srv.bulk.t' || e.value === null) continue;
        const id = Number((e.value.after as StructValue).id);
        assert.equal(id, next, 'rows in order, none lost or repeated');
        next++;
        seen++;
      }
      if (batch.acknowledgeable === false && (batch.offset.row_skip as number) > 0) insideBatches++;
      if (seen === ROWS && batch.acknowledgeable) committed = true;
      peak = Math.max(peak, rssMb());
      if (seen >= nextReport) {
        const heap = liveHeapMb();
        heapPeak = Math.max(heapPeak, heap);
        console.log(`after ${seen} rows: RSS ${rssMb()} MB (peak ${peak} MB), live heap ${heap} MB`);
        nextReport += 25_000;
      }
      // a consumer slower than the binlog: the source must pause the connection rather than queue everything
      await new Promise((r) => setTimeout(r, 15));
    }
    await writer;
    await src.stop();
    await iterator.return?.(undefined);
    console.log(
      `200k-row transaction: ${seen} rows in ${((Date.now() - started) / 1000).toFixed(1)} s, ${insideBatches} batches ended ` +
        `inside it, RSS baseline ${baseline} MB, peak ${peak} MB (+${peak - baseline} MB), live heap ${heapBaseline} → peak ${heapPeak} MB`,
    );
    assert.equal(seen, ROWS);
    assert.ok(insideBatches >= 50, 'the transaction was delivered in many batches before its commit');
    assert.ok(peak - baseline < 200, `peak RSS grew by ${peak - baseline} MB`);
    assert.ok(heapPeak - heapBaseline < 15, `the live heap grew by ${heapPeak - heapBaseline} MB: the transaction is being buffered`);
  });
});
