import type { Connection } from 'mysql2/promise';
import type { Problem } from '../source.js';
import { currentGrants, queryRows, type Grants, type ServerFacts } from './connection.js';

/**
 * Start-up checks of a MySQL/MariaDB server for CDC. Each problem names the setting or grant to change and how.
 * `validate()` reports all of them; `stream()` fails with the first error.
 */
export interface CheckInput {
  readonly connector: 'mysql' | 'mariadb';
  readonly facts: ServerFacts;
  readonly replicaServerId: number;
  readonly lockingMode: string;
  /** databases the connector captures (for database-level SELECT grants) */
  readonly databases: readonly string[];
}

const err = (message: string): Problem => ({ severity: 'error', message });
const warn = (message: string): Problem => ({ severity: 'warning', message });

function setting(name: string, wanted: string, actual: string | null): string {
  return (
    `${name} is ${actual ?? 'not available'}; it must be ${wanted}. Set it with SET GLOBAL ${name} = '${wanted}' ` +
    `and put ${name}=${wanted} in the server's configuration file ([mysqld] section) so it survives a restart`
  );
}

export function checkServerSettings(input: CheckInput): Problem[] {
  const { facts } = input;
  const problems: Problem[] = [];
  const serverName = facts.flavor === 'mariadb' ? 'MariaDB' : 'MySQL';
  if (input.connector !== facts.flavor) {
    problems.push(
      warn(
        `connector.class names ${input.connector} but the server is ${serverName} ${facts.version}; use ` +
          (facts.flavor === 'mariadb' ? 'io.debezium.connector.mariadb.MariaDbConnector' : 'io.debezium.connector.mysql.MySqlConnector') +
          ' so events carry the right connector name and GTID format',
      ),
    );
  }
  if (!facts.logBin) {
    problems.push(
      err(
        'the binary log is off (log_bin=OFF); start the server with --log-bin (log_bin=ON in [mysqld]) and a --server-id: ' +
          'the connector reads every change from the binary log',
      ),
    );
  }
  if ((facts.binlogFormat ?? '').toUpperCase() !== 'ROW') problems.push(err(setting('binlog_format', 'ROW', facts.binlogFormat)));
  if ((facts.binlogRowImage ?? '').toUpperCase() !== 'FULL') {
    problems.push(err(setting('binlog_row_image', 'FULL', facts.binlogRowImage)));
  }
  if ((facts.binlogRowMetadata ?? '').toUpperCase() !== 'FULL') {
    problems.push(
      err(
        setting('binlog_row_metadata', 'FULL', facts.binlogRowMetadata) +
          ' (MariaDB 10.5+, MySQL 8.0.1+). Without it the binlog does not carry column names and ENUM/SET values, ' +
          'and rows written before an ALTER TABLE are decoded with the wrong columns',
      ),
    );
  }
  if (facts.serverId === input.replicaServerId) {
    problems.push(
      err(
        `database.server.id is ${input.replicaServerId}, the same as the server's server_id; set database.server.id to ` +
          'a number no server or replica in the replication topology uses (the connector joins it as a replica)',
      ),
    );
  }
  if (input.lockingMode === 'shared') {
    problems.push(err("snapshot.locking.mode=shared is not supported by Sluice; use 'minimal' (default), 'extended' or 'none'"));
  }
  return problems;
}

/** MySQL-only settings whose events zongji cannot decode. */
export async function checkMySqlEventSettings(conn: Connection, facts: ServerFacts): Promise<Problem[]> {
  if (facts.flavor !== 'mysql') return [];
  const problems: Problem[] = [];
  const rows = await queryRows(
    conn,
    "SHOW GLOBAL VARIABLES WHERE Variable_name IN ('binlog_transaction_compression', 'binlog_row_value_options')",
  );
  for (const r of rows) {
    const name = String(r.Variable_name);
    const value = String(r.Value ?? '');
    if (name === 'binlog_transaction_compression' && value.toUpperCase() === 'ON') {
      problems.push(err(setting('binlog_transaction_compression', 'OFF', value) + ': compressed transactions cannot be decoded'));
    }
    if (name === 'binlog_row_value_options' && value.toUpperCase().includes('PARTIAL_JSON')) {
      problems.push(err(`binlog_row_value_options is ${value}; it must be empty (SET GLOBAL binlog_row_value_options = '') : partial JSON updates cannot be decoded`));
    }
  }
  return problems;
}

