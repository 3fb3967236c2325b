import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { float32Value, formatInet6, mapColumn, type ColumnDef, type MappingOptions } from '../../src/sources/mysql/columns.js';
import { classifyQuery, stripComments } from '../../src/sources/mysql/ddl.js';
import { CaptureFilter } from '../../src/sources/mysql/filters.js';
import { compareKeys, comparableKey, keyAfterCondition } from '../../src/sources/mysql/keys.js';
import { atOrAfter, committedBefore, compareFilePos, decodeOffset, encodeOffset } from '../../src/sources/mysql/offset.js';
import { binlogSignature, columnFromBinlog, parseMembers } from '../../src/sources/mysql/table-defs.js';
import { parseGrants } from '../../src/sources/mysql/connection.js';
import { checkServerSettings } from '../../src/sources/mysql/validate.js';
import { Logical } from '../../src/events/schema.js';
import { MARIADB_SOURCE_SCHEMA } from '../../src/events/source-info.js';
import { SchemaHistory } from '../../src/sources/mysql/schema-history.js';

const MODES: MappingOptions = {
  decimalMode: 'precise',
  timeMode: 'adaptive_time_microseconds',
  binaryMode: 'bytes',
  bigintUnsignedMode: 'long',
};

function col(dataType: string, extra: Partial<ColumnDef> = {}): ColumnDef {
  return {
    name: 'c',
    position: 1,
    dataType,
    columnType: dataType,
    unsigned: false,
    nullable: true,
    charset: null,
    collation: null,
    length: null,
    precision: null,
    scale: null,
    fsp: null,
    members: null,
    json: false,
    autoIncrement: false,
    generated: false,
    comment: null,
    defaultExpression: null,
    ...extra,
  };
}

describe('FLOAT: float32 semantics', () => {
  it('gives the shortest decimal of the stored float32', () => {
    assert.equal(float32Value(3.140000104904175), 3.14);
    assert.equal(float32Value(3.1415927410125732), 3.1415927);
    assert.equal(float32Value(3.4028234663852886e38), 3.4028235e38);
    assert.equal(float32Value(1.1754943508222875e-38), 1.1754944e-38);
    assert.equal(float32Value(16777216), 16777216);
    assert.equal(float32Value('0.1'), 0.1);
    assert.equal(float32Value(0), 0);
    for (const x of [3.14, -2.5e-7, 123456.7, 1e-45]) assert.equal(Math.fround(float32Value(Math.fround(x))), Math.fround(x));
  });
});

describe('INET6 / UUID text', () => {
  it('prints INET6 as MariaDB does', () => {
    const hex = (h: string) => Buffer.from(h, 'hex');
    assert.equal(formatInet6(hex('00000000000000000000ffff01020304')), '::ffff:1.2.3.4');
    assert.equal(formatInet6(hex('20010db8000000000000000000000001')), '2001:db8::1');
    assert.equal(formatInet6(hex('00000000000000000000000000000000')), '::');
    assert.equal(formatInet6(hex('00000000000000000000000000000001')), '::1');
    assert.equal(formatInet6(hex('20010db8000100000001000000000001')), '2001:db8:1:0:1::1');
    assert.equal(formatInet6(hex('fe800000000000000000000000000000')), 'fe80::');
  });
});

