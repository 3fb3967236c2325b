import type { JsonValue, SourceOffset } from '../../events/change-event.js';
import { OffsetError } from '../../errors.js';
import type { TransactionState } from '../../events/transaction.js';
import { gtidCovered, gtidsContain, type Flavor } from './gtid.js';

/**
 * A MySQL/MariaDB source offset (JSON-safe; positions as decimal strings):
 *
 *   file, pos      where to resume: the start of the transaction in progress, or the end of the last committed one
 *   gtids          the GTID set executed at `file`/`pos` (MariaDB position or MySQL set); null when unknown
 *   row_skip       row changes of the transaction at `file`/`pos` already delivered (resume skips exactly those)
 *   snapshot       progress of a snapshot that has not finished (see SnapshotState)
 *   transaction    provide.transaction.metadata: event counts of the transaction at file/pos so far
 *   snapshot_filter  after a snapshot taken in several consistent reads (resumed mid-way), which tables were read
 *                  at which position: streaming starts at the first and drops a table's changes that the table's
 *                  own read already contains. Dropped once streaming has passed the last read's position.
 */
export interface BinlogPosition {
  readonly file: string;
  readonly pos: bigint;
  readonly gtids: string | null;
}

/** A key of the snapshot's keyset order, as JSON (numbers, exact strings). */
export type SnapshotKey = readonly JsonValue[];

export interface SnapshotCursor {
  readonly table: string;
  /** index into `epochs` of the consistent read this part of the table comes from */
  readonly epoch: number;
  /** exclusive lower bound of this part (null: from the first row) */
  readonly from: SnapshotKey | null;
  /** the last key delivered in this part (null: none yet) */
  readonly key: SnapshotKey | null;
}

/** A table read in several parts (a snapshot resumed inside it): keys up to `upto` came from read `epoch`. */
export interface SnapshotSplit {
  readonly epoch: number;
  readonly upto: SnapshotKey;
}

export interface SnapshotState {
  /** consistent read positions, oldest first; streaming resumes at epochs[0] */
  readonly epochs: readonly BinlogPosition[];
  /** every table to read, in order */
  readonly tables: readonly string[];
  /** finished tables → epoch of their (last) part */
  readonly done: Readonly<Record<string, number>>;
  readonly current: SnapshotCursor | null;
  readonly splits: Readonly<Record<string, readonly SnapshotSplit[]>>;
  /** rows delivered so far */
  readonly rows: number;
}

export interface SnapshotFilter {
  readonly epochs: readonly BinlogPosition[];
  readonly done: Readonly<Record<string, number>>;
  readonly splits: Readonly<Record<string, readonly SnapshotSplit[]>>;
}

export interface BinlogOffset {
  readonly position: BinlogPosition;
  readonly rowSkip: number;
  readonly snapshot: SnapshotState | null;
  readonly filter: SnapshotFilter | null;
  /** provide.transaction.metadata: the counts of the transaction in progress (row_skip > 0) */
  readonly transaction?: TransactionState | null;
}

function positionToJson(p: BinlogPosition): { [k: string]: JsonValue } {
  return { file: p.file, pos: p.pos.toString(), gtids: p.gtids };
}

function positionFromJson(v: unknown, where: string): BinlogPosition {
  if (typeof v !== 'object' || v === null) throw new OffsetError(`stored offset: ${where} is not an object`);
  const o = v as Record<string, unknown>;
  if (typeof o.file !== 'string' || o.file === '') throw new OffsetError(`stored offset: ${where}.file is missing`);
  const pos = typeof o.pos === 'number' || typeof o.pos === 'string' ? String(o.pos) : '';
  if (!/^\d+$/.test(pos)) throw new OffsetError(`stored offset: ${where}.pos is not a position`);
  const gtids = typeof o.gtids === 'string' ? o.gtids : null;
  return { file: o.file, pos: BigInt(pos), gtids };
}

export function encodeOffset(connector: 'mysql' | 'mariadb', offset: BinlogOffset): SourceOffset {
  const out: { [k: string]: JsonValue } = {
    connector,
    ...positionToJson(offset.position),
    row_skip: offset.rowSkip,
  };
  if (offset.snapshot) {
    const s = offset.snapshot;
    out.snapshot = {
      epochs: s.epochs.map(positionToJson),
      tables: [...s.tables],
      done: { ...s.done },
      current: s.current
        ? {
            table: s.current.table,
            epoch: s.current.epoch,
            from: s.current.from ? [...s.current.from] : null,
            key: s.current.key ? [...s.current.key] : null,
          }
        : null,
      splits: splitsToJson(s.splits),
      rows: s.rows,
    };
  }
  if (offset.transaction) {
    out.transaction = { id: offset.transaction.id, total: offset.transaction.total, perCollection: { ...offset.transaction.perCollection } };
  }
  if (offset.filter) {
    out.snapshot_filter = {
      epochs: offset.filter.epochs.map(positionToJson),
      done: { ...offset.filter.done },
      splits: splitsToJson(offset.filter.splits),
    };
  }
  return out;
}

