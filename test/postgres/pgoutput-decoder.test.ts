import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  PgOutputDecoder,
  PG_EPOCH_OFFSET_MICROS,
  UNCHANGED_TOAST,
  decodePgOutput,
  decodeReplicationFrame,
  encodeStandbyStatus,
} from '../../src/sources/postgres/pgoutput-decoder.js';
import { formatLsn, parseLsn } from '../../src/sources/postgres/lsn.js';
import { DecodeError } from '../../src/errors.js';

/** A tiny writer for building protocol messages in tests. */
class W {
  private parts: Buffer[] = [];
  byte(c: string | number): this {
    this.parts.push(Buffer.from([typeof c === 'string' ? c.charCodeAt(0) : c]));
    return this;
  }
  i16(n: number): this {
    const b = Buffer.alloc(2);
    b.writeInt16BE(n);
    this.parts.push(b);
    return this;
  }
  i32(n: number): this {
    const b = Buffer.alloc(4);
    b.writeInt32BE(n);
    this.parts.push(b);
    return this;
  }
  u32(n: number): this {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(n);
    this.parts.push(b);
    return this;
  }
  i64(n: bigint): this {
    const b = Buffer.alloc(8);
    b.writeBigInt64BE(n);
    this.parts.push(b);
    return this;
  }
  str(s: string): this {
    this.parts.push(Buffer.from(s, 'utf8'), Buffer.from([0]));
    return this;
  }
  raw(b: Buffer): this {
    this.parts.push(b);
    return this;
  }
  text(s: string): this {
    const b = Buffer.from(s, 'utf8');
    return this.byte('t').i32(b.length).raw(b);
  }
  build(): Buffer {
    return Buffer.concat(this.parts);
  }
}

const T = 1_700_000_000_000_000n; // unix micros
const pgTime = T - PG_EPOCH_OFFSET_MICROS;

describe('LSN text', () => {
  it('round-trips', () => {
    assert.equal(parseLsn('16/B374D848'), 0x16b374d848n);
    assert.equal(formatLsn(0x16b374d848n), '16/B374D848');
    assert.equal(formatLsn(0n), '0/0');
    assert.throws(() => parseLsn('nope'));
  });
});

