/**
 * The checker of the exactly-once proof must be able to fail: a lost record, a duplicate, a reordering, a snapshot
 * read of a state the row never had at a transaction boundary, a wrong final value and a record of an unknown key
 * are each reported. No services: a generator against a fake database, and the records a correct engine writes.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkExactlyOnce, Workload, type DecodedRecord, type WorkloadDb } from './support.js';

function seeded(seed: number): () => number {
  let x = seed >>> 0;
  return () => {
    x = (x * 1664525 + 1013904223) >>> 0;
    return x / 2 ** 32;
  };
}

const INITIAL = 20;

async function scenario(): Promise<{ workload: Workload; records: DecodedRecord[] }> {
  const db: WorkloadDb = { exec: async () => {}, query: async () => [] };
  const workload = new Workload(db, { table: 'items', initialRows: INITIAL, random: seeded(42) });
  // a snapshot read of every initial row first, then the stream
  const next = new Map<number, number>();
  const records: DecodedRecord[] = [];
  const push = (id: bigint, value: DecodedRecord['value'], headers: Record<string, string> = {}) => {
    const partition = Number(id % 3n);
    const offset = next.get(partition) ?? 0;
    next.set(partition, offset + 1);
    records.push({ partition, offset, key: { id }, value, headers });
  };
  for (let id = 1n; id <= BigInt(INITIAL); id++) {
    push(id, { op: 'r', before: null, after: { id, ver: 1, val: Workload.initialVal(id) }, source: {} });
  }
  for (let i = 0; i < 60; i++) {
    if (i === 10) workload.destructive = true;
    await workload.transaction();
  }
  for (const tx of workload.committed) {
    for (const c of tx) {
      const row = { id: c.id, ver: c.ver, val: c.val };
      if (c.op === 'd') {
        push(c.id, { op: 'd', before: row, after: null, source: {} }, c.newId === undefined ? {} : { '__debezium.newkey': `{"id":${c.newId}}` });
        push(c.id, null);
      } else {
        push(c.id, { op: c.op, before: null, after: row, source: {} }, c.oldId === undefined ? {} : { '__debezium.oldkey': `{"id":${c.oldId}}` });
      }
    }
  }
  return { workload, records };
}

function check(workload: Workload, records: DecodedRecord[], final = new Map(workload.live)) {
  return checkExactlyOnce({ records, workload, initialRows: INITIAL, final });
}

test('the checker passes what a correct engine writes, and fails every kind of violation', async () => {
  const { workload, records } = await scenario();
  assert.ok(workload.stats.deletes > 0 && workload.stats.pkChanges > 0 && workload.stats.updates > 0, 'the workload has every kind of change');
  const ok = check(workload, records);
  assert.equal(ok.records, records.length);
  assert.equal(ok.expectedRecords, records.length);
  assert.equal(ok.snapshotRecords, INITIAL);

  const streamed = records.findIndex((r) => r.value?.op === 'u');
  const violations: Record<string, DecodedRecord[]> = {
    'a lost record': records.filter((_, i) => i !== streamed),
    'a duplicate': [...records, { ...records[streamed]!, offset: 1_000_000 }],
    'a lost tombstone': records.filter((r, i) => i !== records.findIndex((x) => x.value === null)),
    'a duplicate snapshot read': [...records, { ...records[0]!, offset: 1_000_001 }],
  };
  // two records of one key swapped (offsets exchanged)
  const key = records[streamed]!.key!['id'];
  const same = records.map((r, i) => [r, i] as const).filter(([r]) => r.key!['id'] === key);
  assert.ok(same.length >= 2);
  const swapped = [...records];
  const [a, ia] = same[same.length - 2]!;
  const [b, ib] = same[same.length - 1]!;
  swapped[ia] = { ...b, offset: a.offset };
  swapped[ib] = { ...a, offset: b.offset };
  violations['two changes of one key in the wrong order'] = swapped;
  // a snapshot read of a state the row had only in the middle of a transaction, or never
  violations['a snapshot read of a state the row never had'] = records.map((r, i) =>
    i === 0 ? { ...r, value: { ...r.value!, after: { ...r.value!.after, ver: 99 } } } : r,
  );
  violations['a record of a key nobody wrote'] = [...records, { ...records[0]!, key: { id: 999_999n }, offset: 1_000_002 }];

  for (const [what, bad] of Object.entries(violations)) {
    assert.throws(() => check(workload, bad), /exactly-once violated/, what);
  }
  // the final values must be the database's
  const final = new Map(workload.live);
  const [someId, row] = [...final][0]!;
  final.set(someId, { ...row, val: 'changed behind the generator' });
  assert.throws(() => check(workload, records, final), /database vs generator model|the database holds/, 'a final value differs');
});
