import assert from 'node:assert/strict';
import { after as afterAll, before as beforeAll, describe, it } from 'node:test';
import { Writable } from 'node:stream';
import type pg from 'pg';
import { pino } from 'pino';
import { Logical, type ConnectSchema, type StructValue } from '../../src/events/schema.js';
import { bigintToTwosComplement } from '../../src/events/values.js';
import { PostgresSource } from '../../src/sources/postgres/postgres-source.js';
import { startPostgres, type PostgresFlavor, type PostgresInstance } from '../support/postgres.js';
import { admin, after, changes, drive, pgConfig } from './helpers.js';

const flavor = (process.env['SLUICE_PG_FLAVOR'] as PostgresFlavor | undefined) ?? 'embedded';

const micros = (iso: string, fraction = 0n): bigint => BigInt(Date.parse(iso)) * 1000n + fraction;
const days = (iso: string): number => Date.parse(`${iso}T00:00:00Z`) / 86_400_000;

const COLUMNS = `
  id int PRIMARY KEY,
  c_int2 smallint, c_int4 integer, c_int8 bigint, c_oid oid,
  c_float4 real, c_float8 double precision, c_float8_special double precision,
  c_num numeric(10,2), c_num_free numeric, c_num_neg numeric(6,3), c_money money,
  c_bool boolean, c_text text, c_varchar varchar(10), c_char char(5), c_bytea bytea,
  c_date date, c_date_bc date, c_date_inf date,
  c_time time, c_time3 time(3), c_time24 time, c_timetz timetz,
  c_ts timestamp, c_ts3 timestamp(3), c_ts_bc timestamp, c_ts_inf timestamp,
  c_tstz timestamptz, c_tstz3 timestamptz(3), c_tstz_inf timestamptz,
  c_interval interval, c_interval_neg interval,
  c_uuid uuid, c_json json, c_jsonb jsonb, c_xml xml,
  c_inet inet, c_cidr cidr, c_macaddr macaddr,
  c_int_arr int[], c_text_arr text[], c_num_arr numeric(5,1)[], c_date_arr date[],
  c_enum mood, c_domain posint,
  c_bit1 bit(1), c_bit bit(10), c_varbit varbit,
  c_hstore hstore, c_ltree ltree, c_point point,
  c_unknown pg_lsn`;

const VALUES = `(
  1,
  32767, -2147483648, 9223372036854775807, 4294967295,
  3.5, 1.0000000000000002, '-Infinity',
  12345678.90, 1.500, -123.456, 1234.56,
  true, 'héllo ☃ "q"', 'abc', 'ab', '\\x00ff10',
  '2024-02-29', '0044-03-15 BC', 'infinity',
  '13:14:15.123456', '13:14:15.123', '24:00:00', '13:14:15.5+02',
  '2024-01-02 03:04:05.123456', '2024-01-02 03:04:05.123', '0044-03-15 12:00:00 BC', 'infinity',
  '2024-01-02 03:04:05.12+05:30', '2024-01-02 03:04:05.1+00', '-infinity',
  '1 year 2 mons 3 days 04:05:06.78', '-1 days -00:00:01.5',
  'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{"b": 1, "a": [1, 2.50]}', '{"b": 1, "a": 2.50}', '<a>1</a>',
  '192.168.0.1/24', '10.0.0.0/8', '08:00:2b:01:02:03',
  '{1,NULL,3}', '{"a b","c,d",NULL,"NULL"}', '{1.5,NULL}', '{2024-01-01}',
  'happy', 5,
  '1', '1000000001', '101',
  'a=>1, "b c"=>NULL', 'top.sci.astro', '(1.5,-2)',
  '16/B374D848')`;

function dec(unscaled: bigint): Uint8Array {
  return bigintToTwosComplement(unscaled);
}

