/**
 * Catalog queries on a normal (non-replication) connection: server settings and privileges, tables, columns, keys,
 * types, the publication and the replication slot.
 */
import type pg from 'pg';
import { parseLsn, type Lsn } from './lsn.js';
import type { PgTypeInfo, TypeLookup } from './type-mapping.js';

export type Queryable = Pick<pg.Client, 'query'>;

export interface ServerInfo {
  readonly version: number;
  readonly versionNum: number;
  readonly walLevel: string;
  readonly user: string;
  readonly replication: boolean;
  readonly superuser: boolean;
  readonly database: string;
  readonly maxReplicationSlots: number;
}

export async function serverInfo(db: Queryable): Promise<ServerInfo> {
  const res = await db.query<{
    v: string;
    wal_level: string;
    usr: string;
    repl: boolean | null;
    su: boolean | null;
    db: string;
    slots: string;
  }>(
    `SELECT current_setting('server_version_num') AS v, current_setting('wal_level') AS wal_level, current_user AS usr,
            r.rolreplication AS repl, r.rolsuper AS su, current_database() AS db,
            current_setting('max_replication_slots') AS slots
       FROM pg_roles r WHERE r.rolname = current_user`,
  );
  const row = res.rows[0];
  if (!row) throw new Error('could not read the current role');
  const num = Number(row.v);
  return {
    version: Math.floor(num / 10000),
    versionNum: num,
    walLevel: row.wal_level,
    user: row.usr,
    replication: row.repl === true,
    superuser: row.su === true,
    database: row.db,
    maxReplicationSlots: Number(row.slots),
  };
}

export interface TableInfo {
  readonly oid: number;
  readonly schema: string;
  readonly name: string;
  /** d default, n nothing, f full, i index */
  readonly replicaIdentity: string;
  readonly primaryKey: readonly string[];
  /** columns of the replica identity index (INDEX identity) */
  readonly replicaIndexColumns: readonly string[];
}

export interface ColumnInfo {
  readonly name: string;
  readonly typeOid: number;
  readonly typeMod: number;
  readonly notNull: boolean;
  /** explicit collation name when it differs from the type's default, for keyset comparisons */
  readonly collation: string | null;
  readonly hasDefault: boolean;
  /** format_type(atttypid, atttypmod), for casts */
  readonly sqlType: string;
}

/** All ordinary and partitioned tables outside the system schemas (or the one with `oid`). */
export async function listTables(db: Queryable, oid?: number): Promise<TableInfo[]> {
  const res = await db.query<{ oid: string; nspname: string; relname: string; relreplident: string; pk: string[] | null; ri: string[] | null }>(
    `SELECT c.oid::text AS oid, n.nspname, c.relname, c.relreplident,
            (SELECT array_agg(a.attname::text ORDER BY k.ord)
               FROM pg_index i CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
               JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
              WHERE i.indrelid = c.oid AND i.indisprimary) AS pk,
            (SELECT array_agg(a.attname::text ORDER BY k.ord)
               FROM pg_index i CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
               JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
              WHERE i.indrelid = c.oid AND i.indisreplident) AS ri
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'p')
        AND n.nspname NOT IN ('pg_catalog', 'information_schema')
        AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'
        AND ($1::oid IS NULL OR c.oid = $1::oid)
      ORDER BY n.nspname, c.relname`,
    [oid === undefined ? null : String(oid)],
  );
  return res.rows.map((r) => ({
    oid: Number(r.oid),
    schema: r.nspname,
    name: r.relname,
    replicaIdentity: r.relreplident,
    primaryKey: r.pk ?? [],
    replicaIndexColumns: r.ri ?? [],
  }));
}

export async function tableColumns(db: Queryable, relationOid: number): Promise<ColumnInfo[]> {
  const res = await db.query<{ attname: string; typ: string; atttypmod: number; attnotnull: boolean; coll: string | null; atthasdef: boolean; ftype: string }>(
    `SELECT a.attname, a.atttypid::text AS typ, a.atttypmod, a.attnotnull, a.atthasdef,
            format_type(a.atttypid, a.atttypmod) AS ftype,
            CASE WHEN a.attcollation <> 0 AND a.attcollation <> t.typcollation THEN co.collname END AS coll
       FROM pg_attribute a
       JOIN pg_type t ON t.oid = a.atttypid
       LEFT JOIN pg_collation co ON co.oid = a.attcollation
      WHERE a.attrelid = $1::oid AND a.attnum > 0 AND NOT a.attisdropped
      ORDER BY a.attnum`,
    [String(relationOid)],
  );
  return res.rows.map((r) => ({
    name: r.attname,
    typeOid: Number(r.typ),
    typeMod: Number(r.atttypmod),
    notNull: r.attnotnull,
    collation: r.coll,
    hasDefault: r.atthasdef,
    sqlType: r.ftype,
  }));
}

export async function tableByOid(db: Queryable, oid: number): Promise<TableInfo | null> {
  return (await listTables(db, oid))[0] ?? null;
}

