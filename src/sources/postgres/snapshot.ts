/**
 * The initial snapshot: reads the captured tables inside one REPEATABLE READ transaction (the slot's exported
 * snapshot, or a fresh one when resuming), in key order with keyset pagination (`snapshot.fetch.size` rows per
 * query, bounded memory), or with a cursor for tables without a primary key. Emits `op: 'r'` events with
 * Debezium's `source.snapshot` markers and, after each chunk, the progress that lets a restart resume table by
 * table and, within a table with a primary key, after the last key delivered.
 */
import type pg from 'pg';
import type { ChangeEvent } from '../../events/change-event.js';
import { nowMicros } from '../../events/envelope.js';
import type { StructValue } from '../../events/schema.js';
import { postgresSource, type SnapshotMarker } from '../../events/source-info.js';
import type { ColumnInfo, TableInfo } from './catalog.js';
import type { Lsn } from './lsn.js';
import type { ReadFilter, Segment, SnapshotProgress, SnapshotXids } from './offsets.js';
import { quoteIdent } from './replication-connection.js';
import { qualified } from './setup.js';
import { rowFromText, type TableModel } from './tables.js';

export interface SnapshotTable {
  readonly id: string;
  readonly info: TableInfo;
  readonly columns: readonly ColumnInfo[];
  readonly model: TableModel;
}

export interface SnapshotRun {
  readonly db: pg.Client;
  /** tables in `progress.tables` order; a table dropped since the snapshot began is simply absent (null) */
  readonly tables: readonly (SnapshotTable | null)[];
  readonly progress: SnapshotProgress;
  /** the id of this snapshot in `progress.filter.snapshots`, or null for the slot's exported (exact) snapshot */
  readonly snapId: string | null;
  readonly snapXids: SnapshotXids | null;
  /** WAL insert LSN right after this (fresh) snapshot was taken */
  readonly walAfter: Lsn | null;
  /** LSN written to source.lsn of the snapshot events (the slot's consistent point / start position) */
  readonly lsn: Lsn;
  readonly topicPrefix: string;
  readonly database: string;
  readonly fetchSize: number;
}

export interface SnapshotChunk {
  readonly events: ChangeEvent[];
  readonly progress: SnapshotProgress;
  /** true on the last chunk: every table is delivered */
  readonly complete: boolean;
}

const TEXT_TYPES = { getTypeParser: () => (v: string) => v };

/** Debezium's marker precedence: last > first > last_in_data_collection > first_in_data_collection > true. */
function marker(first: boolean, last: boolean, firstInTable: boolean, lastInTable: boolean): SnapshotMarker {
  if (last) return 'last';
  if (first) return 'first';
  if (lastInTable) return 'last_in_data_collection';
  if (firstInTable) return 'first_in_data_collection';
  return 'true';
}

interface Pending {
  readonly t: number;
  readonly row: StructValue;
  readonly key: string[] | null;
  readonly firstInTable: boolean;
}

