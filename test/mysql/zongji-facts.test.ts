/**
 * Regression tests for what @vlasky/zongji 0.9.0 (pinned) does on MariaDB, and for each workaround Sluice relies on.
 * If a zongji upgrade changes one of these facts, the matching workaround in src/sources/mysql/zongji.ts or
 * columns.ts must be revisited.
 *
 * The first tests use zongji as published; the TABLE_MAP corrections are then applied (they patch zongji's classes
 * process-wide) and the later tests check the corrected behaviour.
 */
import { after as afterAll, before as beforeAll, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import ZongJi, { type AnyBinlogEvent } from '@vlasky/zongji';
import type { Connection } from 'mysql2/promise';
import { startMariaDb, type MariaDbInstance } from '../support/mariadb.js';
import { adminConnection } from './helpers.js';
import { BinlogClient, patchZongji, tableMapColumns } from '../../src/sources/mysql/zongji.js';
import { mapColumn, type ColumnDef } from '../../src/sources/mysql/columns.js';

let db: MariaDbInstance;
let admin: Connection;

async function position(): Promise<{ file: string; pos: number }> {
  const [rows] = (await admin.query('SHOW MASTER STATUS')) as unknown as [{ File: string; Position: number }[]];
  return { file: rows[0]!.File, pos: Number(rows[0]!.Position) };
}

/** Raw zongji events from `from` until `count` row events arrived. */
async function rawEvents(
  from: { file: string; pos: number },
  count: number,
  options: Record<string, unknown> = { dateStrings: true },
): Promise<AnyBinlogEvent[]> {
  const z = new ZongJi({ host: db.host, port: db.port, user: db.user, password: db.password, ...options });
  const events: AnyBinlogEvent[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`only ${events.length} events`)), 10_000);
      z.on('error', (err: Error) => {
        clearTimeout(timer);
        reject(err);
      });
      z.on('binlog', (e: AnyBinlogEvent) => {
        events.push(e);
        if (events.filter((x) => 'rows' in x).length >= count) {
          clearTimeout(timer);
          resolve();
        }
      });
      z.start({ serverId: 900 + Math.floor(Math.random() * 1000), filename: from.file, position: from.pos });
    });
  } finally {
    await new Promise<void>((resolve) => {
      z.once('stopped', () => resolve());
      z.stop();
      setTimeout(resolve, 1000);
    });
  }
  return events;
}

function rowsOf(events: AnyBinlogEvent[]): Record<string, unknown>[] {
  return events.flatMap((e) => ('rows' in e ? (e.rows as Record<string, unknown>[]) : []));
}

beforeAll(async () => {
  db = await startMariaDb();
  admin = await adminConnection(db);
  await admin.query('CREATE DATABASE facts');
});

afterAll(async () => {
  await admin?.end();
  await db?.stop();
});