describe('type mapping', () => {
  it('maps integers as Debezium (TINYINT → int16, INT UNSIGNED → int64, BIGINT UNSIGNED per mode)', () => {
    assert.equal(mapColumn(col('tinyint'), MODES).schema.type, 'int16');
    assert.equal(mapColumn(col('smallint', { unsigned: true }), MODES).schema.type, 'int32');
    assert.equal(mapColumn(col('mediumint', { unsigned: true }), MODES).schema.type, 'int32');
    const intU = mapColumn(col('int', { unsigned: true }), MODES);
    assert.equal(intU.schema.type, 'int64');
    assert.equal(intU.convert(4294967295), 4294967295n);
    const big = mapColumn(col('bigint'), MODES);
    assert.equal(big.convert('-9223372036854775808'), -9223372036854775808n);
    assert.equal(big.convert(42), 42n);
    const longMode = mapColumn(col('bigint', { unsigned: true }), MODES);
    assert.equal(longMode.convert('18446744073709551615'), -1n, 'long mode wraps like a Java long');
    const precise = mapColumn(col('bigint', { unsigned: true }), { ...MODES, bigintUnsignedMode: 'precise' });
    assert.equal(precise.schema.name, Logical.Decimal);
    assert.deepEqual([...(precise.convert('18446744073709551615') as Uint8Array)], [0, 255, 255, 255, 255, 255, 255, 255, 255]);
  });

  it('maps BIT(1) to boolean and BIT(n) to little-endian Bits', () => {
    assert.equal(mapColumn(col('bit', { precision: 1 }), MODES).convert(Buffer.from([1])), true);
    const bits = mapColumn(col('bit', { precision: 10 }), MODES);
    assert.equal(bits.schema.name, Logical.Bits);
    assert.equal(bits.schema.parameters?.length, '10');
    assert.deepEqual([...(bits.convert(Buffer.from([0x02, 0x01])) as Uint8Array)], [0x01, 0x02]);
  });

  it('maps DECIMAL in all modes', () => {
    const d = col('decimal', { precision: 10, scale: 2 });
    assert.deepEqual([...(mapColumn(d, MODES).convert('-1.50') as Uint8Array)], [0xff, 0x6a]);
    assert.equal(mapColumn(d, { ...MODES, decimalMode: 'string' }).convert('-1.50'), '-1.50');
    assert.equal(mapColumn(d, { ...MODES, decimalMode: 'double' }).convert('-1.50'), -1.5);
    assert.deepEqual(mapColumn(d, MODES).schema.parameters, { scale: '2', 'connect.decimal.precision': '10' });
  });

  it('maps temporal types without time zone shifts', () => {
    const dt6 = mapColumn(col('datetime', { fsp: 6 }), MODES);
    assert.equal(dt6.schema.name, Logical.MicroTimestamp);
    assert.equal(dt6.convert('2020-01-02 03:04:05.123456'), 1577934245123456n);
    const dt3 = mapColumn(col('datetime', { fsp: 3 }), MODES);
    assert.equal(dt3.schema.name, Logical.Timestamp);
    assert.equal(dt3.convert('1969-12-31 23:59:59.999'), -1n);
    const time = mapColumn(col('time', { fsp: 6 }), MODES);
    assert.equal(time.schema.name, Logical.MicroTime);
    assert.equal(time.convert('-838:59:59.000000'), -3020399000000n);
    assert.equal(time.convert('-00:00:01.500000'), -1500000n);
    const ts = mapColumn(col('timestamp', { fsp: 3 }), MODES);
    assert.equal(ts.schema.name, Logical.ZonedTimestamp);
    assert.equal(ts.convert('2020-01-01 21:34:05.500'), '2020-01-01T21:34:05.500Z');
    assert.equal(mapColumn(col('timestamp', { fsp: 0 }), MODES).convert('2038-01-19 03:14:07'), '2038-01-19T03:14:07Z');
    assert.equal(mapColumn(col('date'), MODES).convert('1970-01-02'), 1);
  });

  it('turns zero dates into null, or the epoch for NOT NULL columns', () => {
    assert.equal(mapColumn(col('date'), MODES).convert('0000-00-00'), null);
    assert.equal(mapColumn(col('date', { nullable: false }), MODES).convert('0000-00-00'), 0);
    assert.equal(mapColumn(col('datetime', { fsp: 0 }), MODES).convert('0000-00-00 00:00:00'), null);
    assert.equal(mapColumn(col('timestamp', { fsp: 0, nullable: false }), MODES).convert('0000-00-00 00:00:00'), '1970-01-01T00:00:00Z');
    assert.equal(mapColumn(col('year'), MODES).convert(1900), 0, "zongji's zero YEAR");
  });

  it('maps other types', () => {
    const e = mapColumn(col('enum', { members: ['a,b', 'c'] }), MODES);
    assert.equal(e.schema.parameters?.allowed, 'a,b,c');
    assert.equal(e.convert(undefined), '', 'an invalid ENUM value (index 0) is the empty string');
    assert.equal(mapColumn(col('longtext', { json: true, charset: 'utf8mb4' }), MODES).schema.name, Logical.Json);
    assert.equal(mapColumn(col('uuid'), MODES).convert(Buffer.from('f47ac10b58cc4372a5670e02b2c3d479', 'hex')), 'f47ac10b-58cc-4372-a567-0e02b2c3d479');
    assert.equal(mapColumn(col('varbinary'), { ...MODES, binaryMode: 'hex' }).convert(Buffer.from([0xab])), 'ab');
    const g = mapColumn(col('geometry', { nullable: false }), MODES);
    assert.equal(g.schema.optional, true, 'Geometry is optional, as Debezium builds it');
    const raw = Buffer.concat([Buffer.from([0xe6, 0x10, 0, 0]), Buffer.from('0101000000000000000000f03f0000000000000040', 'hex')]);
    const v = g.convert(raw) as { srid: number; wkb: Buffer };
    assert.equal(v.srid, 4326);
    assert.equal(v.wkb.toString('hex'), '0101000000000000000000f03f0000000000000040');
    const p = mapColumn(col('point'), MODES).convert(raw) as { x: number; y: number };
    assert.deepEqual([p.x, p.y], [1, 2]);
  });

  it('falls back for unknown types with one warning', () => {
    const warnings: string[] = [];
    const m = mapColumn(col('vector', { columnType: 'vector(3)' }), { ...MODES, warn: (msg) => warnings.push(msg) });
    assert.equal(m.fallback, true);
    assert.equal(m.schema.type, 'bytes');
    assert.deepEqual([...(m.convert(Buffer.from([1, 2])) as Uint8Array)], [1, 2]);
    assert.equal(warnings.length, 1);
  });
});