export async function* readSnapshot(run: SnapshotRun): AsyncGenerator<SnapshotChunk> {
  const { progress } = run;
  const names = progress.tables;
  let rows = progress.rows;
  let emitDone = progress.done;
  let emitKey: readonly string[] | null = progress.last_key;
  const snapshots: Record<string, SnapshotXids> = { ...progress.filter.snapshots };
  if (run.snapId !== null && run.snapXids !== null) snapshots[run.snapId] = run.snapXids;
  const priorUntil = BigInt(progress.filter.until);
  const until = run.walAfter !== null && run.walAfter > priorUntil ? run.walAfter : priorUntil;
  const segments = new Map<string, Segment[]>(Object.entries(progress.filter.tables).map(([k, v]) => [k, [...v]]));
  let out: ChangeEvent[] = [];
  let pending: Pending | null = null;

  const currentFilter = (): ReadFilter => {
    const tables: Record<string, Segment[]> = {};
    for (let i = 0; i < names.length && i <= emitDone; i++) {
      const name = names[i] as string;
      const segs = segments.get(name);
      if (!segs || segs.length === 0) continue;
      if (i < emitDone) {
        tables[name] = segs.map((s, j) => (j === segs.length - 1 ? { snap: s.snap, upto: null } : s));
      } else if (emitKey !== null) {
        tables[name] = segs.map((s, j) => (j === segs.length - 1 ? { snap: s.snap, upto: emitKey } : s));
      } else {
        // nothing of the current table delivered yet: keep only its complete earlier segments
        const complete = segs.slice(0, -1);
        if (complete.length > 0) tables[name] = complete;
      }
    }
    return { until: until.toString(), snapshots, tables };
  };
  const currentProgress = (): SnapshotProgress => ({
    tables: names,
    done: emitDone,
    last_key: emitKey,
    rows,
    filter: currentFilter(),
  });

  const emit = (p: Pending, lastInTable: boolean, lastOverall: boolean, doneAfter: number): void => {
    const table = run.tables[p.t] as SnapshotTable;
    const source = postgresSource({
      name: run.topicPrefix,
      commitMicros: nowMicros(),
      snapshot: marker(rows === 0, lastOverall, p.firstInTable, lastInTable),
      db: run.database,
      schema: table.model.schema,
      table: table.model.name,
      txId: null,
      lsn: run.lsn,
      lastCommitLsn: null,
    });
    out.push(...table.model.envelope.rowEvents({ op: 'r', before: null, after: p.row, source }));
    rows++;
    if (lastInTable) {
      emitDone = doneAfter;
      emitKey = null;
    } else {
      emitDone = p.t;
      emitKey = p.key;
    }
  };

  for (let t = progress.done; t < names.length; t++) {
    const table = run.tables[t];
    const name = names[t] as string;
    if (!table) continue;
    const pk = table.info.primaryKey;
    const resuming = t === progress.done && progress.last_key !== null;
    let lastKey: readonly string[] | null = resuming && pk.length > 0 ? progress.last_key : null;
    // Segments: earlier runs' complete ranges (kept only when we continue after their last key), then this run's.
    const prior = lastKey !== null ? (segments.get(name) ?? []) : [];
    segments.set(name, [...prior, { snap: run.snapId, upto: null }]);
    let firstInTable = lastKey === null;

    const included = table.model.columns.filter((c) => c.included);
    const colsSql = included.map((c) => quoteIdent(c.name));
    const byName = new Map(table.columns.map((c) => [c.name, c] as const));
    const pkSql = pk.map((k) => quoteIdent(k));
    const selectList = [...colsSql, ...pkSql].join(', ') || 'NULL';
    const nIncluded = included.length;

    const take = (values: (string | null)[]): void => {
      const row = rowFromText(table.model, values.slice(0, nIncluded));
      const key = pk.length > 0 ? (values.slice(nIncluded) as string[]) : null;
      if (pending) emit(pending, pending.t !== t, false, t);
      pending = { t, row, key, firstInTable };
      firstInTable = false;
    };

    if (pk.length > 0) {
      const casts = pk.map((k, i) => `$${i + 1}::${(byName.get(k) as ColumnInfo).sqlType}`);
      for (;;) {
        const where = lastKey === null ? '' : ` WHERE (${pkSql.join(', ')}) > (${casts.join(', ')})`;
        const res = await run.db.query<string[]>({
          text: `SELECT ${selectList} FROM ${qualified(table.info)}${where} ORDER BY ${pkSql.join(', ')} LIMIT ${run.fetchSize}`,
          values: lastKey === null ? [] : [...lastKey],
          rowMode: 'array',
          types: TEXT_TYPES,
        });
        for (const r of res.rows) take(r as (string | null)[]);
        const last = res.rows[res.rows.length - 1] as (string | null)[] | undefined;
        if (last) lastKey = last.slice(nIncluded) as string[];
        if (out.length > 0) {
          yield { events: out, progress: currentProgress(), complete: false };
          out = [];
        }
        if (res.rows.length < run.fetchSize) break;
      }
    } else {
      const cursor = quoteIdent(`sluice_snapshot_${t}`);
      await run.db.query(`DECLARE ${cursor} NO SCROLL CURSOR FOR SELECT ${selectList} FROM ${qualified(table.info)}`);
      for (;;) {
        const res = await run.db.query<string[]>({ text: `FETCH ${run.fetchSize} FROM ${cursor}`, rowMode: 'array', types: TEXT_TYPES });
        for (const r of res.rows) take(r as (string | null)[]);
        if (out.length > 0) {
          yield { events: out, progress: currentProgress(), complete: false };
          out = [];
        }
        if (res.rows.length < run.fetchSize) break;
      }
      await run.db.query(`CLOSE ${cursor}`);
    }
  }
  const last = pending as Pending | null;
  if (last) emit(last, true, true, names.length);
  emitDone = names.length;
  emitKey = null;
  yield { events: out, progress: currentProgress(), complete: true };
}

/** Drops from a finished snapshot's filter every table read entirely in the exported (exact) snapshot. */
export function pruneFilter(filter: ReadFilter): ReadFilter | null {
  const tables: Record<string, readonly Segment[]> = {};
  for (const [name, segs] of Object.entries(filter.tables)) {
    if (segs.some((s) => s.snap !== null)) tables[name] = segs;
  }
  if (Object.keys(tables).length === 0) return null;
  const used = new Set(Object.values(tables).flatMap((s) => s.map((x) => x.snap).filter((x): x is string => x !== null)));
  const snapshots: Record<string, SnapshotXids> = {};
  for (const id of used) {
    const s = filter.snapshots[id];
    if (s) snapshots[id] = s;
  }
  return { until: filter.until, snapshots, tables };
}
