/**
 * After a snapshot that was (partly) read in a fresh REPEATABLE READ snapshot instead of the slot's exported one
 * (a resumed snapshot, `snapshot.mode=always`, or a slot that already existed), streaming starts from a position
 * older than that snapshot. Changes of transactions the fresh snapshot already saw must not be emitted again for
 * the key ranges read in it. This filter decides, per change, from the transaction's xid and the row key:
 *
 *   - find the key range (segment) of the table the key falls in, and the snapshot it was read in;
 *   - skip the change when that snapshot saw the transaction (xid below xmin, or below xmax and not in progress);
 *   - an update whose key moves between ranges emits only the half (delete of the old key / create of the new)
 *     whose range did not see it;
 *   - a truncate seen by every range is skipped; seen by none, emitted; seen by some, emitted, and the table is
 *     no longer filtered (everything after it is emitted).
 *
 * The filter only applies to transactions that committed before `until`, the WAL insert position taken right after
 * the last fresh snapshot began (every transaction it saw committed before that); past it the filter is dropped.
 */
import type pg from 'pg';
import { tableColumns, type Queryable } from './catalog.js';
import { visibleIn, type ReadFilter, type Segment, type SnapshotXids } from './offsets.js';
import type { Lsn } from './lsn.js';

const INTEGER_TYPES = new Set(['smallint', 'integer', 'bigint', 'oid']);

export class KeyComparator {
  private readonly types = new Map<string, { sql: string[]; integers: boolean }>();
  constructor(private readonly db: Queryable) {}

  private async typesFor(table: { oid: number; id: string }, keyColumns: readonly string[]): Promise<{ sql: string[]; integers: boolean }> {
    const cached = this.types.get(table.id);
    if (cached) return cached;
    const cols = await tableColumns(this.db, table.oid);
    const sql = keyColumns.map((k) => {
      const c = cols.find((x) => x.name === k);
      if (!c) return 'text';
      return c.collation ? `${c.sqlType} COLLATE "${c.collation.replace(/"/g, '""')}"` : c.sqlType;
    });
    const entry = { sql, integers: sql.every((t) => INTEGER_TYPES.has(t)) };
    this.types.set(table.id, entry);
    return entry;
  }

  /** -1, 0, 1 as `a` sorts before, equal to, after `b` under the table's primary key ordering. */
  async compare(table: { oid: number; id: string }, keyColumns: readonly string[], a: readonly string[], b: readonly string[]): Promise<number> {
    const t = await this.typesFor(table, keyColumns);
    if (t.integers) {
      for (let i = 0; i < a.length; i++) {
        const x = BigInt(a[i] as string);
        const y = BigInt(b[i] as string);
        if (x !== y) return x < y ? -1 : 1;
      }
      return 0;
    }
    const n = a.length;
    const left = t.sql.map((s, i) => `$${i + 1}::${s}`).join(', ');
    const right = t.sql.map((s, i) => `$${n + i + 1}::${s}`).join(', ');
    const res = await (this.db as pg.Client).query<{ c: number }>(
      `SELECT CASE WHEN (${left}) < (${right}) THEN -1 WHEN (${left}) = (${right}) THEN 0 ELSE 1 END AS c`,
      [...a, ...b],
    );
    return Number(res.rows[0]?.c ?? 0);
  }
}

export interface FilterTable {
  readonly oid: number;
  /** `schema.table` */
  readonly id: string;
  /** primary key columns (the keyset order of the snapshot) */
  readonly primaryKey: readonly string[];
}

export class ReadFilterState {
  private filter: ReadFilter | null;

  constructor(filter: ReadFilter | null, private readonly comparator: KeyComparator) {
    this.filter = filter;
  }

  get current(): ReadFilter | null {
    return this.filter;
  }

  /** Whether the filter applies to a transaction that commits at `commitLsn` (and drops it once passed). */
  appliesTo(commitLsn: Lsn): boolean {
    if (!this.filter) return false;
    if (commitLsn >= BigInt(this.filter.until)) {
      this.filter = null;
      return false;
    }
    return true;
  }

  hasTable(id: string): boolean {
    return this.filter !== null && this.filter.tables[id] !== undefined;
  }

  private seen(seg: Segment | undefined, xid: number): boolean {
    if (!seg || seg.snap === null || !this.filter) return false;
    const snap: SnapshotXids | undefined = this.filter.snapshots[seg.snap];
    return snap ? visibleIn(xid, snap) : false;
  }

  private async segmentFor(table: FilterTable, key: readonly string[] | null): Promise<Segment | undefined> {
    const segs = this.filter?.tables[table.id];
    if (!segs || segs.length === 0) return undefined;
    if (segs.length === 1) return segs[0];
    if (key === null) return undefined; // cannot place it: emit (a duplicate is better than a loss)
    for (const s of segs) {
      if (s.upto === null) return s;
      if ((await this.comparator.compare(table, table.primaryKey, key, s.upto)) <= 0) return s;
    }
    return segs[segs.length - 1];
  }

  /** Which halves of a row change to emit. `before`/`after`: the old and new primary key text (null if none). */
  async decide(
    table: FilterTable,
    xid: number,
    before: readonly string[] | null,
    after: readonly string[] | null,
  ): Promise<{ before: boolean; after: boolean }> {
    if (!this.hasTable(table.id)) return { before: true, after: true };
    const b = before === null ? null : !this.seen(await this.segmentFor(table, before), xid);
    const a = after === null ? null : !this.seen(await this.segmentFor(table, after), xid);
    return { before: b ?? a ?? true, after: a ?? b ?? true };
  }

  /** Whether to emit a truncate of the table (and stop filtering it when the ranges disagree). */
  truncate(table: FilterTable, xid: number): boolean {
    const segs = this.filter?.tables[table.id];
    if (!this.filter || !segs) return true;
    const seen = segs.map((s) => this.seen(s, xid));
    if (seen.every(Boolean)) return false;
    if (seen.some(Boolean)) {
      const tables = { ...this.filter.tables };
      delete tables[table.id];
      this.filter = { ...this.filter, tables };
    }
    return true;
  }
}
