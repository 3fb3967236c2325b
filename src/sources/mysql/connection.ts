import mysql, { type Connection } from 'mysql2/promise';
import type { ConnectorConfig } from '../../config/connector-config.js';
import { ConnectionLostError } from '../../errors.js';
import type { Flavor } from './gtid.js';
import type { BinlogPosition } from './offset.js';

/**
 * Connections to the MySQL/MariaDB server and the server facts the source needs.
 *
 * Query connections (snapshot, metadata) read values exactly: `dateStrings` (DATE/DATETIME/TIMESTAMP as text, no
 * time zone shift), `supportBigNumbers` + `bigNumberStrings` (BIGINT as exact text), `jsonStrings`, GEOMETRY as the
 * raw bytes (SRID + WKB), session `time_zone = '+00:00'` so TIMESTAMP text is UTC whatever the server's zone.
 */
export interface ServerAddress {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
}

export function serverAddress(config: ConnectorConfig): ServerAddress {
  return {
    host: config['database.hostname'],
    port: config['database.port'] ?? 3306,
    user: config['database.user'],
    password: config['database.password'] ?? '',
  };
}

interface CastField {
  readonly type: string;
  buffer(): Buffer | null;
}

export async function openQueryConnection(address: ServerAddress): Promise<Connection> {
  let conn: Connection;
  try {
    conn = await mysql.createConnection({
      host: address.host,
      port: address.port,
      user: address.user,
      password: address.password,
      charset: 'utf8mb4',
      dateStrings: true,
      supportBigNumbers: true,
      bigNumberStrings: true,
      jsonStrings: true,
      connectTimeout: 20_000,
      typeCast: (field: CastField, next: () => unknown) => (field.type === 'GEOMETRY' ? field.buffer() : next()),
    } as mysql.ConnectionOptions);
  } catch (cause) {
    throw new ConnectionLostError(
      `cannot connect to ${address.host}:${address.port} as ${address.user}: ${(cause as Error).message}`,
      { cause, context: { host: address.host, port: address.port } },
    );
  }
  // Errors on an idle connection must not become unhandled 'error' events.
  conn.on('error', () => {});
  await conn.query("SET time_zone = '+00:00'");
  return conn;
}

type Row = Record<string, unknown>;

export async function queryRows(conn: Connection, sql: string, params?: unknown[]): Promise<Row[]> {
  const [rows] = (await conn.query(sql, params)) as unknown as [Row[]];
  return rows;
}

export interface ServerFacts {
  readonly version: string;
  readonly flavor: Flavor;
  readonly serverId: number;
  readonly logBin: boolean;
  readonly binlogFormat: string | null;
  readonly binlogRowImage: string | null;
  readonly binlogRowMetadata: string | null;
  /** MySQL gtid_mode (ON/OFF/...); MariaDB GTIDs are always on */
  readonly gtidMode: string | null;
}

async function variable(conn: Connection, name: string): Promise<string | null> {
  const rows = await queryRows(conn, 'SHOW GLOBAL VARIABLES LIKE ?', [name]);
  const row = rows[0];
  if (!row) return null;
  const v = row.Value ?? row.VALUE ?? Object.values(row)[1];
  return v === null || v === undefined ? null : String(v);
}

export async function serverFacts(conn: Connection): Promise<ServerFacts> {
  const [versionRow] = await queryRows(conn, 'SELECT VERSION() AS v, @@server_id AS id');
  const version = String(versionRow?.v ?? '');
  const flavor: Flavor = /mariadb/i.test(version) ? 'mariadb' : 'mysql';
  const logBin = await variable(conn, 'log_bin');
  return {
    version,
    flavor,
    serverId: Number(versionRow?.id ?? 0),
    logBin: logBin !== null && ['ON', '1'].includes(logBin.toUpperCase()),
    binlogFormat: await variable(conn, 'binlog_format'),
    binlogRowImage: await variable(conn, 'binlog_row_image'),
    binlogRowMetadata: await variable(conn, 'binlog_row_metadata'),
    gtidMode: flavor === 'mysql' ? await variable(conn, 'gtid_mode') : 'ON',
  };
}

