import type { Connection } from 'mysql2/promise';
import type { ColumnDef } from './columns.js';
import { SYSTEM_DATABASES } from './filters.js';

/**
 * Table definitions: read from `information_schema` (at start-up, at the snapshot, after each DDL) or synthesised
 * from a binlog TABLE_MAP event's own metadata (`binlog_row_metadata=FULL`) when the table version the event was
 * written under no longer matches the current definition (replay across an ALTER TABLE).
 */
export interface TableDef {
  readonly db: string;
  readonly table: string;
  readonly columns: readonly ColumnDef[];
  /** primary key column names in key order; empty when the table has none */
  readonly primaryKey: readonly string[];
  readonly defaultCharset: string | null;
  readonly comment: string | null;
  /** synthesised from binlog metadata */
  readonly fromBinlog?: boolean;
}

export const tableId = (db: string, table: string): string => `${db}.${table}`;

function num(v: unknown): number | null {
  if (v === null || v === undefined || v === '') return null;
  const n = Number(v);
  return Number.isFinite(n) ? n : null;
}

function str(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  return Buffer.isBuffer(v) ? v.toString('utf8') : String(v);
}

/** Members of "enum('a','b''c')" / "set(...)" as information_schema's COLUMN_TYPE spells them. */
export function parseMembers(columnType: string): string[] {
  const open = columnType.indexOf('(');
  const close = columnType.lastIndexOf(')');
  if (open < 0 || close < open) return [];
  const body = columnType.slice(open + 1, close);
  const out: string[] = [];
  let i = 0;
  while (i < body.length) {
    while (i < body.length && (body[i] === ',' || body[i] === ' ')) i++;
    if (i >= body.length) break;
    const quote = body[i];
    if (quote !== "'" && quote !== '"') {
      const end = body.indexOf(',', i);
      out.push(body.slice(i, end < 0 ? body.length : end));
      i = end < 0 ? body.length : end;
      continue;
    }
    i++;
    let value = '';
    while (i < body.length) {
      const c = body[i]!;
      if (c === quote) {
        if (body[i + 1] === quote) {
          value += quote;
          i += 2;
          continue;
        }
        i++;
        break;
      }
      if (c === '\\' && i + 1 < body.length) {
        const n = body[i + 1]!;
        value += n === 'n' ? '\n' : n === 't' ? '\t' : n === '0' ? '\0' : n;
        i += 2;
        continue;
      }
      value += c;
      i++;
    }
    out.push(value);
  }
  return out;
}

type Row = Record<string, unknown>;

export interface LoadOptions {
  readonly flavor: 'mysql' | 'mariadb';
  /** Only these databases (all non-system databases when absent). */
  readonly databases?: readonly string[];
  /** Only these tables (`db.table`). */
  readonly tables?: readonly string[];
}