describe('DDL classification', () => {
  it('recognises transaction control and DDL', () => {
    assert.equal(classifyQuery('BEGIN', 'd').kind, 'begin');
    assert.equal(classifyQuery('COMMIT', 'd').kind, 'commit');
    assert.equal(classifyQuery('ROLLBACK TO SAVEPOINT x', 'd').kind, 'savepoint');
    assert.deepEqual(classifyQuery('CREATE TABLE `shop`.`t` (id int)', 'd'), { kind: 'table', actions: [{ action: 'create', db: 'shop', table: 't' }] });
    assert.deepEqual(classifyQuery('create table if not exists t2 like t', 'shop'), {
      kind: 'table',
      actions: [{ action: 'create', db: 'shop', table: 't2' }],
    });
    assert.deepEqual(classifyQuery('DROP TABLE `a`,`b`.`c` /* generated by server */', 'd'), {
      kind: 'table',
      actions: [
        { action: 'drop', db: 'd', table: 'a' },
        { action: 'drop', db: 'b', table: 'c' },
      ],
    });
    assert.deepEqual(classifyQuery('ALTER TABLE t RENAME COLUMN a TO b', 'd'), { kind: 'table', actions: [{ action: 'alter', db: 'd', table: 't' }] });
    assert.deepEqual(classifyQuery('ALTER TABLE t ADD x INT, RENAME TO u', 'd'), {
      kind: 'table',
      actions: [{ action: 'rename', db: 'd', table: 't', toDb: 'd', toTable: 'u' }],
    });
    assert.deepEqual(classifyQuery('RENAME TABLE a TO b, x.c TO x.d', 'd'), {
      kind: 'table',
      actions: [
        { action: 'rename', db: 'd', table: 'a', toDb: 'd', toTable: 'b' },
        { action: 'rename', db: 'x', table: 'c', toDb: 'x', toTable: 'd' },
      ],
    });
    assert.deepEqual(classifyQuery('CREATE UNIQUE INDEX i ON `t` (a)', 'd'), { kind: 'table', actions: [{ action: 'alter', db: 'd', table: 't' }] });
    assert.deepEqual(classifyQuery('TRUNCATE TABLE t', 'd'), { kind: 'table', actions: [{ action: 'truncate', db: 'd', table: 't' }] });
    assert.deepEqual(classifyQuery('DROP DATABASE IF EXISTS shop', 'd'), { kind: 'database', action: 'drop', db: 'shop' });
    assert.equal(classifyQuery('CREATE VIEW v AS SELECT 1', 'd').kind, 'other');
    assert.equal(classifyQuery('INSERT INTO t VALUES (1)', 'd').kind, 'dml');
    assert.deepEqual(classifyQuery('/* c */ ALTER ONLINE TABLE `we``ird` ADD y INT', 'd'), {
      kind: 'table',
      actions: [{ action: 'alter', db: 'd', table: 'we`ird' }],
    });
  });

  it('keeps executable comments and strings', () => {
    assert.equal(stripComments("/*!40000 ALTER TABLE t */ SELECT '/* no */'").trim(), "ALTER TABLE t   SELECT '/* no */'");
  });
});