function splitsToJson(splits: Readonly<Record<string, readonly SnapshotSplit[]>>): { [k: string]: JsonValue } {
  const out: { [k: string]: JsonValue } = {};
  for (const [t, list] of Object.entries(splits)) out[t] = list.map((s) => ({ epoch: s.epoch, upto: [...s.upto] }));
  return out;
}

function splitsFromJson(v: unknown): Record<string, SnapshotSplit[]> {
  const out: Record<string, SnapshotSplit[]> = {};
  if (typeof v !== 'object' || v === null) return out;
  for (const [t, list] of Object.entries(v as Record<string, unknown>)) {
    if (!Array.isArray(list)) continue;
    out[t] = list.map((s: { epoch: number; upto: JsonValue[] }) => ({ epoch: Number(s.epoch), upto: s.upto }));
  }
  return out;
}

function numberRecord(v: unknown): Record<string, number> {
  const out: Record<string, number> = {};
  if (typeof v === 'object' && v !== null) for (const [k, n] of Object.entries(v)) out[k] = Number(n);
  return out;
}

export function decodeOffset(offset: SourceOffset | null): BinlogOffset | null {
  if (offset === null) return null;
  const position = positionFromJson(offset, 'offset');
  const rowSkip = Number(offset.row_skip ?? 0);
  if (!Number.isInteger(rowSkip) || rowSkip < 0) throw new OffsetError('stored offset: row_skip is not a count');
  let snapshot: SnapshotState | null = null;
  const s = offset.snapshot as Record<string, unknown> | null | undefined;
  if (s && typeof s === 'object') {
    const cur = s.current as Record<string, unknown> | null | undefined;
    snapshot = {
      epochs: (Array.isArray(s.epochs) ? s.epochs : []).map((e, i) => positionFromJson(e, `snapshot.epochs[${i}]`)),
      tables: Array.isArray(s.tables) ? s.tables.map(String) : [],
      done: numberRecord(s.done),
      current: cur
        ? {
            table: String(cur.table),
            epoch: Number(cur.epoch),
            from: Array.isArray(cur.from) ? (cur.from as JsonValue[]) : null,
            key: Array.isArray(cur.key) ? (cur.key as JsonValue[]) : null,
          }
        : null,
      splits: splitsFromJson(s.splits),
      rows: Number(s.rows ?? 0),
    };
    if (snapshot.epochs.length === 0) throw new OffsetError('stored offset: snapshot.epochs is empty');
  }
  let filter: SnapshotFilter | null = null;
  const f = offset.snapshot_filter as Record<string, unknown> | null | undefined;
  if (f && typeof f === 'object') {
    filter = {
      epochs: (Array.isArray(f.epochs) ? f.epochs : []).map((e, i) => positionFromJson(e, `snapshot_filter.epochs[${i}]`)),
      done: numberRecord(f.done),
      splits: splitsFromJson(f.splits),
    };
  }
  const t = offset.transaction as Record<string, unknown> | null | undefined;
  const transaction: TransactionState | null =
    t && typeof t === 'object' && typeof t.id === 'string'
      ? {
          id: t.id,
          total: String(t.total ?? '0'),
          perCollection: Object.fromEntries(Object.entries((t.perCollection ?? {}) as Record<string, unknown>).map(([k, v]) => [k, String(v)])),
        }
      : null;
  return { position, rowSkip, snapshot, filter, transaction };
}

// ---------------------------------------------------------------------------------------------------------------
// Ordering of positions

/** The sequence number of a binlog file name ('mysql-bin.000012' → 12). */
export function binlogFileIndex(file: string): number {
  const m = /\.(\d+)$/.exec(file);
  return m ? Number(m[1]) : -1;
}

/** Orders two file/position pairs of the same server. */
export function compareFilePos(a: { file: string; pos: bigint }, b: { file: string; pos: bigint }): number {
  const fa = binlogFileIndex(a.file);
  const fb = binlogFileIndex(b.file);
  if (fa !== fb) return fa < fb ? -1 : 1;
  return a.pos === b.pos ? 0 : a.pos < b.pos ? -1 : 1;
}

/**
 * Whether the transaction that started at `start` (with GTID `gtid`) committed before the consistent read at
 * `epoch`, i.e. the read already contains it. GTIDs decide when both sides have them; file/position otherwise.
 */
export function committedBefore(
  flavor: Flavor,
  start: { file: string; pos: bigint },
  gtid: string | null,
  epoch: BinlogPosition,
): boolean {
  if (gtid !== null && epoch.gtids !== null) return gtidCovered(flavor, epoch.gtids, gtid);
  return compareFilePos(start, epoch) < 0;
}

/** Whether position `a` is at or after `b`. */
export function atOrAfter(flavor: Flavor, a: BinlogPosition, b: BinlogPosition): boolean {
  if (a.gtids !== null && b.gtids !== null && a.gtids !== '' && b.gtids !== '') return gtidsContain(flavor, a.gtids, b.gtids);
  return compareFilePos(a, b) >= 0;
}
