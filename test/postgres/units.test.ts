import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { parseConnectorConfig } from '../../src/config/connector-config.js';
import { Logical } from '../../src/events/schema.js';
import { TableFilter, parseReplicaIdentityRules } from '../../src/sources/postgres/filters.js';
import { decodeOffset, encodeOffset, isAcknowledgeable, visibleIn, widenXid, type PgOffset } from '../../src/sources/postgres/offsets.js';
import { parseArray, parseBytea, parseHstore, parseInterval, parseMoney, hstoreToJson } from '../../src/sources/postgres/pg-text.js';
import { readSettings } from '../../src/sources/postgres/settings.js';
import { SpillFile } from '../../src/sources/postgres/spill.js';
import { DEFAULT_MAPPING_OPTIONS, mapColumnType, numericTypmod, type PgTypeInfo } from '../../src/sources/postgres/type-mapping.js';

function type(oid: number, name: string, extra: Partial<PgTypeInfo> = {}): PgTypeInfo {
  return { oid, name, namespace: 'pg_catalog', kind: 'b', category: 'X', elem: 0, base: 0, baseTypmod: -1, delimiter: ',', enumLabels: null, ...extra };
}

const TYPES = new Map<number, PgTypeInfo>([
  [23, type(23, 'int4')],
  [1007, type(1007, '_int4', { category: 'A', elem: 23 })],
  [1700, type(1700, 'numeric')],
  [603, type(603, 'box', { delimiter: ';' })],
  [1020, type(1020, '_box', { category: 'A', elem: 603, delimiter: ',' })],
  [50000, type(50000, 'mood', { namespace: 'public', kind: 'e', enumLabels: ['sad', 'happy'] })],
  [50001, type(50001, '_mood', { namespace: 'public', category: 'A', elem: 50000 })],
  [50002, type(50002, 'price', { namespace: 'public', kind: 'd', base: 1700, baseTypmod: (8 << 16) + 2 + 4 })],
  [50003, type(50003, 'price2', { namespace: 'public', kind: 'd', base: 50002, baseTypmod: -1 })],
]);
const lookup = { get: (oid: number) => TYPES.get(oid) };

describe('Postgres text parsers', () => {
  it('parses array literals: quoting, escapes, NULL, nesting, bounds, other delimiters', () => {
    assert.deepEqual(parseArray('{}'), []);
    assert.deepEqual(parseArray('{1,NULL,3}'), ['1', null, '3']);
    assert.deepEqual(parseArray('{"a b","c,d",NULL,"NULL","q\\"x\\\\y"}'), ['a b', 'c,d', null, 'NULL', 'q"x\\y']);
    assert.deepEqual(parseArray('{{1,2},{3,4}}'), [['1', '2'], ['3', '4']]);
    assert.deepEqual(parseArray('[0:1]={7,8}'), ['7', '8']);
    assert.deepEqual(parseArray('{(1,1),(0,0);(2,2),(1,1)}', ';'), ['(1,1),(0,0)', '(2,2),(1,1)']);
  });

  it('parses hstore, intervals, money, bytea', () => {
    const h = parseHstore('"a"=>"1", "b c"=>NULL, "q\\""=>"x\\\\y"');
    assert.deepEqual(h, [['a', '1'], ['b c', null], ['q"', 'x\\y']]);
    assert.equal(hstoreToJson(h), '{"a":"1","b c":null,"q\\"":"x\\\\y"}');
    assert.deepEqual(parseHstore(''), []);
    assert.deepEqual(parseInterval('1 year 2 mons 3 days 04:05:06.78'), { years: 1, months: 2, days: 3, hours: 4, minutes: 5, seconds: '6.78' });
    assert.deepEqual(parseInterval('-1 days -00:00:01.5'), { years: 0, months: 0, days: -1, hours: -0, minutes: -0, seconds: '-1.5' });
    assert.deepEqual(parseInterval('00:00:00'), { years: 0, months: 0, days: 0, hours: 0, minutes: 0, seconds: '0' });
    assert.deepEqual(parseInterval('-3 years'), { years: -3, months: 0, days: 0, hours: 0, minutes: 0, seconds: '0' });
    assert.deepEqual(parseInterval('100:00:00'), { years: 0, months: 0, days: 0, hours: 100, minutes: 0, seconds: '0' });
    assert.deepEqual(parseMoney('$1,234.56', 2), { unscaled: 123456n, scale: 2 });
    assert.deepEqual(parseMoney('-$0.01', 2), { unscaled: -1n, scale: 2 });
    assert.deepEqual(parseMoney('($7.00)', 2), { unscaled: -700n, scale: 2 });
    assert.deepEqual(parseMoney('1.234,56 €', 2), { unscaled: 123456n, scale: 2 });
    assert.deepEqual(parseBytea('\\x00ff'), Buffer.from([0, 255]));
    assert.deepEqual(parseBytea('a\\000\\\\'), Buffer.from([0x61, 0, 0x5c]));
  });
});