function has(grants: Grants, privilege: string): boolean {
  return grants.global.has('ALL PRIVILEGES') || grants.global.has(privilege);
}

/** The privileges the connector needs, and a GRANT statement for what is missing. */
export async function checkPrivileges(conn: Connection, input: CheckInput): Promise<Problem[]> {
  const grants = await currentGrants(conn);
  const [who] = await queryRows(conn, 'SELECT CURRENT_USER() AS u');
  const current = String(who?.u ?? 'user@host');
  const at = current.lastIndexOf('@');
  const account = at > 0 ? `'${current.slice(0, at)}'@'${current.slice(at + 1)}'` : `'${current}'`;
  const mariadb = input.facts.flavor === 'mariadb';
  const missing: string[] = [];

  if (!has(grants, 'REPLICATION SLAVE') && !has(grants, 'REPLICATION REPLICA')) missing.push('REPLICATION SLAVE');
  // SHOW MASTER STATUS / SHOW BINARY LOGS: REPLICATION CLIENT on MySQL; on MariaDB 10.5+ BINLOG MONITOR (of which
  // REPLICATION CLIENT is now an alias, and which SHOW GRANTS prints); SUPER used to cover it.
  const monitor = mariadb ? 'BINLOG MONITOR' : 'REPLICATION CLIENT';
  if (!has(grants, 'BINLOG MONITOR') && !has(grants, 'REPLICATION CLIENT') && !has(grants, 'SUPER')) missing.push(monitor);
  if (!has(grants, 'SELECT')) {
    const lacking = input.databases.filter((db) => {
      const d = grants.databases.get(db);
      return !d || !(d.has('SELECT') || d.has('ALL PRIVILEGES'));
    });
    if (lacking.length > 0 || input.databases.length === 0) missing.push('SELECT');
  }
  if (input.lockingMode !== 'none' && !has(grants, 'RELOAD') && !has(grants, 'LOCK TABLES')) {
    missing.push('RELOAD');
  }
  if (missing.length === 0) {
    const problems: Problem[] = [];
    if (input.lockingMode !== 'none' && !has(grants, 'RELOAD')) {
      problems.push(
        warn(
          `${account} has LOCK TABLES but not RELOAD: the snapshot cannot take FLUSH TABLES WITH READ LOCK and ` +
            (mariadb
              ? 'uses the lock-free consistent snapshot position (binlog_snapshot_file/position) instead'
              : 'holds table-level read locks on the captured tables for the whole snapshot') +
            `. GRANT RELOAD ON *.* TO ${account}; for the minimal lock`,
        ),
      );
    }
    return problems;
  }
  const message =
    `the database user ${account} lacks ${missing.join(', ')} ` +
    `(needed: REPLICATION SLAVE to read the binlog, ${monitor} for SHOW ${mariadb ? 'BINLOG STATUS' : 'MASTER STATUS'} / SHOW BINARY LOGS, ` +
    `SELECT for the snapshot and metadata, RELOAD (or LOCK TABLES) for the snapshot's read lock). Run: ` +
    `GRANT ${missing.join(', ')} ON *.* TO ${account};`;
  // Privileges may come from a role that SHOW GRANTS FOR CURRENT_USER() does not expand.
  return [grants.roles.length > 0 ? warn(message + ` (the account has roles ${grants.roles.join(', ')}; if they grant these, ignore this)`) : err(message)];
}
