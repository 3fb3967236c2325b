/**
 * Smoke tests of the test services themselves: each one starts, is configured
 * the way CDC needs, answers, honours its environment override and cleans up.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import pg from 'pg';
import mysql from 'mysql2/promise';
import { availablePostgresFlavors, startPostgres, type PostgresInstance } from './support/postgres.js';
import { startMariaDb, type MariaDbInstance } from './support/mariadb.js';
import { startSchemaRegistry } from './support/schema-registry.js';

/** Runs `fn` with the environment variable `name` set to `value`, restoring it afterwards. */
async function withEnv<T>(name: string, value: string, fn: () => Promise<T>): Promise<T> {
  const previous = process.env[name];
  process.env[name] = value;
  try {
    return await fn();
  } finally {
    if (previous === undefined) delete process.env[name];
    else process.env[name] = previous;
  }
}

function clientConfig(db: PostgresInstance): pg.ClientConfig {
  return { host: db.host, port: db.port, user: db.user, password: db.password, database: db.database };
}

async function pgQuery<R extends pg.QueryResultRow>(db: PostgresInstance, sql: string): Promise<R[]> {
  const client = new pg.Client(clientConfig(db));
  await client.connect();
  try {
    return (await client.query<R>(sql)).rows;
  } finally {
    await client.end();
  }
}

const externalPostgres = Boolean(process.env['POSTGRES_URL']);
const externalMariaDb = Boolean(process.env['MARIADB_URL']);