describe('zongji as published', () => {
  it('without binlog_row_metadata=FULL mis-maps columns replayed across an ALTER TABLE, and empties ENUM values with a comma', async () => {
    await admin.query("SET GLOBAL binlog_row_metadata = 'NO_LOG'");
    try {
      await admin.query("CREATE TABLE facts.alt (id INT PRIMARY KEY, a INT, b VARCHAR(10), e ENUM('x,y','z'))");
      const from = await position();
      await admin.query("INSERT INTO facts.alt VALUES (1, 10, 'ten', 'x,y')");
      await admin.query('ALTER TABLE facts.alt DROP COLUMN a, ADD COLUMN c INT FIRST');
      const rows = rowsOf(await rawEvents(from, 1));
      // Decoded with today's columns (c, id, b, e): the values land in the wrong columns.
      assert.notDeepEqual(rows[0], { id: 1, a: 10, b: 'ten', e: 'x,y' });
      assert.equal(rows[0]!.a, undefined, 'column a no longer exists in information_schema');
    } finally {
      await admin.query("SET GLOBAL binlog_row_metadata = 'FULL'");
    }
    await admin.query("SET GLOBAL binlog_row_metadata = 'NO_LOG'");
    try {
      await admin.query("CREATE TABLE facts.en (id INT PRIMARY KEY, e ENUM('x,y','z'))");
      const from = await position();
      await admin.query("INSERT INTO facts.en VALUES (1, 'x,y'), (2, 'z')");
      const rows = rowsOf(await rawEvents(from, 1));
      assert.notEqual(rows[0]!.e, 'x,y', "the member list is split at the comma: 'x,y' cannot come back");
      assert.notEqual(rows[1]!.e, 'z');
    } finally {
      await admin.query("SET GLOBAL binlog_row_metadata = 'FULL'");
    }
  });

  it('with binlog_row_metadata=FULL decodes old events with their own columns', async () => {
    await admin.query("CREATE TABLE facts.alt2 (id INT PRIMARY KEY, a INT, b VARCHAR(10), e ENUM('x,y','z'))");
    const from = await position();
    await admin.query("INSERT INTO facts.alt2 VALUES (1, 10, 'ten', 'x,y')");
    await admin.query('ALTER TABLE facts.alt2 DROP COLUMN a, ADD COLUMN c INT FIRST');
    const rows = rowsOf(await rawEvents(from, 1));
    assert.deepEqual(rows[0], { id: 1, a: 10, b: 'ten', e: 'x,y' });
  });

  it('without dateStrings returns DATETIME(6) as a Date: microseconds lost, shifted by the process time zone', async () => {
    await admin.query('CREATE TABLE facts.dt (id INT PRIMARY KEY, d DATETIME(6), t TIME(6))');
    const from = await position();
    await admin.query("INSERT INTO facts.dt VALUES (1, '2020-01-02 03:04:05.123456', '-01:02:03.654321')");
    const saved = process.env.TZ;
    process.env.TZ = 'Asia/Kolkata';
    try {
      const [row] = rowsOf(await rawEvents(from, 1, {}));
      assert.ok(row!.d instanceof Date);
      assert.equal((row!.d as Date).toISOString(), '2020-01-01T21:34:05.123Z', 'read as local time: 5h30 off, no microseconds');
    } finally {
      if (saved === undefined) delete process.env.TZ;
      else process.env.TZ = saved;
    }
    const [exact] = rowsOf(await rawEvents(from, 1, { dateStrings: true }));
    assert.equal(exact!.d, '2020-01-02 03:04:05.123456');
    assert.equal(exact!.t, '-01:02:03.654321');
  });

  it('returns 64-bit integers as number or string depending on size, and FLOAT widened to double', async () => {
    await admin.query('CREATE TABLE facts.num (id INT PRIMARY KEY, b BIGINT, u BIGINT UNSIGNED, f FLOAT)');
    const from = await position();
    await admin.query(
      'INSERT INTO facts.num VALUES (1, 42, 18446744073709551615, 3.14), (2, -9223372036854775808, 9007199254740993, -0.1)',
    );
    const rows = rowsOf(await rawEvents(from, 1));
    assert.equal(rows[0]!.b, 42);
    assert.equal(rows[0]!.u, '18446744073709551615');
    assert.equal(rows[1]!.b, '-9223372036854775808');
    assert.equal(rows[1]!.u, '9007199254740993');
    assert.equal(rows[0]!.f, 3.140000104904175);
    // Sluice's mapping: exact BigInt and float32 semantics
    const colDef = (dataType: string, unsigned = false): ColumnDef => ({
      name: 'x', position: 1, dataType, columnType: dataType, unsigned, nullable: true, charset: null, collation: null,
      length: null, precision: null, scale: null, fsp: null, members: null, json: false, autoIncrement: false,
      generated: false, comment: null, defaultExpression: null,
    });
    const modes = { decimalMode: 'precise', timeMode: 'adaptive_time_microseconds', binaryMode: 'bytes', bigintUnsignedMode: 'precise' } as const;
    assert.equal(mapColumn(colDef('bigint'), modes).convert(rows[0]!.b), 42n);
    assert.equal(mapColumn(colDef('bigint'), modes).convert(rows[1]!.b), -9223372036854775808n);
    assert.equal(mapColumn(colDef('float'), modes).convert(rows[0]!.f), 3.14);
    assert.equal(mapColumn(colDef('float'), modes).convert(rows[1]!.f), -0.1);
  });

  it('gives every event its next position and, on MariaDB, its transaction GTID', async () => {
    await admin.query('CREATE TABLE facts.pos (id INT PRIMARY KEY)');
    const from = await position();
    await admin.query('INSERT INTO facts.pos VALUES (1)');
    const events = await rawEvents(from, 1);
    const [gtidRow] = (await admin.query('SELECT @@gtid_binlog_pos AS g')) as unknown as [{ g: string }[]];
    const write = events.find((e) => e.getTypeName() === 'WriteRows')!;
    assert.ok(write.nextPosition > from.pos);
    assert.equal(write.gtid, gtidRow[0]!.g);
    const gtidEvent = events.find((e) => e.getTypeName() === 'MariadbGtid')!;
    assert.equal(gtidEvent.gtid, gtidRow[0]!.g);
    for (const e of events.filter((x) => x.getTypeName() !== 'Rotate' && x.getTypeName() !== 'Format')) assert.ok(e.nextPosition > 0);
  });

  it("misreads MariaDB's charsets after a GEOMETRY column and parses geometries into {x, y}", async () => {
    await admin.query(
      "CREATE TABLE facts.geo (id INT PRIMARY KEY, g POINT, ch CHAR(3) CHARACTER SET latin1, bn BINARY(3), j JSON)",
    );
    const from = await position();
    await admin.query("INSERT INTO facts.geo VALUES (1, ST_GeomFromText('POINT(1 2)', 4326), 'abc', x'616263', '{\"k\":1}')");
    const [row] = rowsOf(await rawEvents(from, 1));
    assert.ok(Buffer.isBuffer(row!.ch), 'the CHAR column took the binary charset of its neighbour');
    assert.equal(typeof row!.bn, 'string', 'the BINARY column took a text charset');
    assert.deepEqual(row!.g, { x: 1, y: 2 }, 'the SRID and WKB are gone');
  });
});