describe('pgoutput decoder', () => {
  it('decodes Begin and Commit with Unix-epoch times', () => {
    const begin = decodePgOutput(new W().byte('B').i64(0x100n).i64(pgTime).u32(4000000000).build(), false);
    assert.deepEqual(begin, { tag: 'begin', finalLsn: 0x100n, commitMicros: T, xid: 4000000000 });
    const commit = decodePgOutput(new W().byte('C').byte(0).i64(0x100n).i64(0x128n).i64(pgTime).build(), false);
    assert.deepEqual(commit, { tag: 'commit', flags: 0, commitLsn: 0x100n, endLsn: 0x128n, commitMicros: T });
  });

  it('decodes Relation with key flags and typmods', () => {
    const msg = new W()
      .byte('R')
      .u32(16384)
      .str('public')
      .str('orders')
      .byte('d')
      .i16(2)
      .byte(1)
      .str('id')
      .u32(23)
      .i32(-1)
      .byte(0)
      .str('amount')
      .u32(1700)
      .i32((10 << 16) + 2 + 4)
      .build();
    const r = decodePgOutput(msg, false);
    assert.equal(r.tag, 'relation');
    if (r.tag !== 'relation') return;
    assert.equal(r.xid, null);
    assert.equal(r.namespace, 'public');
    assert.equal(r.name, 'orders');
    assert.equal(r.replicaIdentity, 'd');
    assert.deepEqual(r.columns[0], { flags: 1, isKey: true, name: 'id', typeOid: 23, typeMod: -1 });
    assert.equal(r.columns[1]?.isKey, false);
    assert.equal(r.columns[1]?.typeMod, (10 << 16) + 6);
  });

  it('decodes Insert/Update/Delete tuples including nulls and unchanged TOAST', () => {
    const ins = decodePgOutput(new W().byte('I').u32(7).byte('N').i16(3).text('1').byte('n').text('héllo').build(), false);
    assert.deepEqual(ins, { tag: 'insert', xid: null, relationId: 7, newTuple: ['1', null, 'héllo'] });

    const upd = decodePgOutput(
      new W().byte('U').u32(7).byte('K').i16(1).text('1').byte('N').i16(2).text('2').byte('u').build(),
      false,
    );
    assert.deepEqual(upd, { tag: 'update', xid: null, relationId: 7, keyTuple: ['1'], oldTuple: null, newTuple: ['2', UNCHANGED_TOAST] });

    const updFull = decodePgOutput(
      new W().byte('U').u32(7).byte('O').i16(1).text('a').byte('N').i16(1).text('b').build(),
      false,
    );
    assert.equal(updFull.tag === 'update' && updFull.oldTuple?.[0], 'a');

    const updNoOld = decodePgOutput(new W().byte('U').u32(7).byte('N').i16(1).text('b').build(), false);
    assert.equal(updNoOld.tag === 'update' && updNoOld.keyTuple, null);

    const del = decodePgOutput(new W().byte('D').u32(7).byte('K').i16(1).text('9').build(), false);
    assert.deepEqual(del, { tag: 'delete', xid: null, relationId: 7, keyTuple: ['9'], oldTuple: null });

    const bin = decodePgOutput(new W().byte('I').u32(7).byte('N').i16(1).byte('b').i32(2).raw(Buffer.from([1, 2])).build(), false);
    assert.deepEqual(bin.tag === 'insert' && bin.newTuple[0], Buffer.from([1, 2]));
  });

  it('decodes Truncate, Type, Origin and Message', () => {
    const t = decodePgOutput(new W().byte('T').i32(2).byte(3).u32(10).u32(11).build(), false);
    assert.deepEqual(t, { tag: 'truncate', xid: null, cascade: true, restartIdentity: true, relationIds: [10, 11] });
    const y = decodePgOutput(new W().byte('Y').u32(99999).str('public').str('mood').build(), false);
    assert.deepEqual(y, { tag: 'type', xid: null, typeOid: 99999, namespace: 'public', name: 'mood' });
    const o = decodePgOutput(new W().byte('O').i64(55n).str('node_a').build(), false);
    assert.deepEqual(o, { tag: 'origin', originLsn: 55n, name: 'node_a' });
    const m = decodePgOutput(new W().byte('M').byte(1).i64(77n).str('audit').i32(3).raw(Buffer.from('abc')).build(), false);
    assert.deepEqual(m, { tag: 'message', xid: null, transactional: true, lsn: 77n, prefix: 'audit', content: Buffer.from('abc') });
  });

  it('reads the xid of data messages only inside a streamed block (protocol v2)', () => {
    const d = new PgOutputDecoder();
    assert.deepEqual(d.decode(new W().byte('S').u32(600).byte(1).build()), { tag: 'streamStart', xid: 600, firstSegment: true });
    assert.equal(d.inStream, true);
    const ins = d.decode(new W().byte('I').u32(601).u32(7).byte('N').i16(1).text('x').build());
    assert.deepEqual(ins, { tag: 'insert', xid: 601, relationId: 7, newTuple: ['x'] });
    const rel = d.decode(new W().byte('R').u32(600).u32(7).str('s').str('t').byte('f').i16(0).build());
    assert.equal(rel.tag === 'relation' && rel.xid, 600);
    assert.deepEqual(d.decode(new W().byte('E').build()), { tag: 'streamStop' });
    assert.equal(d.inStream, false);
    const ins2 = d.decode(new W().byte('I').u32(7).byte('N').i16(1).text('y').build());
    assert.equal(ins2.tag === 'insert' && ins2.xid, null);
    const sc = d.decode(new W().byte('c').u32(600).byte(0).i64(0x200n).i64(0x230n).i64(pgTime).build());
    assert.deepEqual(sc, { tag: 'streamCommit', xid: 600, flags: 0, commitLsn: 0x200n, endLsn: 0x230n, commitMicros: T });
    const sa = d.decode(new W().byte('A').u32(600).u32(601).build());
    assert.deepEqual(sa, { tag: 'streamAbort', xid: 600, subXid: 601, abortLsn: null, abortMicros: null });
  });

  it('rejects unknown and truncated messages with DecodeError', () => {
    assert.throws(() => decodePgOutput(Buffer.from('Z'), false), DecodeError);
    assert.throws(() => decodePgOutput(new W().byte('B').i64(1n).build(), false), DecodeError);
    assert.throws(() => decodePgOutput(new W().byte('I').u32(1).byte('N').i16(1).byte('x').build(), false), DecodeError);
  });
});

describe('replication frames', () => {
  it('decodes XLogData and keepalive, encodes standby status', () => {
    const payload = Buffer.from('B...');
    const w = decodeReplicationFrame(new W().byte('w').i64(10n).i64(20n).i64(pgTime).raw(payload).build());
    assert.deepEqual(w, { kind: 'xlog', startLsn: 10n, walEnd: 20n, sendMicros: T, data: payload });
    const k = decodeReplicationFrame(new W().byte('k').i64(99n).i64(pgTime).byte(1).build());
    assert.deepEqual(k, { kind: 'keepalive', walEnd: 99n, sendMicros: T, replyRequested: true });
    const r = encodeStandbyStatus(5n, 5n, 5n, T, false);
    assert.equal(r.length, 34);
    assert.equal(r[0], 0x72);
    assert.equal(r.readBigUInt64BE(1), 5n);
    assert.equal(r.readBigUInt64BE(9), 5n);
    assert.equal(r.readBigInt64BE(25), pgTime);
  });
});