describe('Postgres type mapping (pure)', () => {
  it('reads numeric typmods, including negative scales', () => {
    assert.deepEqual(numericTypmod((10 << 16) + 2 + 4), { precision: 10, scale: 2 });
    assert.equal(numericTypmod(-1), null);
    assert.deepEqual(numericTypmod((5 << 16) + (((-2) & 0x7ff) | 0) + 4), { precision: 5, scale: -2 });
  });

  it('maps domains (also of domains) as their base type, arrays of enums, arrays with other delimiters', () => {
    const price = mapColumnType(50003, -1, lookup, DEFAULT_MAPPING_OPTIONS, 't.c');
    assert.equal(price.schema.name, Logical.Decimal);
    assert.deepEqual(price.schema.parameters, { scale: '2', 'connect.decimal.precision': '8' });
    assert.deepEqual(Buffer.from(price.convert('12.50') as Uint8Array), Buffer.from([0x04, 0xe2]));
    const moods = mapColumnType(50001, -1, lookup, DEFAULT_MAPPING_OPTIONS, 't.c');
    assert.equal(moods.schema.type, 'array');
    assert.equal(moods.schema.items?.name, Logical.Enum);
    assert.deepEqual(moods.convert('{sad,happy}'), ['sad', 'happy']);
    const boxes = mapColumnType(1020, -1, lookup, DEFAULT_MAPPING_OPTIONS, 't.c');
    assert.equal(boxes.known, false, 'box is not mapped: text form');
    assert.deepEqual(boxes.convert('{(1,1),(0,0);(2,2),(1,1)}'), ['(1,1),(0,0)', '(2,2),(1,1)']);
    const ints = mapColumnType(1007, -1, lookup, DEFAULT_MAPPING_OPTIONS, 't.c');
    assert.deepEqual(ints.convert('{{1,2},{3,NULL}}'), [1, 2, 3, null], 'multi-dimensional arrays are flattened');
    assert.deepEqual(ints.toastPlaceholder, [...Buffer.from('__debezium_unavailable_value')]);
    const missing = mapColumnType(99999, -1, lookup, DEFAULT_MAPPING_OPTIONS, 't.c');
    assert.equal(missing.known, false);
    assert.equal(missing.convert('x'), 'x');
  });
});

