/**
 * Every column type, extremes and NULLs, written from a session in time zone +05:30: the snapshot (mysql2 query
 * results) and the binlog (zongji) must produce identical values, and the values must be exactly what Debezium
 * emits (TIMESTAMP in UTC, DATETIME not shifted).
 */
import { after as afterAll, before as beforeAll, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Connection } from 'mysql2/promise';
import type { ChangeEvent } from '../../src/events/change-event.js';
import type { ConnectSchema, StructValue } from '../../src/events/schema.js';
import { Logical } from '../../src/events/schema.js';
import { startMariaDb, type MariaDbInstance } from '../support/mariadb.js';
import { adminConnection, after, before, connectorConfig, dataEvents, drive, op, plain, source } from './helpers.js';

let db: MariaDbInstance;
let writer: Connection;

const TABLE = `CREATE TABLE types.t (
  id INT PRIMARY KEY,
  ti TINYINT, tiu TINYINT UNSIGNED, t1 TINYINT(1), bo BOOLEAN,
  si SMALLINT, siu SMALLINT UNSIGNED, mi MEDIUMINT, miu MEDIUMINT UNSIGNED,
  i INT, iu INT UNSIGNED, bi BIGINT, biu BIGINT UNSIGNED,
  dec1 DECIMAL(65,30), dec2 DECIMAL(10,2), decu DECIMAL(5,0) UNSIGNED,
  f FLOAT, fmd FLOAT(7,3), d DOUBLE,
  b1 BIT(1), b10 BIT(10), b64 BIT(64),
  c CHAR(5) CHARACTER SET utf8mb4, vc VARCHAR(50) CHARACTER SET utf8mb4, tx TEXT CHARACTER SET utf8mb4,
  lt LONGTEXT CHARACTER SET latin1, vl VARCHAR(20) CHARACTER SET latin1,
  bn BINARY(4), vb VARBINARY(10), bl BLOB, tb TINYBLOB,
  dt DATE, tm TIME, tm6 TIME(6), dtt DATETIME, dtt3 DATETIME(3), dtt6 DATETIME(6),
  ts TIMESTAMP NULL DEFAULT NULL, ts6 TIMESTAMP(6) NULL DEFAULT NULL,
  y YEAR,
  j JSON,
  e ENUM('a','b,c','d''q'), s SET('x','y','z'),
  g GEOMETRY, p POINT, ls LINESTRING,
  u UUID, i4 INET4, i6 INET6
) CHARACTER SET utf8mb4`;

const ROWS = [
  `(1, 127, 255, 1, TRUE, 32767, 65535, 8388607, 16777215, 2147483647, 4294967295, 9223372036854775807, 18446744073709551615,
    '12345678901234567890123456789012345.123456789012345678901234567890', 99999999.99, 99999,
    3.14, 1234.567, 1.7976931348623157e308,
    b'1', b'1000000001', b'1111111111111111111111111111111111111111111111111111111111111111',
    'héllo', 'emoji 😀🚀 and ñ', 'long 😀 text', 'café €', 'Zürich',
    x'61000000', x'0000ff00', x'00010203fffe', x'',
    '9999-12-31', '838:59:59', '838:59:59.999999', '9999-12-31 23:59:59', '9999-12-31 23:59:59.999', '9999-12-31 23:59:59.999999',
    '2038-01-19 08:44:07', '2038-01-19 08:44:07.999999',
    2155,
    '{"k": "😀", "n": [1, 2.5, null], "big": 12345678901234567890}',
    'b,c', 'x,z',
    ST_GeomFromText('POLYGON((0 0,1 0,1 1,0 0))', 4326), ST_GeomFromText('POINT(1.5 -2.25)', 4326), ST_GeomFromText('LINESTRING(0 0,1 1)'),
    'f47ac10b-58cc-4372-a567-0e02b2c3d479', '255.255.255.255', '2001:db8::1')`,
  `(2, -128, 0, 0, FALSE, -32768, 0, -8388608, 0, -2147483648, 0, -9223372036854775808, 0,
    '-12345678901234567890123456789012345.123456789012345678901234567890', -99999999.99, 0,
    -3.40282e38, -1234.567, -2.2250738585072014e-308,
    b'0', b'0', b'0',
    '', '', '', '', '',
    x'00000000', x'', x'00', x'ff',
    '1000-01-01', '-838:59:59', '-838:59:59.000000', '1000-01-01 00:00:00', '1000-01-01 00:00:00.000', '1000-01-01 00:00:00.000001',
    '1970-01-01 05:30:01', '1970-01-01 05:30:01.000001',
    1901,
    '[]',
    'd''q', '',
    ST_GeomFromText('POINT(0 0)'), ST_GeomFromText('POINT(0 0)', 3857), ST_GeomFromText('LINESTRING(1 2,3 4,5 6)', 4326),
    '00000000-0000-0000-0000-000000000000', '0.0.0.0', '::ffff:1.2.3.4')`,
  `(3, ${Array.from({ length: 48 }, () => 'NULL').join(', ')})`,
  `(4, 0, 1, 2, 1, 0, 1, 0, 1, 0, 1, 9007199254740993, 9223372036854775808,
    '0.000000000000000000000000000001', 0.01, 1,
    0.1, 0.001, 0.1,
    b'1', b'1', b'1000000000000000000000000000000000000000000000000000000000000000',
    'a  ', 'trailing  ', 'x', 'y', 'z',
    x'01', x'01', x'01', x'01',
    '0000-00-00', '-00:00:01', '-00:00:00.500000', '0000-00-00 00:00:00', '2020-02-29 12:34:56.789', '1969-12-31 23:59:59.999999',
    '2020-06-30 23:30:00', '2020-02-29 05:30:00.123456',
    0,
    '"just a string"',
    'a', 'x,y,z',
    ST_GeomFromText('MULTIPOINT(1 1,2 2)'), ST_GeomFromText('POINT(-1 1)'), ST_GeomFromText('LINESTRING(0 0,0 1)'),
    'ffffffff-ffff-ffff-ffff-ffffffffffff', '10.0.0.1', 'fe80::1:2')`,
];

