import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  MariaDbGtidPosition,
  MySqlGtidSet,
  addGtid,
  gtidCovered,
  gtidsContain,
  parseMariaDbGtid,
  parseMySqlGtid,
} from '../../src/sources/mysql/gtid.js';

const U1 = '3e11fa47-71ca-11e1-9e33-c80aa9429562';
const U2 = 'a0000000-0000-0000-0000-00000000000b';

describe('MariaDB GTID positions', () => {
  it('parses, sorts by domain and prints', () => {
    const p = MariaDbGtidPosition.parse(' 1-3-45 , 0-1-1234');
    assert.equal(p.toString(), '0-1-1234,1-3-45');
    assert.equal(MariaDbGtidPosition.parse('').toString(), '');
    assert.ok(MariaDbGtidPosition.parse('').isEmpty());
  });

  it('keeps 64-bit sequence numbers exact', () => {
    const p = MariaDbGtidPosition.parse('0-1-18446744073709551615');
    assert.equal(p.get(0)?.seq, 18446744073709551615n);
    assert.equal(p.toString(), '0-1-18446744073709551615');
    assert.throws(() => MariaDbGtidPosition.parse('0-1-18446744073709551616'), /out of range/);
    assert.ok(p.covers('0-1-18446744073709551614'));
    assert.ok(!MariaDbGtidPosition.parse('0-1-9007199254740992').covers('0-1-9007199254740993'));
  });

  it('rejects malformed input and duplicate domains', () => {
    assert.throws(() => MariaDbGtidPosition.parse('0-1'), /domain-server-sequence/);
    assert.throws(() => MariaDbGtidPosition.parse('0-1-x'), /sequence/);
    assert.throws(() => MariaDbGtidPosition.parse('0-1-5,0-2-6'), /twice/);
    assert.throws(() => parseMariaDbGtid('4294967296-1-1'), /out of range/);
  });

  it('advances one domain at a time', () => {
    const p = MariaDbGtidPosition.parse('0-1-5,2-1-9').with('0-1-6').with('1-7-1');
    assert.equal(p.toString(), '0-1-6,1-7-1,2-1-9');
  });

  it('answers coverage inclusively by default and strictly on request', () => {
    const p = MariaDbGtidPosition.parse('0-1-10');
    assert.ok(p.covers('0-1-10'));
    assert.ok(!p.covers('0-1-10', { inclusive: false }));
    assert.ok(p.covers('0-1-9', { inclusive: false }));
    assert.ok(!p.covers('0-1-11'));
    assert.ok(!p.covers('1-1-1'), 'an unknown domain is not covered');
    assert.ok(p.covers('0-2-3'), 'order within a domain is by sequence number');
  });

  it('compares positions', () => {
    const a = MariaDbGtidPosition.parse('0-1-10,1-1-4');
    assert.ok(a.contains(MariaDbGtidPosition.parse('0-1-9')));
    assert.ok(a.contains(MariaDbGtidPosition.parse('0-1-10,1-1-4')));
    assert.ok(!a.contains(MariaDbGtidPosition.parse('0-1-11')));
    assert.ok(!a.contains(MariaDbGtidPosition.parse('2-1-1')));
    assert.ok(a.contains(MariaDbGtidPosition.EMPTY));
  });
});