for (const flavor of availablePostgresFlavors()) {
  describe(`Postgres (${flavor})`, () => {
    let db: PostgresInstance;
    let dataDirectory = '';

    before(async () => {
      const started = Date.now();
      db = await startPostgres({ flavor });
      console.log(`# postgres ${flavor}: v${db.version} at ${db.host}:${db.port}, started in ${Date.now() - started} ms`);
    });

    after(async () => {
      await db?.stop();
      if (!externalPostgres && dataDirectory !== '') assert.equal(existsSync(dataDirectory), false, 'data directory removed on stop');
    });

    it('describes itself', () => {
      assert.equal(db.database, externalPostgres ? db.database : 'test');
      assert.equal(db.flavor, externalPostgres ? 'external' : flavor);
      if (!externalPostgres && flavor === 'embedded') assert.equal(db.version, 18);
      assert.ok(db.version >= 10);
      assert.match(db.url, /^postgres:\/\//);
    });

    it('runs with logical decoding settings', async () => {
      const rows = await pgQuery<{ name: string; setting: string }>(
        db,
        "SELECT name, setting FROM pg_settings WHERE name IN ('wal_level','max_replication_slots','max_wal_senders','max_connections','fsync','listen_addresses','server_encoding')",
      );
      const settings = Object.fromEntries(rows.map((r) => [r.name, r.setting]));
      assert.equal(settings['wal_level'], 'logical');
      if (!externalPostgres) {
        assert.equal(settings['max_replication_slots'], '20');
        assert.equal(settings['max_wal_senders'], '20');
        assert.equal(settings['max_connections'], '100');
        assert.equal(settings['fsync'], 'off');
        assert.equal(settings['listen_addresses'], '127.0.0.1');
        assert.equal(settings['server_encoding'], 'UTF8');
        const [dir] = await pgQuery<{ data_directory: string }>(db, 'SHOW data_directory');
        dataDirectory = dir?.data_directory ?? '';
        assert.ok(existsSync(dataDirectory));
      }
      const [walLevel] = await pgQuery<{ wal_level: string }>(db, 'SHOW wal_level');
      assert.equal(walLevel?.wal_level, 'logical');
    });

    it('accepts replication connections over TCP with a password', async () => {
      const config: pg.ClientConfig & { replication: string } = { ...clientConfig(db), replication: 'database' };
      const client = new pg.Client(config);
      await client.connect();
      try {
        const result = await client.query<{ systemid: string; timeline: string; xlogpos: string; dbname: string }>('IDENTIFY_SYSTEM');
        const row = result.rows[0];
        assert.ok(row, 'IDENTIFY_SYSTEM returns a row');
        assert.match(String(row.systemid), /^\d+$/);
        assert.match(String(row.xlogpos), /^[0-9A-F]+\/[0-9A-F]+$/);
        assert.equal(row.dbname, db.database);
      } finally {
        await client.end();
      }
    });

    it('has pgoutput for logical replication slots', async () => {
      const slot = `smoke_${process.pid}_${flavor}`;
      const rows = await pgQuery<{ slot_name: string }>(db, `SELECT slot_name FROM pg_create_logical_replication_slot('${slot}', 'pgoutput')`);
      assert.equal(rows[0]?.slot_name, slot);
      await pgQuery(db, `SELECT pg_drop_replication_slot('${slot}')`);
    });

    it('rejects a wrong password', async () => {
      const client = new pg.Client({ ...clientConfig(db), password: 'wrong' });
      await assert.rejects(client.connect(), /password authentication failed/);
      await client.end().catch(() => {});
    });

    it('is replaced by POSTGRES_URL', async () => {
      const external = await withEnv('POSTGRES_URL', db.url, () => startPostgres({ flavor }));
      assert.equal(external.flavor, 'external');
      assert.equal(external.port, db.port);
      assert.equal(external.user, db.user);
      assert.equal(external.password, db.password);
      assert.equal(external.database, db.database);
      assert.equal(external.version, db.version);
      await external.stop(); // a no-op: the server keeps running
      const [row] = await pgQuery<{ one: number }>(db, 'SELECT 1 AS one');
      assert.equal(row?.one, 1);
    });
  });
}

describe('MariaDB', () => {
  let db: MariaDbInstance;

  before(async () => {
    const started = Date.now();
    db = await startMariaDb();
    console.log(`# mariadb: ${db.version} at ${db.host}:${db.port}, started in ${Date.now() - started} ms`);
  });

  after(async () => {
    await db?.stop();
    if (!externalMariaDb && db?.socketPath) assert.equal(existsSync(db.socketPath), false, 'temp dir removed on stop');
  });

  it('has row-based binlog with full images and metadata, and GTIDs', async () => {
    const conn = await mysql.createConnection(db.url);
    try {
      const [rows] = await conn.query<mysql.RowDataPacket[]>(
        'SELECT @@binlog_format AS format, @@binlog_row_image AS image, @@binlog_row_metadata AS metadata, @@log_bin AS log_bin, @@gtid_current_pos AS gtid, @@server_id AS server_id, @@gtid_strict_mode AS strict',
      );
      const row = rows[0];
      assert.ok(row);
      assert.equal(row['format'], 'ROW');
      assert.equal(row['image'], 'FULL');
      assert.equal(row['metadata'], 'FULL');
      assert.equal(Number(row['log_bin']), 1);
      assert.equal(typeof row['gtid'], 'string');
      if (!externalMariaDb) {
        assert.equal(Number(row['server_id']), 1);
        assert.equal(Number(row['strict']), 0);
        assert.equal(row['gtid'], '', 'the set-up does not write to the binlog');
      }
      await conn.query('CREATE TABLE smoke (id INT PRIMARY KEY, v VARCHAR(10))');
      await conn.query("INSERT INTO smoke VALUES (1, 'a')");
      const [after] = await conn.query<mysql.RowDataPacket[]>('SELECT @@gtid_current_pos AS gtid, @@gtid_binlog_pos AS binlog');
      assert.match(String(after[0]?.['gtid']), /(^|,)0-\d+-\d+/);
      assert.equal(after[0]?.['gtid'], after[0]?.['binlog']);
      const [logs] = await conn.query<mysql.RowDataPacket[]>('SHOW BINARY LOGS');
      assert.ok(logs.length >= 1);
      await conn.query('DROP TABLE smoke');
    } finally {
      await conn.end();
    }
  });

  it('lets root in over TCP with the password and over its socket', async () => {
    const tcp = await mysql.createConnection({ host: db.host, port: db.port, user: db.user, password: db.password, database: db.database });
    const [grants] = await tcp.query<mysql.RowDataPacket[]>('SHOW GRANTS');
    assert.match(JSON.stringify(grants), /ALL PRIVILEGES ON \*\.\*/);
    await tcp.end();
    await assert.rejects(mysql.createConnection({ host: db.host, port: db.port, user: db.user, password: 'wrong' }), /Access denied/);
    if (db.socketPath !== null) {
      const local = await mysql.createConnection({ socketPath: db.socketPath, user: db.user, password: db.password, database: db.database });
      const [rows] = await local.query<mysql.RowDataPacket[]>('SELECT DATABASE() AS db');
      assert.equal(rows[0]?.['db'], 'test');
      await local.end();
    }
  });

  it('takes a server id and extra arguments (a misconfigured server)', { skip: externalMariaDb }, async () => {
    const other = await startMariaDb({ serverId: 7, extraArgs: ['--binlog-format=STATEMENT', '--binlog-row-image=MINIMAL'] });
    try {
      const conn = await mysql.createConnection(other.url);
      const [rows] = await conn.query<mysql.RowDataPacket[]>('SELECT @@server_id AS id, @@binlog_format AS format, @@binlog_row_image AS image');
      await conn.end();
      assert.equal(Number(rows[0]?.['id']), 7);
      assert.equal(rows[0]?.['format'], 'STATEMENT');
      assert.equal(rows[0]?.['image'], 'MINIMAL');
    } finally {
      await other.stop();
    }
  });

  it('is replaced by MARIADB_URL', async () => {
    const external = await withEnv('MARIADB_URL', db.url, () => startMariaDb());
    assert.equal(external.external, true);
    assert.equal(external.port, db.port);
    assert.equal(external.password, db.password);
    assert.equal(external.database, db.database);
    assert.equal(external.socketPath, null);
    assert.equal(external.version, db.version);
    await external.stop(); // a no-op
    const conn = await mysql.createConnection(db.url);
    await conn.query('SELECT 1');
    await conn.end();
  });
});

describe('Schema Registry', () => {
  it('starts, answers and is replaced by SCHEMA_REGISTRY_URL', async () => {
    const started = Date.now();
    const registry = await startSchemaRegistry();
    console.log(`# schema registry at ${registry.url}, started in ${Date.now() - started} ms`);
    try {
      const res = await fetch(`${registry.url}/subjects`);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-type'), 'application/vnd.schemaregistry.v1+json');
      assert.ok(Array.isArray(await res.json()));
      const external = await withEnv('SCHEMA_REGISTRY_URL', `${registry.url}/`, () => startSchemaRegistry());
      assert.equal(external.external, true);
      assert.equal(external.url, registry.url);
      await external.stop();
      assert.equal((await fetch(`${registry.url}/config`)).status, 200);
    } finally {
      await registry.stop();
    }
  });
});