function insertSql(offset = 0): string {
  return `INSERT INTO types.t VALUES ${ROWS.map((r) => r.replace(/^\((\d+)/, (_m, id: string) => `(${Number(id) + offset}`)).join(',\n')}`;
}

function byId(events: ChangeEvent[], pick: (e: ChangeEvent) => StructValue): Map<number, StructValue> {
  return new Map(events.map((e) => [Number(pick(e).id), pick(e)]));
}

let snapshotRows: Map<number, StructValue>;
let streamInserts: Map<number, StructValue>;
let streamDeletes: Map<number, StructValue>;
let snapshotSchema: ConnectSchema | null;
let streamSchema: ConnectSchema | null;

beforeAll(async () => {
  db = await startMariaDb();
  writer = await adminConnection(db);
  await writer.query("SET time_zone = '+05:30', sql_mode = ''");
  await writer.query('CREATE DATABASE types');
  await writer.query(TABLE);
  await writer.query(insertSql());

  const config = connectorConfig(db, { 'database.include.list': 'types', 'snapshot.mode': 'initial_only' });
  const snap = await drive(source(config), null, () => false);
  const reads = dataEvents(snap.events).filter((e) => op(e) === 'r');
  snapshotRows = byId(reads, after);
  snapshotSchema = reads[0]!.valueSchema;

  const streaming = drive(source({ ...config, 'snapshot.mode': 'initial' }), snap.offset, (ev) => dataEvents(ev).filter((e) => op(e) === 'c').length >= ROWS.length * 2);
  await writer.query('DELETE FROM types.t');
  await writer.query(insertSql());
  await writer.query(insertSql(100));
  const res = await streaming;
  const data = dataEvents(res.events);
  streamDeletes = byId(data.filter((e) => op(e) === 'd'), before);
  const inserts = data.filter((e) => op(e) === 'c' && Number(after(e).id) < 100);
  streamInserts = byId(inserts, after);
  streamSchema = inserts[0]!.valueSchema;
});

afterAll(async () => {
  await writer?.end();
  await db?.stop();
});

describe('type round trip (MariaDB)', () => {
  it('gives identical values and schemas on the snapshot and binlog paths', () => {
    assert.equal(snapshotRows.size, ROWS.length);
    assert.deepEqual(plain(streamSchema), plain(snapshotSchema));
    for (const [id, snap] of snapshotRows) {
      assert.deepEqual(plain(streamInserts.get(id)), plain(snap), `insert of row ${id}`);
      assert.deepEqual(plain(streamDeletes.get(id)), plain(snap), `delete of row ${id}`);
    }
  });

  it('maps integers exactly', () => {
    const max = snapshotRows.get(1)!;
    const min = snapshotRows.get(2)!;
    assert.deepEqual([max.ti, max.tiu, max.t1, max.bo, max.si, max.siu, max.mi, max.miu, max.i], [127, 255, 1, 1, 32767, 65535, 8388607, 16777215, 2147483647]);
    assert.equal(max.iu, 4294967295n);
    assert.equal(max.bi, 9223372036854775807n);
    assert.equal(max.biu, -1n, 'BIGINT UNSIGNED in long mode wraps like Debezium');
    assert.equal(min.bi, -9223372036854775808n);
    assert.equal(snapshotRows.get(4)!.bi, 9007199254740993n);
    assert.equal(snapshotRows.get(4)!.biu, -9223372036854775808n);
  });

  it('maps floats, doubles and decimals', () => {
    const r1 = snapshotRows.get(1)!;
    assert.equal(r1.f, 3.14);
    assert.equal(r1.fmd, 1234.567);
    assert.equal(r1.d, 1.7976931348623157e308);
    assert.equal(snapshotRows.get(2)!.f, -3.40282e38);
    assert.equal(snapshotRows.get(4)!.f, 0.1);
    assert.equal(snapshotRows.get(4)!.d, 0.1);
    const dec = Buffer.from(r1.dec1 as Uint8Array);
    const unscaled = BigInt('0x' + dec.toString('hex'));
    assert.equal(unscaled, 12345678901234567890123456789012345123456789012345678901234567890n);
  });

  it('maps text in utf8mb4 and latin1, and binary with fixed-width padding', () => {
    const r1 = snapshotRows.get(1)!;
    assert.equal(r1.vc, 'emoji 😀🚀 and ñ');
    assert.equal(r1.lt, 'café €');
    assert.equal(r1.vl, 'Zürich');
    assert.deepEqual(plain(r1.bn), 'hex:61000000');
    assert.deepEqual(plain(r1.vb), 'hex:0000ff00');
    assert.deepEqual(plain(r1.tb), 'hex:');
    assert.equal(snapshotRows.get(4)!.vc, 'trailing  ');
  });

  it('maps BIT(1) to boolean and BIT(n) to little-endian Bits', () => {
    const r1 = snapshotRows.get(1)!;
    assert.equal(r1.b1, true);
    assert.deepEqual(plain(r1.b10), 'hex:0102');
    assert.deepEqual(plain(r1.b64), 'hex:ffffffffffffffff');
    assert.deepEqual(plain(snapshotRows.get(4)!.b64), 'hex:0000000000000080');
    assert.equal(snapshotRows.get(2)!.b1, false);
  });

  it('maps dates and times exactly, TIMESTAMP to UTC, DATETIME unshifted, zero dates to null', () => {
    const r1 = snapshotRows.get(1)!;
    const r2 = snapshotRows.get(2)!;
    const r4 = snapshotRows.get(4)!;
    assert.equal(r1.dt, 2932896);
    assert.equal(r2.dt, -354285);
    assert.equal(r1.tm, 3020399000000n);
    assert.equal(r1.tm6, 3020399999999n);
    assert.equal(r2.tm6, -3020399000000n);
    assert.equal(r4.tm, -1000000n);
    assert.equal(r4.tm6, -500000n);
    assert.equal(r1.dtt, 253402300799000n, 'DATETIME(0) → io.debezium.time.Timestamp (ms)');
    assert.equal(r1.dtt3, 253402300799999n);
    assert.equal(r1.dtt6, 253402300799999999n, 'DATETIME(6) → MicroTimestamp (µs)');
    assert.equal(r2.dtt6, -30610224000000000n + 1n);
    assert.equal(r4.dtt6, -1n);
    assert.equal(r4.dtt3, 1582979696789n);
    assert.equal(r1.ts, '2038-01-19T03:14:07Z');
    assert.equal(r1.ts6, '2038-01-19T03:14:07.999999Z');
    assert.equal(r2.ts, '1970-01-01T00:00:01Z');
    assert.equal(r2.ts6, '1970-01-01T00:00:01.000001Z');
    assert.equal(r4.ts, '2020-06-30T18:00:00Z');
    assert.equal(r4.ts6, '2020-02-29T00:00:00.123456Z');
    assert.equal(r4.dt, null, 'zero DATE');
    assert.equal(r4.dtt, null, 'zero DATETIME');
    assert.deepEqual([r1.y, r2.y, r4.y], [2155, 1901, 0]);
  });

  it('maps JSON, ENUM, SET, geometry, UUID and INET', () => {
    const r1 = snapshotRows.get(1)!;
    const r2 = snapshotRows.get(2)!;
    assert.equal(r1.j, '{"k": "😀", "n": [1, 2.5, null], "big": 12345678901234567890}');
    assert.equal(snapshotRows.get(4)!.j, '"just a string"');
    assert.equal(r1.e, 'b,c');
    assert.equal(r2.e, "d'q");
    assert.equal(r1.s, 'x,z');
    assert.equal(r2.s, '');
    const g = r1.g as { wkb: Uint8Array; srid: number };
    assert.equal(g.srid, 4326);
    assert.equal(Buffer.from(g.wkb).readUInt32LE(1), 3, 'WKB polygon');
    const p = r1.p as { x: number; y: number; srid: number };
    assert.deepEqual([p.x, p.y, p.srid], [1.5, -2.25, 4326]);
    assert.equal((r2.p as { srid: number }).srid, 3857);
    assert.equal(r1.u, 'f47ac10b-58cc-4372-a567-0e02b2c3d479');
    assert.equal(r1.i4, '255.255.255.255');
    assert.equal(r1.i6, '2001:db8::1');
    assert.equal(r2.i6, '::ffff:1.2.3.4');
    assert.equal(snapshotRows.get(4)!.i6, 'fe80::1:2');
  });

  it('gives NULL for every nullable column of an all-NULL row', () => {
    const r3 = snapshotRows.get(3)!;
    for (const [k, v] of Object.entries(r3)) if (k !== 'id') assert.equal(v, null, k);
  });

  it('names the logical types as Debezium does', () => {
    const fields = new Map((snapshotSchema!.fields!.find((f) => f.name === 'after')!.schema.fields ?? []).map((f) => [f.name, f.schema]));
    const expect: Record<string, [string, string | undefined]> = {
      ti: ['int16', undefined],
      t1: ['int16', undefined],
      siu: ['int32', undefined],
      iu: ['int64', undefined],
      biu: ['int64', undefined],
      dec1: ['bytes', Logical.Decimal],
      f: ['float32', undefined],
      fmd: ['float64', undefined],
      b1: ['boolean', undefined],
      b10: ['bytes', Logical.Bits],
      dt: ['int32', Logical.Date],
      tm: ['int64', Logical.MicroTime],
      dtt: ['int64', Logical.Timestamp],
      dtt3: ['int64', Logical.Timestamp],
      dtt6: ['int64', Logical.MicroTimestamp],
      ts6: ['string', Logical.ZonedTimestamp],
      y: ['int32', Logical.Year],
      j: ['string', Logical.Json],
      e: ['string', Logical.Enum],
      s: ['string', Logical.EnumSet],
      g: ['struct', Logical.Geometry],
      p: ['struct', Logical.Point],
      u: ['string', Logical.Uuid],
      i6: ['string', undefined],
      bn: ['bytes', undefined],
    };
    for (const [name, [type, logical]] of Object.entries(expect)) {
      const s = fields.get(name)!;
      assert.equal(s.type, type, name);
      assert.equal(s.name, logical, name);
      assert.equal(s.optional, true, name);
    }
    assert.equal(fields.get('id')!.optional, false);
    assert.equal(fields.get('e')!.parameters?.allowed, "a,b,c,d'q");
    assert.equal(fields.get('b10')!.parameters?.length, '10');
  });

  it('applies the handling modes on both paths', async () => {
    const config = connectorConfig(db, {
      'database.include.list': 'types',
      'snapshot.mode': 'initial',
      'decimal.handling.mode': 'string',
      'binary.handling.mode': 'base64',
      'bigint.unsigned.handling.mode': 'precise',
      'time.precision.mode': 'connect',
    });
    const run = drive(source(config), null, (ev) => dataEvents(ev).filter((e) => op(e) === 'u').length >= 1);
    await new Promise((r) => setTimeout(r, 200));
    await writer.query("UPDATE types.t SET c = 'upd' WHERE id = 1");
    const res = await run;
    const data = dataEvents(res.events);
    const snap = data.find((e) => op(e) === 'r' && after(e).id === 1)!;
    const upd = data.find((e) => op(e) === 'u')!;
    for (const row of [after(snap), before(upd)]) {
      assert.equal(row.dec1, '12345678901234567890123456789012345.123456789012345678901234567890');
      assert.equal(row.dec2, '99999999.99');
      assert.equal(row.bn, 'YQAAAA==');
      assert.deepEqual(plain(row.biu), 'hex:00ffffffffffffffff');
      assert.equal(row.dtt3, 253402300799999n);
      assert.equal(row.tm, 3020399000, 'Connect Time: milliseconds');
    }
    assert.deepEqual(plain({ ...before(upd) }), plain(after(snap)));
  });
});
