/**
 * The Postgres source offset (see docs/postgres.md, "Offsets"). JSON-safe; LSNs and xids are decimal strings.
 *
 *   lsn            resume point: every transaction that committed before it is delivered. START_REPLICATION
 *                  starts here; `acknowledge` confirms it to the slot (only when nothing is partly delivered).
 *   lsn_commit     commit LSN of the transaction named by txId (the last completed one, or the one in progress)
 *   lsn_proc       LSN of the last change delivered (informational)
 *   txId           that transaction's xid
 *   events_in_tx   > 0: transaction (txId, lsn_commit) is partly delivered; this many of its changes (pgoutput
 *                  data messages) are out, and a restart skips exactly those
 *   tx_state       transaction metadata counters of that partial transaction (provide.transaction.metadata)
 *   msg_lsn        LSN of the last non-transactional logical message delivered (they are not covered by `lsn`)
 *   snapshot       snapshot progress while the initial snapshot runs (null once done)
 *   read_filter    after a snapshot that was (partly) read in a fresh snapshot rather than the slot's exported one:
 *                  what to skip while streaming up to `until` (see ReadFilter)
 */
import type { JsonValue, SourceOffset } from '../../events/change-event.js';
import type { TransactionState } from '../../events/transaction.js';
import { OffsetError } from '../../errors.js';
import type { Lsn } from './lsn.js';

/** The visible set of a non-exported snapshot: pg_current_snapshot() as xid8 decimal strings. */
export interface SnapshotXids {
  readonly xmin: string;
  readonly xmax: string;
  readonly xip: readonly string[];
}

/** One key range of a table and the snapshot it was read in; `upto` = last key (text) of the range, null = end. */
export interface Segment {
  /** id into `snapshots`; null = the slot's exported snapshot (exact, nothing to skip) */
  readonly snap: string | null;
  readonly upto: readonly string[] | null;
}

export interface ReadFilter {
  /** commit LSN below which the filter applies (the WAL insert position after the last fresh snapshot began) */
  readonly until: string;
  readonly snapshots: { readonly [id: string]: SnapshotXids };
  /** per `schema.table`: its segments in key order */
  readonly tables: { readonly [table: string]: readonly Segment[] };
}

export interface SnapshotProgress {
  /** tables to read, in order (`schema.table`), fixed when the snapshot started */
  readonly tables: readonly string[];
  /** how many of `tables` are completely delivered */
  readonly done: number;
  /** key (text) of the last row delivered of tables[done]; null when none yet */
  readonly last_key: readonly string[] | null;
  /** rows delivered so far (the first one carries `snapshot: first`) */
  readonly rows: number;
  /** segments of tables read so far (complete ones and the current one) and the snapshots they name */
  readonly filter: ReadFilter;
}

export interface PgOffset {
  readonly lsn: Lsn;
  readonly lsnCommit: Lsn | null;
  readonly lsnProc: Lsn | null;
  readonly txId: bigint | null;
  readonly eventsInTx: number;
  readonly txState: TransactionState | null;
  readonly msgLsn: Lsn | null;
  readonly snapshot: SnapshotProgress | null;
  readonly readFilter: ReadFilter | null;
}

const str = (v: bigint | null): string | null => (v === null ? null : v.toString());

export function encodeOffset(o: PgOffset): SourceOffset {
  const out: { [k: string]: JsonValue } = {
    lsn: o.lsn.toString(),
    lsn_commit: str(o.lsnCommit),
    lsn_proc: str(o.lsnProc),
    txId: str(o.txId),
    events_in_tx: o.eventsInTx,
  };
  if (o.txState) out['tx_state'] = o.txState as unknown as JsonValue;
  if (o.msgLsn !== null) out['msg_lsn'] = o.msgLsn.toString();
  if (o.snapshot) out['snapshot'] = o.snapshot as unknown as JsonValue;
  if (o.readFilter) out['read_filter'] = o.readFilter as unknown as JsonValue;
  return out;
}

function big(v: JsonValue | undefined, field: string, nullable: true): bigint | null;
function big(v: JsonValue | undefined, field: string, nullable: false): bigint;
function big(v: JsonValue | undefined, field: string, nullable: boolean): bigint | null {
  if (v === null || v === undefined) {
    if (nullable) return null;
    throw new OffsetError(`stored Postgres offset has no ${field}`);
  }
  if (typeof v === 'string' && /^\d+$/.test(v)) return BigInt(v);
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return BigInt(v);
  throw new OffsetError(`stored Postgres offset: ${field} must be a decimal string, got ${JSON.stringify(v)}`);
}

export function decodeOffset(raw: SourceOffset): PgOffset {
  const events = raw['events_in_tx'];
  return {
    lsn: big(raw['lsn'], 'lsn', false),
    lsnCommit: big(raw['lsn_commit'], 'lsn_commit', true),
    lsnProc: big(raw['lsn_proc'], 'lsn_proc', true),
    txId: big(raw['txId'], 'txId', true),
    eventsInTx: typeof events === 'number' ? events : 0,
    txState: (raw['tx_state'] as unknown as TransactionState | undefined) ?? null,
    msgLsn: big(raw['msg_lsn'], 'msg_lsn', true),
    snapshot: (raw['snapshot'] as unknown as SnapshotProgress | undefined) ?? null,
    readFilter: (raw['read_filter'] as unknown as ReadFilter | undefined) ?? null,
  };
}

/** Whether an offset may be confirmed to the slot: nothing partly delivered, no snapshot running. */
export function isAcknowledgeable(o: PgOffset): boolean {
  return o.eventsInTx === 0 && o.snapshot === null;
}

// ---------------------------------------------------------------------------------------------------------------
// Snapshot visibility

/** A 32-bit xid from the WAL, widened to the 64-bit xid closest to `reference` (a snapshot's xmax). */
export function widenXid(xid: number, reference: bigint): bigint {
  const epochBase = reference & ~0xffffffffn;
  let full = epochBase | BigInt(xid >>> 0);
  if (full > reference + 0x80000000n) full -= 0x100000000n;
  else if (full < reference - 0x80000000n) full += 0x100000000n;
  return full;
}

/** Whether a committed transaction (top-level xid) is visible in a snapshot, i.e. its effects are in the read. */
export function visibleIn(xid: number, snap: SnapshotXids): boolean {
  const xmin = BigInt(snap.xmin);
  const xmax = BigInt(snap.xmax);
  const full = widenXid(xid, xmax);
  if (full < xmin) return true;
  if (full >= xmax) return false;
  return !snap.xip.includes(full.toString());
}