/** pg_type rows, loaded on demand and cached; element and base types are loaded with their arrays and domains. */
export class TypeCatalog implements TypeLookup {
  private readonly types = new Map<number, PgTypeInfo>();

  constructor(private readonly db: Queryable) {}

  get(oid: number): PgTypeInfo | undefined {
    return this.types.get(oid);
  }

  invalidate(oid: number): void {
    this.types.delete(oid);
  }

  async ensure(oids: Iterable<number>): Promise<void> {
    let missing = [...new Set(oids)].filter((o) => !this.types.has(o) && o !== 0);
    for (let round = 0; missing.length > 0 && round < 8; round++) {
      const res = await this.db.query<{
        oid: string;
        typname: string;
        nspname: string;
        typtype: string;
        typcategory: string;
        typelem: string;
        typbasetype: string;
        typtypmod: number;
        typdelim: string;
        labels: string[] | null;
      }>(
        `SELECT t.oid::text AS oid, t.typname, n.nspname, t.typtype, t.typcategory, t.typelem::text AS typelem,
                t.typbasetype::text AS typbasetype, t.typtypmod, t.typdelim,
                CASE WHEN t.typtype = 'e' THEN
                  (SELECT array_agg(e.enumlabel::text ORDER BY e.enumsortorder) FROM pg_enum e WHERE e.enumtypid = t.oid)
                END AS labels
           FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
          WHERE t.oid = ANY($1::oid[])`,
        [missing.map(String)],
      );
      const next: number[] = [];
      for (const r of res.rows) {
        const info: PgTypeInfo = {
          oid: Number(r.oid),
          name: r.typname,
          namespace: r.nspname,
          kind: r.typtype,
          category: r.typcategory,
          elem: Number(r.typelem),
          base: Number(r.typbasetype),
          baseTypmod: Number(r.typtypmod),
          delimiter: r.typdelim,
          enumLabels: r.labels,
        };
        this.types.set(info.oid, info);
        if (info.category === 'A' && info.elem !== 0 && !this.types.has(info.elem)) next.push(info.elem);
        if (info.kind === 'd' && info.base !== 0 && !this.types.has(info.base)) next.push(info.base);
      }
      missing = next;
    }
  }
}

export interface PublicationInfo {
  readonly name: string;
  readonly allTables: boolean;
  readonly insert: boolean;
  readonly update: boolean;
  readonly delete: boolean;
  readonly truncate: boolean;
  /** `schema.table` of the tables it publishes */
  readonly tables: readonly string[];
}

export async function publicationInfo(db: Queryable, name: string): Promise<PublicationInfo | null> {
  const res = await db.query<{ puballtables: boolean; pubinsert: boolean; pubupdate: boolean; pubdelete: boolean; pubtruncate: boolean }>(
    `SELECT puballtables, pubinsert, pubupdate, pubdelete, pubtruncate FROM pg_publication WHERE pubname = $1`,
    [name],
  );
  const row = res.rows[0];
  if (!row) return null;
  const tables = await db.query<{ schemaname: string; tablename: string }>(
    `SELECT schemaname, tablename FROM pg_publication_tables WHERE pubname = $1`,
    [name],
  );
  return {
    name,
    allTables: row.puballtables,
    insert: row.pubinsert,
    update: row.pubupdate,
    delete: row.pubdelete,
    truncate: row.pubtruncate,
    tables: tables.rows.map((t) => `${t.schemaname}.${t.tablename}`),
  };
}

export interface SlotInfo {
  readonly name: string;
  readonly plugin: string | null;
  readonly slotType: string;
  readonly database: string | null;
  readonly active: boolean;
  readonly activePid: number | null;
  readonly confirmedFlush: Lsn | null;
  readonly restartLsn: Lsn | null;
  /** pg_replication_slots.wal_status (Postgres 13+): reserved, extended, unreserved, lost */
  readonly walStatus: string | null;
}

export async function slotInfo(db: Queryable, name: string): Promise<SlotInfo | null> {
  const res = await db.query<{
    plugin: string | null;
    slot_type: string;
    database: string | null;
    active: boolean;
    active_pid: number | null;
    cf: string | null;
    rl: string | null;
    ws: string | null;
  }>(
    `SELECT plugin, slot_type, database, active, active_pid, confirmed_flush_lsn::text AS cf, restart_lsn::text AS rl,
            (to_jsonb(s) ->> 'wal_status') AS ws
       FROM pg_replication_slots s WHERE slot_name = $1`,
    [name],
  );
  const row = res.rows[0];
  if (!row) return null;
  return {
    name,
    plugin: row.plugin,
    slotType: row.slot_type,
    database: row.database,
    active: row.active,
    activePid: row.active_pid,
    confirmedFlush: row.cf ? parseLsn(row.cf) : null,
    restartLsn: row.rl ? parseLsn(row.rl) : null,
    walStatus: row.ws,
  };
}