/** Reads every base table's definition matching `options` from information_schema. */
export async function loadTableDefs(conn: Connection, options: LoadOptions): Promise<TableDef[]> {
  const where: string[] = ["t.TABLE_TYPE = 'BASE TABLE'"];
  const params: unknown[] = [];
  where.push(`t.TABLE_SCHEMA NOT IN (${[...SYSTEM_DATABASES].map(() => '?').join(',')})`);
  params.push(...SYSTEM_DATABASES);
  if (options.databases) {
    if (options.databases.length === 0) return [];
    where.push(`t.TABLE_SCHEMA IN (${options.databases.map(() => '?').join(',')})`);
    params.push(...options.databases);
  }
  if (options.tables) {
    if (options.tables.length === 0) return [];
    const pairs = options.tables.map((id) => splitTableId(id));
    where.push(`(${pairs.map(() => '(t.TABLE_SCHEMA = ? AND t.TABLE_NAME = ?)').join(' OR ')})`);
    for (const [db, table] of pairs) params.push(db, table);
  }
  const filter = where.join(' AND ');

  const [tables] = (await conn.query(
    `SELECT t.TABLE_SCHEMA AS db, t.TABLE_NAME AS tbl, t.TABLE_COMMENT AS comment, cs.CHARACTER_SET_NAME AS charset
       FROM information_schema.TABLES t
       LEFT JOIN information_schema.COLLATION_CHARACTER_SET_APPLICABILITY cs ON cs.COLLATION_NAME = t.TABLE_COLLATION
      WHERE ${filter}
      ORDER BY t.TABLE_SCHEMA, t.TABLE_NAME`,
    params,
  )) as unknown as [Row[]];
  if (tables.length === 0) return [];

  const [columns] = (await conn.query(
    `SELECT c.TABLE_SCHEMA AS db, c.TABLE_NAME AS tbl, c.COLUMN_NAME AS name, c.ORDINAL_POSITION AS position,
            c.DATA_TYPE AS data_type, c.COLUMN_TYPE AS column_type, c.IS_NULLABLE AS nullable,
            c.CHARACTER_SET_NAME AS charset, c.COLLATION_NAME AS collation,
            c.CHARACTER_MAXIMUM_LENGTH AS char_length, c.NUMERIC_PRECISION AS num_precision,
            c.NUMERIC_SCALE AS num_scale, c.DATETIME_PRECISION AS dt_precision, c.EXTRA AS extra,
            c.COLUMN_COMMENT AS comment, c.COLUMN_DEFAULT AS default_value
       FROM information_schema.COLUMNS c
       JOIN information_schema.TABLES t ON t.TABLE_SCHEMA = c.TABLE_SCHEMA AND t.TABLE_NAME = c.TABLE_NAME
      WHERE ${filter}
      ORDER BY c.TABLE_SCHEMA, c.TABLE_NAME, c.ORDINAL_POSITION`,
    params,
  )) as unknown as [Row[]];

  const [keys] = (await conn.query(
    `SELECT k.TABLE_SCHEMA AS db, k.TABLE_NAME AS tbl, k.COLUMN_NAME AS name
       FROM information_schema.KEY_COLUMN_USAGE k
       JOIN information_schema.TABLES t ON t.TABLE_SCHEMA = k.TABLE_SCHEMA AND t.TABLE_NAME = k.TABLE_NAME
      WHERE k.CONSTRAINT_NAME = 'PRIMARY' AND ${filter}
      ORDER BY k.TABLE_SCHEMA, k.TABLE_NAME, k.ORDINAL_POSITION`,
    params,
  )) as unknown as [Row[]];

  // MariaDB's JSON is LONGTEXT plus a CHECK (json_valid(`col`)) the server adds; that CHECK is how it is told apart.
  const jsonColumns = new Set<string>();
  if (options.flavor === 'mariadb') {
    const [checks] = (await conn.query(
      `SELECT cc.CONSTRAINT_SCHEMA AS db, cc.TABLE_NAME AS tbl, cc.CHECK_CLAUSE AS clause
         FROM information_schema.CHECK_CONSTRAINTS cc
         JOIN information_schema.TABLES t ON t.TABLE_SCHEMA = cc.CONSTRAINT_SCHEMA AND t.TABLE_NAME = cc.TABLE_NAME
        WHERE cc.CHECK_CLAUSE LIKE 'json\\_valid(%' AND ${filter}`,
      params,
    )) as unknown as [Row[]];
    for (const c of checks) {
      const m = /^json_valid\(`((?:[^`]|``)+)`\)$/i.exec(String(c.clause).trim());
      if (m) jsonColumns.add(`${String(c.db)}\u0000${String(c.tbl)}\u0000${m[1]!.replace(/``/g, '`')}`);
    }
  }

  const byTable = new Map<string, { cols: ColumnDef[]; pk: string[] }>();
  for (const t of tables) byTable.set(tableId(String(t.db), String(t.tbl)), { cols: [], pk: [] });
  for (const c of columns) {
    const entry = byTable.get(tableId(String(c.db), String(c.tbl)));
    if (!entry) continue;
    entry.cols.push(columnFromInformationSchema(c, jsonColumns.has(`${String(c.db)}\u0000${String(c.tbl)}\u0000${String(c.name)}`)));
  }
  for (const k of keys) byTable.get(tableId(String(k.db), String(k.tbl)))?.pk.push(String(k.name));

  return tables.map((t) => {
    const entry = byTable.get(tableId(String(t.db), String(t.tbl)))!;
    return {
      db: String(t.db),
      table: String(t.tbl),
      columns: entry.cols,
      primaryKey: entry.pk,
      defaultCharset: str(t.charset),
      comment: str(t.comment) || null,
    };
  });
}

export function splitTableId(id: string): [string, string] {
  // Database names cannot contain '.', table names can; split at the first dot.
  const dot = id.indexOf('.');
  return [id.slice(0, dot), id.slice(dot + 1)];
}

function columnFromInformationSchema(c: Row, json: boolean): ColumnDef {
  const columnType = str(c.column_type) ?? '';
  const dataType = (str(c.data_type) ?? '').toLowerCase();
  const extra = (str(c.extra) ?? '').toLowerCase();
  const isTemporal = dataType === 'time' || dataType === 'datetime' || dataType === 'timestamp';
  return {
    name: String(c.name),
    position: Number(c.position),
    dataType: dataType === 'json' ? 'json' : dataType,
    columnType,
    unsigned: /\bunsigned\b/i.test(columnType),
    nullable: String(c.nullable).toUpperCase() === 'YES',
    charset: str(c.charset),
    collation: str(c.collation),
    length: num(c.char_length),
    precision: num(c.num_precision),
    scale: num(c.num_scale),
    fsp: isTemporal ? (num(c.dt_precision) ?? 0) : null,
    members: dataType === 'enum' || dataType === 'set' ? parseMembers(columnType) : null,
    json: json || dataType === 'json',
    autoIncrement: extra.includes('auto_increment'),
    generated: extra.includes('auto_increment') || /\b(virtual|stored|persistent)\b/.test(extra),
    comment: str(c.comment) || null,
    defaultExpression: str(c.default_value),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Binlog TABLE_MAP metadata

/** What zongji (patched, see zongji.ts) knows about one column of a TABLE_MAP event. */
export interface BinlogColumnInfo {
  readonly name: string;
  /** zongji's synthesised information_schema-like COLUMN_TYPE: 'int unsigned', 'varchar(10)', 'binary(16)'... */
  readonly columnType: string;
  readonly charset: string | null;
  readonly unsigned: boolean | undefined;
  readonly members: readonly string[] | undefined;
  /** from the TABLE_MAP null bitmap (undefined when unknown) */
  readonly nullable: boolean | undefined;
}

const BLOB_LENGTHS: Record<string, number> = {
  tinytext: 255,
  tinyblob: 255,
  text: 65535,
  blob: 65535,
  mediumtext: 16777215,
  mediumblob: 16777215,
  longtext: 4294967295,
  longblob: 4294967295,
};

/** A column definition from binlog metadata alone. */
export function columnFromBinlog(info: BinlogColumnInfo, position: number, isKey: boolean): ColumnDef {
  const ct = info.columnType.toLowerCase().replace(/\s*\/\*.*?\*\/\s*/g, ' ').trim();
  const m = /^([a-z0-9_]+)(?:\(([^)]*)\))?/.exec(ct);
  const base = m?.[1] ?? ct;
  const args = (m?.[2] ?? '').split(',').map((a) => Number(a.trim()));
  const unsigned = info.unsigned ?? /\bunsigned\b/.test(ct);
  const temporal = base === 'time' || base === 'datetime' || base === 'timestamp';
  let length: number | null = null;
  let precision: number | null = null;
  let scale: number | null = null;
  if (base === 'decimal') {
    precision = args[0] ?? null;
    scale = args[1] ?? 0;
  } else if (base === 'bit') {
    precision = args[0] ?? 1;
  } else if (base === 'char' || base === 'varchar' || base === 'binary' || base === 'varbinary') {
    length = Number.isFinite(args[0]) ? args[0]! : null;
  } else if (base in BLOB_LENGTHS) {
    length = BLOB_LENGTHS[base]!;
  }
  return {
    name: info.name,
    position,
    dataType: base,
    columnType: info.columnType,
    unsigned,
    nullable: isKey ? false : (info.nullable ?? true),
    charset: info.charset,
    collation: null,
    length,
    precision,
    scale,
    fsp: temporal ? (Number.isFinite(args[0]) ? args[0]! : 0) : null,
    members: info.members ?? null,
    json: base === 'json',
    autoIncrement: false,
    generated: false,
    comment: null,
    defaultExpression: null,
    fromBinlog: true,
  };
}

/**
 * What a column looks like on the binlog wire, in the form zongji's TABLE_MAP-derived COLUMN_TYPE gives it. Two
 * definitions with the same name and signature decode identically, so a richer information_schema definition can
 * stand in for binlog metadata (which cannot tell UUID/INET6 from BINARY(16), nor MariaDB JSON from LONGTEXT).
 */
export function binlogSignature(col: ColumnDef): string {
  const t = col.dataType;
  const u = col.unsigned ? ' unsigned' : '';
  switch (t) {
    case 'bool':
    case 'boolean':
      return 'tinyint';
    case 'tinyint':
    case 'smallint':
    case 'mediumint':
    case 'bigint':
      return t + u;
    case 'int':
    case 'integer':
      return 'int' + u;
    case 'year':
      return 'year';
    case 'float':
      return 'float' + u;
    case 'double':
    case 'real':
      return 'double' + u;
    case 'decimal':
    case 'numeric':
      return `decimal(${col.precision ?? 10},${col.scale ?? 0})` + u;
    case 'char':
    case 'varchar':
    case 'varbinary':
      return t;
    case 'binary':
      return `binary(${col.length ?? 1})`;
    case 'uuid':
    case 'inet6':
      return 'binary(16)';
    case 'inet4':
      return 'binary(4)';
    case 'enum':
    case 'set':
      return `${t}(${(col.members ?? []).join('\u0000')})`;
    case 'bit':
      return `bit(${col.precision ?? 1})`;
    case 'time':
    case 'datetime':
    case 'timestamp':
      return `${t}(${col.fsp ?? 0})`;
    case 'geomcollection':
      return 'geometrycollection';
    default:
      return t;
  }
}

/** Two table definitions that describe the same binlog row layout and names. */
export function sameLayout(a: readonly ColumnDef[], b: readonly ColumnDef[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    if (a[i]!.name !== b[i]!.name || binlogSignature(a[i]!) !== binlogSignature(b[i]!)) return false;
  }
  return true;
}
