/**
 * A decoder for the `pgoutput` logical replication protocol (versions 1 and 2) and for the CopyBoth frames of the
 * streaming replication protocol that carry it. Pure: bytes in, plain objects out; no I/O, no type conversion.
 *
 * Formats (PostgreSQL documentation, "Logical Replication Message Formats" and "Streaming Replication Protocol"):
 * all integers are big-endian; Strings are NUL-terminated; timestamps are microseconds since 2000-01-01 UTC and are
 * converted here to microseconds since the Unix epoch; LSNs and 64-bit values are bigints.
 */
import { DecodeError } from '../../errors.js';
import type { Lsn } from './lsn.js';

/** Microseconds between 1970-01-01 and 2000-01-01 (the Postgres epoch). */
export const PG_EPOCH_OFFSET_MICROS = 946_684_800_000_000n;

/** A column of a tuple whose TOASTed value did not change and was not sent (tuple kind 'u'). */
export const UNCHANGED_TOAST: unique symbol = Symbol('unchanged-toast');
export type UnchangedToast = typeof UNCHANGED_TOAST;

/** One column of TupleData: text form (the default), binary form, SQL NULL, or an unchanged TOASTed value. */
export type TupleValue = string | Buffer | null | UnchangedToast;
export type TupleData = TupleValue[];

export type ReplicaIdentityChar = 'd' | 'n' | 'f' | 'i';

export interface RelationColumn {
  /** bit 1: part of the replica identity key */
  readonly flags: number;
  readonly isKey: boolean;
  readonly name: string;
  readonly typeOid: number;
  readonly typeMod: number;
}

export type PgOutputMessage =
  | { readonly tag: 'begin'; readonly finalLsn: Lsn; readonly commitMicros: bigint; readonly xid: number }
  | {
      readonly tag: 'commit';
      readonly flags: number;
      readonly commitLsn: Lsn;
      readonly endLsn: Lsn;
      readonly commitMicros: bigint;
    }
  | { readonly tag: 'origin'; readonly originLsn: Lsn; readonly name: string }
  | {
      readonly tag: 'relation';
      readonly xid: number | null;
      readonly relationId: number;
      readonly namespace: string;
      readonly name: string;
      readonly replicaIdentity: ReplicaIdentityChar;
      readonly columns: readonly RelationColumn[];
    }
  | { readonly tag: 'type'; readonly xid: number | null; readonly typeOid: number; readonly namespace: string; readonly name: string }
  | { readonly tag: 'insert'; readonly xid: number | null; readonly relationId: number; readonly newTuple: TupleData }
  | {
      readonly tag: 'update';
      readonly xid: number | null;
      readonly relationId: number;
      /** 'K': the old replica identity key (the key changed, or REPLICA IDENTITY INDEX/DEFAULT) */
      readonly keyTuple: TupleData | null;
      /** 'O': the whole old row (REPLICA IDENTITY FULL) */
      readonly oldTuple: TupleData | null;
      readonly newTuple: TupleData;
    }
  | {
      readonly tag: 'delete';
      readonly xid: number | null;
      readonly relationId: number;
      readonly keyTuple: TupleData | null;
      readonly oldTuple: TupleData | null;
    }
  | {
      readonly tag: 'truncate';
      readonly xid: number | null;
      readonly cascade: boolean;
      readonly restartIdentity: boolean;
      readonly relationIds: readonly number[];
    }
  | {
      readonly tag: 'message';
      readonly xid: number | null;
      readonly transactional: boolean;
      readonly lsn: Lsn;
      readonly prefix: string;
      readonly content: Buffer;
    }
  | { readonly tag: 'streamStart'; readonly xid: number; readonly firstSegment: boolean }
  | { readonly tag: 'streamStop' }
  | {
      readonly tag: 'streamCommit';
      readonly xid: number;
      readonly flags: number;
      readonly commitLsn: Lsn;
      readonly endLsn: Lsn;
      readonly commitMicros: bigint;
    }
  | {
      readonly tag: 'streamAbort';
      readonly xid: number;
      readonly subXid: number;
      readonly abortLsn: Lsn | null;
      readonly abortMicros: bigint | null;
    };

export type PgOutputTag = PgOutputMessage['tag'];

/** Messages that carry a transaction id when (and only when) they are part of a streamed transaction. */
const STREAMABLE = new Set(['R', 'Y', 'I', 'U', 'D', 'T', 'M']);