function mysqlVersionAtLeast(version: string, major: number, minor: number): boolean {
  const m = /^(\d+)\.(\d+)/.exec(version);
  if (!m) return false;
  const a = Number(m[1]);
  const b = Number(m[2]);
  return a > major || (a === major && b >= minor);
}

/** The statement naming the current binlog file and position (MySQL 8.4 removed SHOW MASTER STATUS). */
function statusStatement(facts: ServerFacts): string {
  return facts.flavor === 'mysql' && mysqlVersionAtLeast(facts.version, 8, 2) ? 'SHOW BINARY LOG STATUS' : 'SHOW MASTER STATUS';
}

/** The server's current binlog position and GTID set (consistent only under a read lock or equivalent). */
export async function currentPosition(conn: Connection, facts: ServerFacts): Promise<BinlogPosition> {
  const rows = await queryRows(conn, statusStatement(facts));
  const row = rows[0];
  if (!row) throw new Error('the binary log is off: the server reports no binlog position (log_bin)');
  const file = String(row.File);
  const pos = BigInt(String(row.Position));
  let gtids: string | null = null;
  if (facts.flavor === 'mariadb') {
    const [g] = await queryRows(conn, 'SELECT @@GLOBAL.gtid_binlog_pos AS g');
    gtids = String(g?.g ?? '');
  } else if ((facts.gtidMode ?? '').toUpperCase() === 'ON') {
    gtids = String(row.Executed_Gtid_Set ?? '').replace(/\s+/g, '');
  }
  return { file, pos, gtids };
}

/** MariaDB: the GTID position that corresponds to a binlog file/offset (BINLOG_GTID_POS). */
export async function mariaDbGtidAt(conn: Connection, file: string, pos: bigint): Promise<string | null> {
  const [row] = await queryRows(conn, 'SELECT BINLOG_GTID_POS(?, ?) AS g', [file, pos.toString()]);
  const g = row?.g;
  return g === null || g === undefined ? null : String(g);
}

export interface BinaryLog {
  readonly name: string;
  readonly size: bigint;
}

export async function binaryLogs(conn: Connection): Promise<BinaryLog[]> {
  const rows = await queryRows(conn, 'SHOW BINARY LOGS');
  return rows.map((r) => ({ name: String(r.Log_name), size: BigInt(String(r.File_size)) }));
}

export interface Grants {
  readonly global: Set<string>;
  /** database → privileges granted on `db`.* */
  readonly databases: Map<string, Set<string>>;
  readonly roles: string[];
}

/** Parses SHOW GRANTS FOR CURRENT_USER(): global and database-level privileges. */
export async function currentGrants(conn: Connection): Promise<Grants> {
  const rows = await queryRows(conn, 'SHOW GRANTS FOR CURRENT_USER()');
  return parseGrants(rows.map((r) => String(Object.values(r)[0])));
}

export function parseGrants(lines: readonly string[]): Grants {
  const global = new Set<string>();
  const databases = new Map<string, Set<string>>();
  const roles: string[] = [];
  for (const line of lines) {
    const m = /^GRANT\s+(.+?)\s+ON\s+(\S+)\s+TO\s/i.exec(line);
    if (!m) {
      const role = /^GRANT\s+(.+?)\s+TO\s/i.exec(line);
      if (role) roles.push(role[1]!);
      continue;
    }
    const privs = m[1]!
      .replace(/\([^)]*\)/g, '')
      .split(',')
      .map((p) => p.trim().toUpperCase().replace(/\s+/g, ' '))
      .filter((p) => p.length > 0);
    const target = m[2]!;
    if (target === '*.*') {
      for (const p of privs) global.add(p === 'ALL' ? 'ALL PRIVILEGES' : p);
    } else {
      const dm = /^`?((?:[^`]|``)+?)`?\.\*$/.exec(target);
      if (dm) {
        const db = dm[1]!.replace(/``/g, '`').replace(/\\_/g, '_');
        const set = databases.get(db) ?? new Set<string>();
        for (const p of privs) set.add(p === 'ALL' ? 'ALL PRIVILEGES' : p);
        databases.set(db, set);
      }
    }
  }
  return { global, databases, roles };
}