describe('table definitions', () => {
  it('parses ENUM/SET members', () => {
    assert.deepEqual(parseMembers("enum('a,b','c''d','')"), ['a,b', "c'd", '']);
    assert.deepEqual(parseMembers("set('x','y')"), ['x', 'y']);
  });

  it('matches information_schema columns to binlog metadata by wire signature', () => {
    const uuid = col('uuid');
    const fromBinlog = columnFromBinlog({ name: 'c', columnType: 'binary(16)', charset: null, unsigned: undefined, members: undefined, nullable: true }, 1, false);
    assert.equal(binlogSignature(uuid), binlogSignature(fromBinlog));
    assert.equal(binlogSignature(col('int', { columnType: 'int(10) unsigned', unsigned: true })), 'int unsigned');
    assert.notEqual(binlogSignature(col('int')), binlogSignature(col('bigint')));
    const t = columnFromBinlog({ name: 'd', columnType: 'datetime(6)', charset: null, unsigned: undefined, members: undefined, nullable: false }, 2, false);
    assert.equal(t.fsp, 6);
    assert.equal(t.nullable, false);
  });
});

describe('offsets', () => {
  it('round-trips through JSON', () => {
    const offset = encodeOffset('mariadb', {
      position: { file: 'bin.000002', pos: 9007199254740993n, gtids: '0-1-5' },
      rowSkip: 3,
      snapshot: {
        epochs: [{ file: 'bin.000001', pos: 4n, gtids: '' }],
        tables: ['a.b'],
        done: {},
        current: { table: 'a.b', epoch: 0, from: null, key: ['17'] },
        splits: { 'a.b': [{ epoch: 0, upto: ['5'] }] },
        rows: 17,
      },
      filter: null,
    });
    const back = decodeOffset(JSON.parse(JSON.stringify(offset)));
    assert.equal(back?.position.pos, 9007199254740993n);
    assert.equal(back?.rowSkip, 3);
    assert.deepEqual(back?.snapshot?.current?.key, ['17']);
    assert.deepEqual(back?.snapshot?.splits['a.b'], [{ epoch: 0, upto: ['5'] }]);
  });

  it('orders positions by file number, then position, or by GTID', () => {
    assert.equal(compareFilePos({ file: 'b.000010', pos: 4n }, { file: 'b.000009', pos: 900n }), 1);
    assert.equal(compareFilePos({ file: 'b.000009', pos: 4n }, { file: 'b.000009', pos: 900n }), -1);
    const epoch = { file: 'b.000009', pos: 500n, gtids: '0-1-10' };
    assert.ok(committedBefore('mariadb', { file: 'b.000009', pos: 100n }, '0-1-10', epoch));
    assert.ok(!committedBefore('mariadb', { file: 'b.000009', pos: 100n }, '0-1-11', epoch));
    assert.ok(committedBefore('mysql', { file: 'b.000009', pos: 100n }, null, { ...epoch, gtids: null }));
    assert.ok(atOrAfter('mariadb', { file: 'x.1', pos: 1n, gtids: '0-1-12' }, epoch));
  });
});

describe('keys', () => {
  const id = col('bigint', { name: 'id' });
  const at = col('datetime', { name: 'at', fsp: 6 });
  it('compares numeric and temporal keys exactly', () => {
    assert.ok(comparableKey([id, at]));
    assert.ok(!comparableKey([col('varchar')]));
    assert.equal(compareKeys([id], ['9007199254740993'], ['9007199254740992']), 1);
    assert.equal(compareKeys([id, at], ['1', '2020-01-01 00:00:00.000002'], ['1', '2020-01-01 00:00:00.000010']), -1);
    assert.equal(compareKeys([col('decimal', { scale: 2 })], ['1.5'], ['1.50']), 0);
  });

  it('writes keyset conditions', () => {
    const c = keyAfterCondition([id, at], ['5', '2020-01-01 00:00:00']);
    assert.equal(c.sql, '`id` > ? OR (`id` = ? AND `at` > ?)');
    assert.deepEqual(c.params, [5n, 5n, '2020-01-01 00:00:00']);
  });
});

describe('filters', () => {
  it('matches whole names case-insensitively and never captures system databases', () => {
    const f = new CaptureFilter({ 'database.include.list': ['shop'], 'table.exclude.list': ['shop\\.audit.*'] });
    assert.ok(f.includesTable('SHOP', 'orders'));
    assert.ok(!f.includesTable('shop', 'audit_log'));
    assert.ok(!f.includesTable('shopping', 'orders'));
    assert.ok(!new CaptureFilter({}).includesDatabase('mysql'));
    const k = new CaptureFilter({ 'message.key.columns': 'shop.orders:a,b' });
    assert.deepEqual(k.keyColumnsFor('shop', 'orders', ['a', 'b', 'c']), ['a', 'b']);
  });
});