const EXPECTED: StructValue = {
  id: 1,
  c_int2: 32767,
  c_int4: -2147483648,
  c_int8: 9223372036854775807n,
  c_oid: 4294967295n,
  c_float4: 3.5,
  c_float8: 1.0000000000000002,
  c_float8_special: Number.NEGATIVE_INFINITY,
  c_num: dec(1234567890n),
  c_num_free: { scale: 1, value: dec(15n) },
  c_num_neg: dec(-123456n),
  c_money: dec(123456n),
  c_bool: true,
  c_text: 'héllo ☃ "q"',
  c_varchar: 'abc',
  c_char: 'ab   ',
  c_bytea: Buffer.from([0, 255, 16]),
  c_date: days('2024-02-29'),
  c_date_bc: Date.parse('-000043-03-15T00:00:00Z') / 86_400_000, // 0044-03-15 BC = proleptic year -43
  c_date_inf: -2147472692,
  c_time: (13n * 3600n + 14n * 60n + 15n) * 1_000_000n + 123456n,
  c_time3: (13 * 3600 + 14 * 60 + 15) * 1000 + 123,
  c_time24: 86_400_000_000n,
  c_timetz: '11:14:15.5Z',
  c_ts: micros('2024-01-02T03:04:05Z', 123456n),
  c_ts3: BigInt(Date.parse('2024-01-02T03:04:05.123Z')),
  c_ts_bc: micros('-000043-03-15T12:00:00Z'),
  c_ts_inf: 9223372036825200000n,
  c_tstz: '2024-01-01T21:34:05.12Z',
  c_tstz3: '2024-01-02T03:04:05.100Z',
  c_tstz_inf: '-infinity',
  c_interval: (14n * 2_629_800_000_000n) + 3n * 86_400_000_000n + (4n * 3600n + 5n * 60n + 6n) * 1_000_000n + 780_000n,
  c_interval_neg: -86_400_000_000n - 1_500_000n,
  c_uuid: 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
  c_json: '{"b": 1, "a": [1, 2.50]}',
  c_jsonb: '{"a": 2.50, "b": 1}',
  c_xml: '<a>1</a>',
  c_inet: '192.168.0.1/24',
  c_cidr: '10.0.0.0/8',
  c_macaddr: '08:00:2b:01:02:03',
  c_int_arr: [1, null, 3],
  c_text_arr: ['a b', 'c,d', null, 'NULL'],
  c_num_arr: [dec(15n), null],
  c_date_arr: [days('2024-01-01')],
  c_enum: 'happy',
  c_domain: 5,
  c_bit1: true,
  c_bit: Uint8Array.from([0x01, 0x02]),
  c_varbit: Uint8Array.from([0x05]),
  c_hstore: '{"a":"1","b c":null}',
  c_ltree: 'top.sci.astro',
  c_point: { x: 1.5, y: -2, wkb: null as unknown, srid: null },
  c_unknown: '16/B374D848',
};

function normalize(v: unknown): unknown {
  if (v instanceof Uint8Array) return `bytes:${Buffer.from(v).toString('hex')}`;
  if (Array.isArray(v)) return v.map(normalize);
  if (v instanceof Map) return { map: [...v.entries()].map(([k, x]) => [k, normalize(x)]) };
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, normalize(x)]));
  return v;
}

function fieldSchema(valueSchema: ConnectSchema, column: string): ConnectSchema {
  const before = valueSchema.fields?.find((f) => f.name === 'after')?.schema;
  const f = before?.fields?.find((x) => x.name === column);
  if (!f) throw new Error(`no field ${column}`);
  return f.schema;
}