describe('zongji with Sluice’s corrections', () => {
  it('reads the right charsets, raw geometry bytes and the NOT NULL flags', async () => {
    await patchZongji();
    const from = await position();
    await admin.query("INSERT INTO facts.geo VALUES (2, ST_GeomFromText('POINT(3 4)', 4326), 'xyz', x'000102', '[1]')");
    const client = new BinlogClient({ host: db.host, port: db.port, user: db.user, password: db.password });
    await client.start(4242, { kind: 'file', ...from });
    try {
      let columns: ReturnType<typeof tableMapColumns> = null;
      let row: Record<string, unknown> | undefined;
      while (!row) {
        const e = await client.next();
        if (!e) break;
        if (e.getTypeName() === 'TableMap') columns = tableMapColumns(client.zongji, e as unknown as { tableId: number });
        if ('rows' in e) row = (e.rows as Record<string, unknown>[])[0];
      }
      assert.equal(row!.ch, 'xyz');
      assert.deepEqual(row!.bn, Buffer.from([0, 1, 2]));
      assert.equal(row!.j, '[1]');
      assert.equal((row!.g as Buffer).toString('hex'), 'e6100000' + '0101000000' + '0000000000000840' + '0000000000001040');
      assert.deepEqual(
        columns?.map((c) => [c.name, c.columnType, c.charset, c.nullable]),
        [
          ['id', 'int', null, false],
          ['g', 'point', null, true],
          ['ch', 'char(3)', 'latin1', true],
          ['bn', 'binary(3)', null, true],
          ['j', 'longtext', 'utf8mb4', true],
        ],
      );
    } finally {
      await client.stop();
    }
  });

  it('resumes a MariaDB stream from a GTID position (slave_connect_state)', async () => {
    await admin.query('CREATE TABLE facts.g (id INT PRIMARY KEY)');
    await admin.query('INSERT INTO facts.g VALUES (1)');
    const [[{ g }]] = (await admin.query('SELECT @@gtid_binlog_pos AS g')) as unknown as [[{ g: string }]];
    await admin.query('INSERT INTO facts.g VALUES (2)');
    const client = new BinlogClient({ host: db.host, port: db.port, user: db.user, password: db.password });
    await client.start(4243, { kind: 'gtid', gtids: g });
    try {
      const seen: unknown[] = [];
      while (seen.length < 1) {
        const e = await client.next();
        if (!e) break;
        if ('rows' in e) seen.push(...(e.rows as { id: number }[]).map((r) => r.id));
      }
      assert.deepEqual(seen, [2]);
    } finally {
      await client.stop();
    }
  });
});