describe('Postgres filters and settings', () => {
  it('matches Debezium include/exclude lists as anchored, case-insensitive regexes', () => {
    const f = new TableFilter({ tableInclude: ['public\\.orders', 'inv\\..*'] });
    assert.equal(f.includesTable('public', 'orders'), true);
    assert.equal(f.includesTable('public', 'orders2'), false, 'anchored');
    assert.equal(f.includesTable('INV', 'x'), true, 'case-insensitive');
    assert.equal(f.includesTable('pg_catalog', 'pg_class'), false);
    const x = new TableFilter({ tableExclude: ['public\\.audit.*'], columnExclude: ['public\\.users\\.password'] });
    assert.equal(x.includesTable('public', 'audit_log'), false);
    assert.equal(x.includesTable('public', 'users'), true);
    assert.equal(x.includesColumn('public', 'users', 'password'), false);
    assert.equal(x.includesColumn('public', 'users', 'name'), true);
    const s = new TableFilter({ schemaInclude: ['app'] });
    assert.equal(s.includesTable('app', 't'), true);
    assert.equal(s.includesTable('public', 't'), false);
  });

  it('parses replica.identity.autoset.values', () => {
    const rules = parseReplicaIdentityRules('public.a:FULL, public\\.b.*:INDEX b_idx ,x.y:default');
    assert.deepEqual(rules.map((r) => [r.identity, r.index]), [['FULL', null], ['INDEX', 'b_idx'], ['DEFAULT', null]]);
    assert.ok(rules[1]!.table.test('public.b12'));
    assert.throws(() => parseReplicaIdentityRules('public.a:SOMETIMES'), /FULL, DEFAULT, NOTHING or INDEX/);
  });

  it('reads settings: Debezium defaults and aliases', () => {
    const base = {
      'connector.class': 'postgres',
      'topic.prefix': 'p',
      'database.hostname': 'h',
      'database.user': 'u',
      'database.dbname': 'd',
    };
    const s = readSettings(parseConnectorConfig(base));
    assert.deepEqual([...s.skippedOperations], ['t'], 'truncates skipped by default, as Debezium');
    assert.equal(s.heartbeatIntervalMs, 10_000, 'heartbeats on by default');
    assert.equal(s.snapshotMode, 'initial');
    assert.equal(readSettings(parseConnectorConfig({ ...base, 'snapshot.mode': 'never' })).snapshotMode, 'no_data');
    assert.equal(readSettings(parseConnectorConfig({ ...base, 'heartbeat.interval.ms': 0 })).heartbeatIntervalMs, 0);
    assert.deepEqual([...readSettings(parseConnectorConfig({ ...base, 'skipped.operations': 'none' })).skippedOperations], []);
    assert.equal(readSettings(parseConnectorConfig({ ...base, 'money.fraction.digits': '4' })).mapping.moneyFractionDigits, 4);
  });
});

describe('Postgres offsets', () => {
  it('round-trips through JSON and says when it may be acknowledged', () => {
    const o: PgOffset = {
      lsn: 12345678901234n,
      lsnCommit: 12345678901000n,
      lsnProc: null,
      txId: 4000000123n,
      eventsInTx: 0,
      txState: null,
      msgLsn: null,
      snapshot: null,
      readFilter: null,
    };
    const raw = JSON.parse(JSON.stringify(encodeOffset(o))) as Record<string, never>;
    assert.deepEqual(decodeOffset(raw), o);
    assert.equal(isAcknowledgeable(o), true);
    assert.equal(isAcknowledgeable({ ...o, eventsInTx: 3 }), false);
  });

  it('widens 32-bit xids around a snapshot and decides visibility', () => {
    assert.equal(widenXid(100, 5n * 2n ** 32n + 200n), 5n * 2n ** 32n + 100n);
    assert.equal(widenXid(0xfffffff0, 5n * 2n ** 32n + 5n), 4n * 2n ** 32n + 0xfffffff0n, 'just before an epoch boundary');
    const snap = { xmin: '100', xmax: '110', xip: ['105'] };
    assert.equal(visibleIn(99, snap), true);
    assert.equal(visibleIn(104, snap), true);
    assert.equal(visibleIn(105, snap), false, 'in progress when the snapshot was taken');
    assert.equal(visibleIn(110, snap), false);
  });
});

describe('Postgres spill files', () => {
  it('keeps streamed messages in order and drops an aborted subtransaction and what followed it', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'sluice-spill-test-'));
    try {
      const f = new SpillFile(path.join(dir, '1.spill'), 1);
      const big = Buffer.alloc(300_000, 7);
      f.append(1n, Buffer.from('a'), 1);
      f.append(2n, big, 1);
      f.append(3n, Buffer.from('sub'), 2);
      f.append(4n, Buffer.from('subsub'), 3);
      f.abortSubtransaction(2);
      f.append(5n, Buffer.from('after'), 4);
      const out: string[] = [];
      for await (const r of f.replay()) out.push(`${r.lsn}:${r.payload.length > 10 ? `big${r.payload.length}` : r.payload.toString()}`);
      assert.deepEqual(out, ['1:a', '2:big300000', '5:after']);
      f.discard();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