describe('start-up checks', () => {
  const facts = {
    version: '10.11.19-MariaDB',
    flavor: 'mariadb' as const,
    serverId: 1,
    logBin: true,
    binlogFormat: 'ROW',
    binlogRowImage: 'FULL',
    binlogRowMetadata: 'FULL',
    gtidMode: 'ON',
  };
  const input = { connector: 'mariadb' as const, facts, replicaServerId: 2, lockingMode: 'minimal', databases: [] };
  it('names each setting', () => {
    assert.deepEqual(checkServerSettings(input), []);
    const all = checkServerSettings({
      ...input,
      replicaServerId: 1,
      facts: { ...facts, logBin: false, binlogFormat: 'MIXED', binlogRowImage: 'MINIMAL', binlogRowMetadata: 'NO_LOG' },
    }).map((p) => p.message);
    assert.equal(all.length, 5);
    assert.match(all[0]!, /log_bin/);
    assert.match(all[1]!, /binlog_format is MIXED; it must be ROW/);
    assert.match(all[2]!, /binlog_row_image is MINIMAL; it must be FULL/);
    assert.match(all[3]!, /binlog_row_metadata is NO_LOG; it must be FULL/);
    assert.match(all[4]!, /database\.server\.id/);
  });

  it('parses SHOW GRANTS', () => {
    const g = parseGrants([
      'GRANT SELECT, RELOAD, BINLOG MONITOR, REPLICATION SLAVE ON *.* TO `cdc`@`%` IDENTIFIED BY PASSWORD \'*X\'',
      'GRANT ALL PRIVILEGES ON `shop`.* TO `cdc`@`%`',
      'GRANT `reader` TO `cdc`@`%`',
    ]);
    assert.ok(g.global.has('BINLOG MONITOR'));
    assert.ok(g.global.has('REPLICATION SLAVE'));
    assert.ok(g.databases.get('shop')?.has('ALL PRIVILEGES'));
    assert.deepEqual(g.roles, ['`reader`']);
  });
});

describe('schema history', () => {
  const history = (includeUnknownTypes: boolean, warnings: string[] = []) =>
    new SchemaHistory({
      topicPrefix: 'p',
      filter: new CaptureFilter({ 'column.exclude.list': ['d\\.t\\.secret'] }),
      mapping: { ...MODES, warn: (m) => warnings.push(m) },
      sourceSchema: MARIADB_SOURCE_SCHEMA,
      tombstonesOnDelete: true,
      includeUnknownTypes,
    });
  const def = {
    db: 'd',
    table: 't',
    columns: [
      col('int', { name: 'id', nullable: false }),
      col('vector', { name: 'v', position: 2, columnType: 'vector(3)' }),
      col('varchar', { name: 'secret', position: 3, charset: 'utf8mb4' }),
    ],
    primaryKey: ['id'],
    defaultCharset: 'utf8mb4',
    comment: null,
  };

  it('keeps unknown types with a warning, or leaves them out with include.unknown.datatypes=false', () => {
    const warnings: string[] = [];
    const kept = history(true, warnings).version(def);
    assert.deepEqual(kept.columns.map((c) => c.def.name), ['id', 'v']);
    assert.equal(warnings.length, 1);
    assert.deepEqual(history(false).version(def).columns.map((c) => c.def.name), ['id']);
    assert.equal(kept.topic, 'p.d.t');
    assert.deepEqual(kept.keyColumns, ['id']);
  });

  it('matches a TABLE_MAP to the current definition, or builds a version from binlog metadata', () => {
    const h = history(true);
    h.set({ ...def, columns: [col('int', { name: 'id', nullable: false }), col('uuid', { name: 'u', position: 2 })] });
    const info = (name: string, columnType: string, nullable = true) => ({ name, columnType, charset: null, unsigned: undefined, members: undefined, nullable });
    const same = h.fromTableMap('d', 't', [info('id', 'int', false), info('u', 'binary(16)')], [0]);
    assert.equal(same.def.fromBinlog, undefined, 'the current definition');
    assert.equal(same.columns[1]!.mapping.schema.name, Logical.Uuid);
    const older = h.fromTableMap('d', 't', [info('id', 'int', false), info('old', 'bigint', false), info('u', 'binary(16)')], [0]);
    assert.equal(older.def.fromBinlog, true);
    assert.deepEqual(older.columns.map((c) => [c.def.name, c.mapping.schema.type, c.mapping.schema.optional]), [
      ['id', 'int32', false],
      ['old', 'int64', false],
      ['u', 'string', true],
    ]);
    assert.equal(older.columns[2]!.mapping.schema.name, Logical.Uuid, 'a known column keeps its rich type');
  });
});
