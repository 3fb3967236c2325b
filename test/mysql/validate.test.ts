/**
 * Start-up checks: `validate()` lists every problem, naming the setting or grant to change; `stream()` fails fast
 * with the first one.
 */
import { after as afterAll, before as beforeAll, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Connection } from 'mysql2/promise';
import { PrerequisiteError } from '../../src/errors.js';
import { startMariaDb, type MariaDbInstance } from '../support/mariadb.js';
import { adminConnection, connectorConfig, dataEvents, drive, source } from './helpers.js';

let db: MariaDbInstance;
let admin: Connection;

beforeAll(async () => {
  db = await startMariaDb();
  admin = await adminConnection(db);
  await admin.query('CREATE DATABASE shop; CREATE TABLE shop.t (id INT PRIMARY KEY); INSERT INTO shop.t VALUES (1), (2)');
});

afterAll(async () => {
  await admin?.end();
  await db?.stop();
});

const messages = (problems: { severity: string; message: string }[], severity = 'error') =>
  problems.filter((p) => p.severity === severity).map((p) => p.message);

describe('server settings', () => {
  it('passes on a correctly set up server', async () => {
    assert.deepEqual(await source(connectorConfig(db, { 'database.include.list': 'shop' })).validate(), []);
  });

  it('names every wrong setting, and stream() fails with the first', async () => {
    await admin.query("SET GLOBAL binlog_format = 'MIXED'; SET GLOBAL binlog_row_image = 'MINIMAL'; SET GLOBAL binlog_row_metadata = 'NO_LOG'");
    try {
      const config = connectorConfig(db, { 'database.include.list': 'shop', 'database.server.id': 1 });
      const errors = messages(await source(config).validate());
      assert.equal(errors.length, 4, errors.join('\n'));
      assert.match(errors[0]!, /binlog_format is MIXED; it must be ROW\. Set it with SET GLOBAL binlog_format = 'ROW'/);
      assert.match(errors[1]!, /binlog_row_image is MINIMAL; it must be FULL/);
      assert.match(errors[2]!, /binlog_row_metadata is NO_LOG; it must be FULL/);
      assert.match(errors[3]!, /database\.server\.id is 1, the same as the server's server_id/);
      await assert.rejects(
        drive(source(config), null, () => true),
        (err: Error) => err instanceof PrerequisiteError && /binlog_format is MIXED/.test(err.message),
      );
    } finally {
      await admin.query("SET GLOBAL binlog_format = 'ROW'; SET GLOBAL binlog_row_image = 'FULL'; SET GLOBAL binlog_row_metadata = 'FULL'");
    }
  });

  it('warns when connector.class names the other flavour', async () => {
    const problems = await source(connectorConfig(db, { 'connector.class': 'io.debezium.connector.mysql.MySqlConnector', 'database.include.list': 'shop' })).validate();
    assert.deepEqual(messages(problems), []);
    assert.match(messages(problems, 'warning')[0]!, /io\.debezium\.connector\.mariadb\.MariaDbConnector/);
  });

  it('reports configuration and connection problems', async () => {
    const bad = await source(connectorConfig(db, { 'table.include.list': 'shop.(' })).validate();
    assert.match(messages(bad)[0]!, /table\.include\.list: "shop\.\(" is not a valid regular expression/);
    const unreachable = await source(connectorConfig(db, { 'database.port': 1 })).validate();
    assert.match(messages(unreachable)[0]!, /cannot connect to 127\.0\.0\.1:1/);
    const none = await source(connectorConfig(db, { 'database.include.list': 'nothing_here' })).validate();
    assert.match(messages(none, 'warning')[0]!, /no table matches/);
  });
});

describe('privileges', () => {
  async function user(name: string, grants: string): Promise<void> {
    await admin.query(`CREATE USER '${name}'@'%' IDENTIFIED BY 'pw'`);
    if (grants) await admin.query(`GRANT ${grants} ON *.* TO '${name}'@'%'`);
  }
  const as = (name: string, extra: Record<string, unknown> = {}) =>
    connectorConfig(db, { 'database.user': name, 'database.password': 'pw', 'database.include.list': 'shop', ...extra });

  it('lists the missing grants with the GRANT statement to run', async () => {
    await user('cdc_select', 'SELECT');
    const errors = messages(await source(as('cdc_select')).validate());
    assert.equal(errors.length, 1);
    assert.match(errors[0]!, /lacks REPLICATION SLAVE, BINLOG MONITOR, RELOAD/);
    assert.match(errors[0]!, /GRANT REPLICATION SLAVE, BINLOG MONITOR, RELOAD ON \*\.\* TO 'cdc_select'@'%';/);
    await user('cdc_nothing', '');
    assert.match(messages(await source(as('cdc_nothing')).validate())[0]!, /lacks REPLICATION SLAVE, BINLOG MONITOR, SELECT, RELOAD/);
  });

  it('accepts REPLICATION CLIENT (an alias of BINLOG MONITOR on MariaDB 10.5+) and streams', async () => {
    await user('cdc_ok', 'SELECT, RELOAD, REPLICATION SLAVE, REPLICATION CLIENT');
    assert.deepEqual(await source(as('cdc_ok')).validate(), []);
    const res = await drive(source(as('cdc_ok', { 'snapshot.mode': 'initial_only' })), null, () => false);
    assert.equal(dataEvents(res.events).length, 2);
  });

  it('without RELOAD but with LOCK TABLES, warns and snapshots without the global read lock', async () => {
    await user('cdc_lock', 'SELECT, LOCK TABLES, REPLICATION SLAVE, BINLOG MONITOR');
    const problems = await source(as('cdc_lock')).validate();
    assert.deepEqual(messages(problems), []);
    assert.match(messages(problems, 'warning')[0]!, /has LOCK TABLES but not RELOAD/);
    const res = await drive(source(as('cdc_lock', { 'snapshot.mode': 'initial_only' })), null, () => false);
    assert.equal(dataEvents(res.events).length, 2);
  });

  it('needs no RELOAD with snapshot.locking.mode=none', async () => {
    await user('cdc_nolock', 'SELECT, REPLICATION SLAVE, BINLOG MONITOR');
    assert.deepEqual(await source(as('cdc_nolock', { 'snapshot.locking.mode': 'none' })).validate(), []);
    assert.match(messages(await source(as('cdc_nolock')).validate())[0]!, /lacks RELOAD/);
  });
});

describe('a server without a binary log', () => {
  it('names log_bin (and the binlog format)', async () => {
    const plain = await startMariaDb({ extraArgs: ['--skip-log-bin', '--binlog-format=STATEMENT'] });
    try {
      const errors = messages(await source(connectorConfig(plain)).validate());
      assert.match(errors[0]!, /the binary log is off \(log_bin=OFF\)/);
      assert.ok(errors.some((e) => /binlog_format is STATEMENT; it must be ROW/.test(e)));
    } finally {
      await plain.stop();
    }
  });
});