class Reader {
  pos: number;
  constructor(
    readonly buf: Buffer,
    start = 0,
  ) {
    this.pos = start;
  }
  private need(n: number): void {
    if (this.pos + n > this.buf.length) {
      throw new DecodeError(`pgoutput message truncated: need ${n} bytes at offset ${this.pos}, have ${this.buf.length - this.pos}`);
    }
  }
  u8(): number {
    this.need(1);
    return this.buf.readUInt8(this.pos++);
  }
  i16(): number {
    this.need(2);
    const v = this.buf.readInt16BE(this.pos);
    this.pos += 2;
    return v;
  }
  i32(): number {
    this.need(4);
    const v = this.buf.readInt32BE(this.pos);
    this.pos += 4;
    return v;
  }
  u32(): number {
    this.need(4);
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }
  u64(): bigint {
    this.need(8);
    const v = this.buf.readBigUInt64BE(this.pos);
    this.pos += 8;
    return v;
  }
  i64(): bigint {
    this.need(8);
    const v = this.buf.readBigInt64BE(this.pos);
    this.pos += 8;
    return v;
  }
  /** Postgres timestamp (µs since 2000-01-01) → µs since the Unix epoch. */
  time(): bigint {
    return this.i64() + PG_EPOCH_OFFSET_MICROS;
  }
  cstring(): string {
    const end = this.buf.indexOf(0, this.pos);
    if (end < 0) throw new DecodeError(`pgoutput string not terminated at offset ${this.pos}`);
    const s = this.buf.toString('utf8', this.pos, end);
    this.pos = end + 1;
    return s;
  }
  bytes(n: number): Buffer {
    this.need(n);
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }
  done(): boolean {
    return this.pos >= this.buf.length;
  }
}

function tupleData(r: Reader): TupleData {
  const n = r.i16();
  const out: TupleValue[] = new Array<TupleValue>(n);
  for (let i = 0; i < n; i++) {
    const kind = r.u8();
    switch (kind) {
      case 0x6e: // 'n'
        out[i] = null;
        break;
      case 0x75: // 'u'
        out[i] = UNCHANGED_TOAST;
        break;
      case 0x74: {
        // 't'
        const len = r.i32();
        out[i] = r.bytes(len).toString('utf8');
        break;
      }
      case 0x62: {
        // 'b'
        const len = r.i32();
        out[i] = Buffer.from(r.bytes(len));
        break;
      }
      default:
        throw new DecodeError(`unknown tuple column kind 0x${kind.toString(16)} at offset ${r.pos - 1}`);
    }
  }
  return out;
}

function replicaIdentity(code: number): ReplicaIdentityChar {
  const c = String.fromCharCode(code);
  if (c === 'd' || c === 'n' || c === 'f' || c === 'i') return c;
  throw new DecodeError(`unknown replica identity ${JSON.stringify(c)} in Relation message`);
}

/**
 * Decodes one pgoutput message. `inStream` says whether the message arrived between Stream Start and Stream Stop,
 * in which case data messages begin with the (sub)transaction id.
 */