describe('MySQL GTID sets', () => {
  it('parses, merges and prints canonically', () => {
    const s = MySqlGtidSet.parse(`${U2}:5-7:1-3,\n${U1.toUpperCase()}:1-5:7:6,${U2}:4`);
    assert.equal(s.toString(), `${U1}:1-7,${U2}:1-7`);
    assert.equal(MySqlGtidSet.parse('').toString(), '');
  });

  it('accepts uuids without dashes and tags (MySQL 8.3+)', () => {
    const s = MySqlGtidSet.parse(`${U1.replace(/-/g, '')}:1-3:tag_b:4:tag_A:1-2:9`);
    assert.equal(s.toString(), `${U1}:1-3:tag_a:1-2:9:tag_b:4`);
    assert.ok(s.contains(`${U1}:tag_a:9`));
    assert.ok(!s.contains(`${U1}:tag_a:4`));
    assert.ok(s.contains(`${U1}:tag_b:4`));
    assert.ok(s.contains(`${U1}:2`));
  });

  it('keeps transaction numbers up to 2^63-1 exact', () => {
    const s = MySqlGtidSet.parse(`${U1}:9007199254740992-9223372036854775807`);
    assert.ok(s.contains(`${U1}:9223372036854775807`));
    assert.ok(!s.contains(`${U1}:9007199254740991`));
    assert.throws(() => MySqlGtidSet.parse(`${U1}:9223372036854775808`), /out of range/);
  });

  it('rejects malformed input', () => {
    assert.throws(() => MySqlGtidSet.parse('nonsense:1'), /UUID/);
    assert.throws(() => MySqlGtidSet.parse(`${U1}`), /no intervals/);
    assert.throws(() => MySqlGtidSet.parse(`${U1}:5-3`), /ends before/);
    assert.throws(() => MySqlGtidSet.parse(`${U1}:0`), /0/);
    assert.throws(() => parseMySqlGtid(`${U1}`), /uuid:number/);
  });

  it('adds single transactions, joining adjacent intervals', () => {
    let s = MySqlGtidSet.parse(`${U1}:1-3:5`);
    s = s.with(`${U1}:4`);
    assert.equal(s.toString(), `${U1}:1-5`);
    s = s.with(`${U2}:1`).with(`${U1}:tag_x:3`);
    assert.equal(s.toString(), `${U1}:1-5:tag_x:3,${U2}:1`);
  });

  it('answers membership by binary search over many intervals', () => {
    const parts = Array.from({ length: 200 }, (_, i) => `${i * 10 + 1}-${i * 10 + 5}`).join(':');
    const s = MySqlGtidSet.parse(`${U1}:${parts}`);
    for (let i = 0; i < 200; i++) {
      assert.ok(s.contains(`${U1}:${i * 10 + 1}`));
      assert.ok(s.contains(`${U1}:${i * 10 + 5}`));
      assert.ok(!s.contains(`${U1}:${i * 10 + 6}`));
    }
  });

  it('unions and compares sets', () => {
    const a = MySqlGtidSet.parse(`${U1}:1-10,${U2}:1-3`);
    const b = MySqlGtidSet.parse(`${U1}:3-5`);
    assert.ok(b.isSubsetOf(a));
    assert.ok(!a.isSubsetOf(b));
    assert.ok(a.containsAll(b));
    assert.ok(!MySqlGtidSet.parse(`${U1}:3-11`).isSubsetOf(a));
    assert.ok(!MySqlGtidSet.parse(`${U1}:2:12`).isSubsetOf(a));
    assert.equal(a.union(MySqlGtidSet.parse(`${U1}:11-12:20`)).toString(), `${U1}:1-12:20,${U2}:1-3`);
    assert.ok(MySqlGtidSet.EMPTY.isSubsetOf(a));
    assert.ok(a.equals(MySqlGtidSet.parse(`${U2}:1-3,${U1}:1-5:6-10`)));
  });
});

describe('flavour-neutral helpers', () => {
  it('add, cover and compare by flavour', () => {
    assert.equal(addGtid('mariadb', '0-1-5', '0-1-6'), '0-1-6');
    assert.equal(addGtid('mysql', `${U1}:1-5`, `${U1}:6`), `${U1}:1-6`);
    assert.ok(gtidCovered('mariadb', '0-1-6', '0-1-6'));
    assert.ok(!gtidCovered('mysql', `${U1}:1-5`, `${U1}:6`));
    assert.ok(gtidsContain('mariadb', '0-1-7', '0-1-6'));
    assert.ok(!gtidsContain('mysql', `${U1}:1-5`, `${U1}:1-6`));
  });
});