describe(`Postgres type mapping (${flavor})`, () => {
  let server: PostgresInstance;
  let db: pg.Client;

  beforeAll(async () => {
    server = await startPostgres({ flavor });
    db = await admin(server);
    await db.query(`CREATE EXTENSION hstore; CREATE EXTENSION ltree`);
    await db.query(`CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy')`);
    await db.query(`CREATE DOMAIN posint AS integer CHECK (VALUE > 0)`);
    await db.query(`CREATE TABLE public.types_all (${COLUMNS})`);
    await db.query(`INSERT INTO public.types_all VALUES ${VALUES}`);
    await db.query(`INSERT INTO public.types_all (id) VALUES (2)`);
    // Whatever the database's defaults, Sluice's sessions read values in one known text form.
    await db.query(`ALTER DATABASE ${server.database} SET timezone = 'Asia/Kolkata'`);
    await db.query(`ALTER DATABASE ${server.database} SET datestyle = 'SQL, DMY'`);
    await db.query(`ALTER DATABASE ${server.database} SET intervalstyle = 'sql_standard'`);
    await db.query(`ALTER DATABASE ${server.database} SET bytea_output = 'escape'`);
    await db.query(`ALTER DATABASE ${server.database} SET extra_float_digits = 0`);
  });
  afterAll(async () => {
    await db?.end();
    await server?.stop();
  });

  it('maps every type exactly, the same in the snapshot and in the stream; unknown types become text with one warning', async () => {
    const lines: string[] = [];
    const logger = pino(
      { level: 'warn' },
      new Writable({
        write(chunk: Buffer, _enc, cb) {
          lines.push(chunk.toString());
          cb();
        },
      }),
    );
    const src = new PostgresSource(pgConfig(server, { 'slot.name': 'types', 'table.include.list': 'public.types_all' }), { logger });
    let wrote = false;
    const c = await drive(src, null, (c) => changes(c.events).length >= 4, {
      onBatch: async (b) => {
        if (!wrote && b.acknowledgeable) {
          wrote = true;
          await db.query(`INSERT INTO public.types_all VALUES ${VALUES.replace('(\n  1,', '(\n  3,')}`);
          await db.query(`INSERT INTO public.types_all (id) VALUES (4)`);
        }
      },
    });
    const ev = changes(c.events);
    assert.deepEqual(ev.map((e) => e['op']), ['r', 'r', 'c', 'c']);
    const expectedPoint = { ...EXPECTED, c_point: { x: 1.5, y: -2, wkb: (after(ev[0]!)['c_point'] as StructValue)['wkb'], srid: null } };
    for (const [i, id] of [[0, 1], [2, 3]] as const) {
      const row = after(ev[i]!);
      const want: StructValue = { ...expectedPoint, id };
      for (const k of Object.keys(want)) {
        assert.deepEqual(normalize(row[k]), normalize(want[k]), `column ${k} (${ev[i]!['op']})`);
      }
      assert.deepEqual(Object.keys(row), Object.keys(want));
    }
    for (const i of [1, 3]) {
      const row = after(ev[i]!);
      for (const [k, v] of Object.entries(row)) if (k !== 'id') assert.equal(v, null, `null ${k}`);
    }
    // point WKB
    const wkb = Buffer.from((after(ev[0]!)['c_point'] as StructValue)['wkb'] as Uint8Array);
    assert.equal(wkb.toString('hex'), '0101000000000000000000f83f00000000000000c0');
    // schemas
    const vs = c.events.find((e) => e.value !== null && (e.value as StructValue)['op'] === 'c')!.valueSchema as ConnectSchema;
    assert.equal(fieldSchema(vs, 'c_num').name, Logical.Decimal);
    assert.deepEqual(fieldSchema(vs, 'c_num').parameters, { scale: '2', 'connect.decimal.precision': '10' });
    assert.equal(fieldSchema(vs, 'c_num_free').name, Logical.VariableScaleDecimal);
    assert.deepEqual(fieldSchema(vs, 'c_money').parameters, { scale: '2' });
    assert.equal(fieldSchema(vs, 'c_date').name, Logical.Date);
    assert.equal(fieldSchema(vs, 'c_time').name, Logical.MicroTime);
    assert.equal(fieldSchema(vs, 'c_time3').name, Logical.Time);
    assert.equal(fieldSchema(vs, 'c_timetz').name, Logical.ZonedTime);
    assert.equal(fieldSchema(vs, 'c_ts').name, Logical.MicroTimestamp);
    assert.equal(fieldSchema(vs, 'c_ts3').name, Logical.Timestamp);
    assert.equal(fieldSchema(vs, 'c_tstz').name, Logical.ZonedTimestamp);
    assert.equal(fieldSchema(vs, 'c_interval').name, Logical.MicroDuration);
    assert.equal(fieldSchema(vs, 'c_uuid').name, Logical.Uuid);
    assert.equal(fieldSchema(vs, 'c_json').name, Logical.Json);
    assert.equal(fieldSchema(vs, 'c_jsonb').name, Logical.Json);
    assert.equal(fieldSchema(vs, 'c_xml').name, Logical.Xml);
    assert.equal(fieldSchema(vs, 'c_enum').name, Logical.Enum);
    assert.deepEqual(fieldSchema(vs, 'c_enum').parameters, { allowed: 'sad,ok,happy' });
    assert.equal(fieldSchema(vs, 'c_domain').type, 'int32');
    assert.equal(fieldSchema(vs, 'c_bit1').type, 'boolean');
    assert.equal(fieldSchema(vs, 'c_bit').name, Logical.Bits);
    assert.deepEqual(fieldSchema(vs, 'c_bit').parameters, { length: '10' });
    assert.equal(fieldSchema(vs, 'c_hstore').name, Logical.Json);
    assert.equal(fieldSchema(vs, 'c_ltree').name, Logical.Ltree);
    assert.equal(fieldSchema(vs, 'c_point').name, Logical.Point);
    assert.equal(fieldSchema(vs, 'c_int_arr').type, 'array');
    assert.equal(fieldSchema(vs, 'c_int_arr').items?.type, 'int32');
    assert.equal(fieldSchema(vs, 'c_unknown').type, 'string');
    assert.equal(fieldSchema(vs, 'id').optional, false);
    assert.equal(fieldSchema(vs, 'c_int2').optional, true);
    const warnings = lines.filter((l) => l.includes('c_unknown'));
    assert.equal(warnings.length, 1, `one warning for the unknown column, got ${warnings.length}`);
  });

  it('honours decimal, time precision, interval, binary and hstore handling modes', async () => {
    const src = new PostgresSource(
      pgConfig(server, {
        'slot.name': 'types_modes',
        'table.include.list': 'public.types_all',
        'snapshot.fetch.size': 1,
        'decimal.handling.mode': 'string',
        'time.precision.mode': 'connect',
        'interval.handling.mode': 'string',
        'binary.handling.mode': 'base64',
        'hstore.handling.mode': 'map',
      }),
      { logger: pino({ level: 'silent' }) },
    );
    const c = await drive(src, null, (c) => c.batches.some((b) => b.acknowledgeable));
    const row = after(changes(c.events).find((e) => after(e)['id'] === 1)!);
    assert.equal(row['c_num'], '12345678.90');
    assert.equal(row['c_num_free'], '1.500');
    assert.equal(row['c_money'], '1234.56');
    assert.equal(row['c_time'], 47655123);
    assert.equal(row['c_ts'], BigInt(Date.parse('2024-01-02T03:04:05.123Z')));
    assert.equal(row['c_date'], days('2024-02-29'));
    assert.equal(row['c_interval'], 'P1Y2M3DT4H5M6.78S');
    assert.equal(row['c_interval_neg'], 'P0Y0M-1DT0H0M-1.5S');
    assert.equal(row['c_bytea'], 'AP8Q');
    assert.deepEqual(row['c_hstore'], new Map([['a', '1'], ['b c', null]]));

    const src2 = new PostgresSource(
      pgConfig(server, { 'slot.name': 'types_double', 'table.include.list': 'public.types_all', 'decimal.handling.mode': 'double', 'time.precision.mode': 'adaptive_time_microseconds' }),
      { logger: pino({ level: 'silent' }) },
    );
    await db.query(`INSERT INTO public.types_all (id, c_num_free) VALUES (10, 'NaN')`);
    const c2 = await drive(src2, null, (c) => c.batches.some((b) => b.acknowledgeable));
    const rows = changes(c2.events).map(after);
    const r1 = rows.find((r) => r['id'] === 1)!;
    assert.equal(r1['c_num'], 12345678.9);
    assert.equal(r1['c_time3'], 47655123000n);
    assert.ok(Number.isNaN(rows.find((r) => r['id'] === 10)!['c_num_free'] as number));
  });

  it('fails loudly on NaN numerics in precise mode, naming the fix', async () => {
    const src = new PostgresSource(pgConfig(server, { 'slot.name': 'types_nan', 'table.include.list': 'public.types_all' }), {
      logger: pino({ level: 'silent' }),
    });
    await assert.rejects(
      drive(src, null, () => false, { timeoutMs: 20_000 }),
      /decimal\.handling\.mode/,
    );
  });
});