export function decodePgOutput(buf: Buffer, inStream: boolean): PgOutputMessage {
  if (buf.length === 0) throw new DecodeError('empty pgoutput message');
  const r = new Reader(buf, 1);
  const type = String.fromCharCode(buf[0] as number);
  const xid = inStream && STREAMABLE.has(type) ? r.u32() : null;
  switch (type) {
    case 'B':
      return { tag: 'begin', finalLsn: r.u64(), commitMicros: r.time(), xid: r.u32() };
    case 'C':
      return { tag: 'commit', flags: r.u8(), commitLsn: r.u64(), endLsn: r.u64(), commitMicros: r.time() };
    case 'O':
      return { tag: 'origin', originLsn: r.u64(), name: r.cstring() };
    case 'R': {
      const relationId = r.u32();
      const namespace = r.cstring();
      const name = r.cstring();
      const ri = replicaIdentity(r.u8());
      const n = r.i16();
      const columns: RelationColumn[] = [];
      for (let i = 0; i < n; i++) {
        const flags = r.u8();
        columns.push({ flags, isKey: (flags & 1) === 1, name: r.cstring(), typeOid: r.u32(), typeMod: r.i32() });
      }
      return { tag: 'relation', xid, relationId, namespace, name, replicaIdentity: ri, columns };
    }
    case 'Y':
      return { tag: 'type', xid, typeOid: r.u32(), namespace: r.cstring(), name: r.cstring() };
    case 'I': {
      const relationId = r.u32();
      const marker = r.u8();
      if (marker !== 0x4e) throw new DecodeError(`Insert: expected 'N', got 0x${marker.toString(16)}`);
      return { tag: 'insert', xid, relationId, newTuple: tupleData(r) };
    }
    case 'U': {
      const relationId = r.u32();
      let keyTuple: TupleData | null = null;
      let oldTuple: TupleData | null = null;
      let marker = r.u8();
      if (marker === 0x4b) {
        keyTuple = tupleData(r);
        marker = r.u8();
      } else if (marker === 0x4f) {
        oldTuple = tupleData(r);
        marker = r.u8();
      }
      if (marker !== 0x4e) throw new DecodeError(`Update: expected 'N', got 0x${marker.toString(16)}`);
      return { tag: 'update', xid, relationId, keyTuple, oldTuple, newTuple: tupleData(r) };
    }
    case 'D': {
      const relationId = r.u32();
      const marker = r.u8();
      if (marker === 0x4b) return { tag: 'delete', xid, relationId, keyTuple: tupleData(r), oldTuple: null };
      if (marker === 0x4f) return { tag: 'delete', xid, relationId, keyTuple: null, oldTuple: tupleData(r) };
      throw new DecodeError(`Delete: expected 'K' or 'O', got 0x${marker.toString(16)}`);
    }
    case 'T': {
      const n = r.i32();
      const options = r.u8();
      const relationIds: number[] = [];
      for (let i = 0; i < n; i++) relationIds.push(r.u32());
      return { tag: 'truncate', xid, cascade: (options & 1) !== 0, restartIdentity: (options & 2) !== 0, relationIds };
    }
    case 'M': {
      const flags = r.u8();
      const lsn = r.u64();
      const prefix = r.cstring();
      const len = r.i32();
      return { tag: 'message', xid, transactional: (flags & 1) !== 0, lsn, prefix, content: Buffer.from(r.bytes(len)) };
    }
    case 'S':
      return { tag: 'streamStart', xid: r.u32(), firstSegment: r.u8() === 1 };
    case 'E':
      return { tag: 'streamStop' };
    case 'c':
      return {
        tag: 'streamCommit',
        xid: r.u32(),
        flags: r.u8(),
        commitLsn: r.u64(),
        endLsn: r.u64(),
        commitMicros: r.time(),
      };
    case 'A': {
      const x = r.u32();
      const subXid = r.u32();
      // Protocol version 4 (parallel streaming) appends the abort LSN and time.
      if (!r.done()) return { tag: 'streamAbort', xid: x, subXid, abortLsn: r.u64(), abortMicros: r.time() };
      return { tag: 'streamAbort', xid: x, subXid, abortLsn: null, abortMicros: null };
    }
    default:
      throw new DecodeError(`unknown pgoutput message type ${JSON.stringify(type)} (0x${(buf[0] as number).toString(16)})`);
  }
}

/**
 * Decodes a sequence of pgoutput messages, tracking whether each one is inside a streamed block
 * (Stream Start … Stream Stop). One instance per replication connection.
 */
export class PgOutputDecoder {
  private streaming = false;

  get inStream(): boolean {
    return this.streaming;
  }

  decode(buf: Buffer): PgOutputMessage {
    const msg = decodePgOutput(buf, this.streaming);
    if (msg.tag === 'streamStart') this.streaming = true;
    else if (msg.tag === 'streamStop') this.streaming = false;
    return msg;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Streaming replication protocol frames (inside CopyData)

export type ReplicationFrame =
  | { readonly kind: 'xlog'; readonly startLsn: Lsn; readonly walEnd: Lsn; readonly sendMicros: bigint; readonly data: Buffer }
  | { readonly kind: 'keepalive'; readonly walEnd: Lsn; readonly sendMicros: bigint; readonly replyRequested: boolean };

export function decodeReplicationFrame(chunk: Buffer): ReplicationFrame {
  if (chunk.length === 0) throw new DecodeError('empty CopyData frame');
  const r = new Reader(chunk, 1);
  const type = chunk[0];
  if (type === 0x77) {
    // 'w' XLogData
    const startLsn = r.u64();
    const walEnd = r.u64();
    const sendMicros = r.time();
    return { kind: 'xlog', startLsn, walEnd, sendMicros, data: chunk.subarray(r.pos) };
  }
  if (type === 0x6b) {
    // 'k' Primary keepalive
    return { kind: 'keepalive', walEnd: r.u64(), sendMicros: r.time(), replyRequested: r.u8() === 1 };
  }
  throw new DecodeError(`unknown replication frame type 0x${(type as number).toString(16)}`);
}

/** Standby status update ('r'): written, flushed and applied LSN, client clock, and whether a reply is wanted. */
export function encodeStandbyStatus(write: Lsn, flush: Lsn, apply: Lsn, nowUnixMicros: bigint, replyRequested = false): Buffer {
  const b = Buffer.alloc(34);
  b.writeUInt8(0x72, 0);
  b.writeBigUInt64BE(write, 1);
  b.writeBigUInt64BE(flush, 9);
  b.writeBigUInt64BE(apply, 17);
  b.writeBigInt64BE(nowUnixMicros - PG_EPOCH_OFFSET_MICROS, 25);
  b.writeUInt8(replyRequested ? 1 : 0, 33);
  return b;
}
