/**
 * A concurrent write workload whose change events can be checked for "every change exactly once": each row has a
 * version `ver` that every UPDATE increments, so per row the events must be a read (`r`, any version) or a create
 * (`c`, version 0), then updates with consecutive versions, then at most one delete — any loss shows as a gap, any
 * duplicate as a repeated version — and the last state must equal the table's final contents.
 */
import type { Connection } from 'mysql2/promise';
import type { ChangeEvent } from '../../src/events/change-event.js';
import type { StructValue } from '../../src/events/schema.js';
import type { MariaDbInstance } from '../support/mariadb.js';
import { adminConnection } from './helpers.js';

export async function createAccounts(conn: Connection, table: string, rows: number): Promise<void> {
  await conn.query(`CREATE TABLE ${table} (id BIGINT PRIMARY KEY, ver INT NOT NULL, v VARCHAR(40))`);
  const chunk = 5000;
  for (let start = 1; start <= rows; start += chunk) {
    const values: string[] = [];
    for (let id = start; id < Math.min(start + chunk, rows + 1); id++) values.push(`(${id}, 0, 'seed-${id}')`);
    await conn.query(`INSERT INTO ${table} VALUES ${values.join(',')}`);
  }
}

export class Writers {
  private running = true;
  private readonly done: Promise<void>[] = [];
  /** committed transactions */
  transactions = 0;

  constructor(
    private readonly db: MariaDbInstance,
    private readonly table: string,
    private readonly maxId: number,
    private readonly connections = 3,
  ) {}

  start(): this {
    for (let w = 0; w < this.connections; w++) this.done.push(this.loop(w));
    return this;
  }

  private async loop(w: number): Promise<void> {
    const conn = await adminConnection(this.db);
    let next = (w + 1) * 1_000_000_000;
    const ids: number[] = [];
    let seq = 0;
    try {
      while (this.running) {
        const ops = 1 + Math.floor(Math.random() * 4);
        try {
          await conn.query('BEGIN');
          for (let k = 0; k < ops; k++) {
            const dice = Math.random();
            if (dice < 0.3) {
              const id = next++;
              ids.push(id);
              await conn.query(`INSERT INTO ${this.table} VALUES (?, 0, ?)`, [id, `w${w}-${seq++}`]);
            } else if (dice < 0.9) {
              const id = Math.random() < 0.5 && ids.length > 0 ? ids[Math.floor(Math.random() * ids.length)]! : 1 + Math.floor(Math.random() * this.maxId);
              await conn.query(`UPDATE ${this.table} SET ver = ver + 1, v = ? WHERE id = ?`, [`w${w}-${seq++}`, id]);
            } else {
              const id = 1 + Math.floor(Math.random() * this.maxId);
              await conn.query(`DELETE FROM ${this.table} WHERE id = ?`, [id]);
            }
          }
          await conn.query('COMMIT');
          this.transactions++;
        } catch {
          await conn.query('ROLLBACK').catch(() => undefined);
        }
      }
    } finally {
      await conn.end().catch(() => undefined);
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.done);
  }
}

export async function finalState(conn: Connection, table: string): Promise<Map<string, number>> {
  const [rows] = (await conn.query(`SELECT id, ver FROM ${table}`)) as unknown as [{ id: string | number; ver: number }[]];
  return new Map(rows.map((r) => [String(r.id), Number(r.ver)]));
}

function field(v: unknown, name: string): unknown {
  return v === null || v === undefined ? undefined : (v as StructValue)[name];
}

/**
 * Checks the events of `topic` against the table's final state; returns the number of change events checked.
 * Throws with the first problem found.
 */
export function checkExactlyOnce(events: readonly ChangeEvent[], topic: string, expected: Map<string, number>): number {
  const seen = new Map<string, { ver: number; deleted: boolean }>();
  let count = 0;
  for (const e of events) {
    if (e.topic !== topic || e.value === null) continue;
    count++;
    const value = e.value;
    const op = String(value.op);
    const before = value.before as StructValue | null;
    const after = value.after as StructValue | null;
    const id = String(field(after ?? before, 'id'));
    const state = seen.get(id);
    const where = `row ${id}: ${op} ${JSON.stringify({ before: field(before, 'ver'), after: field(after, 'ver') })} after ${JSON.stringify(state)}`;
    switch (op) {
      case 'r':
        if (state) throw new Error(`duplicate snapshot read of ${where}`);
        seen.set(id, { ver: Number(field(after, 'ver')), deleted: false });
        break;
      case 'c':
        if (state && !state.deleted) throw new Error(`create of an existing row (duplicate?) ${where}`);
        if (Number(field(after, 'ver')) !== 0) throw new Error(`create with version ≠ 0 (lost events?) ${where}`);
        seen.set(id, { ver: 0, deleted: false });
        break;
      case 'u': {
        if (!state || state.deleted) throw new Error(`update of an unknown row (lost create/read?) ${where}`);
        const b = Number(field(before, 'ver'));
        const a = Number(field(after, 'ver'));
        if (b !== state.ver || a !== b + 1) throw new Error(`version gap or repeat ${where}`);
        state.ver = a;
        break;
      }
      case 'd': {
        if (!state || state.deleted) throw new Error(`delete of an unknown row ${where}`);
        if (Number(field(before, 'ver')) !== state.ver) throw new Error(`delete with the wrong version ${where}`);
        state.deleted = true;
        break;
      }
      default:
        throw new Error(`unexpected op ${op}`);
    }
  }
  for (const [id, ver] of expected) {
    const s = seen.get(id);
    if (!s || s.deleted) throw new Error(`row ${id} (version ${ver}) exists but its events say ${JSON.stringify(s)}`);
    if (s.ver !== ver) throw new Error(`row ${id}: final version ${ver}, events reached ${s.ver}`);
  }
  for (const [id, s] of seen) if (!s.deleted && !expected.has(id)) throw new Error(`row ${id} was deleted but no delete event came`);
  return count;
}

/** Whether the events of `topic` have reached `expected` (cheap incremental check for a driver's stop condition). */
export class Progress {
  private readonly state = new Map<string, number | null>();
  private index = 0;

  constructor(private readonly topic: string) {}

  reached(events: readonly ChangeEvent[], expected: Map<string, number> | null): boolean {
    for (; this.index < events.length; this.index++) {
      const e = events[this.index]!;
      if (e.topic !== this.topic || e.value === null) continue;
      const after = e.value.after as StructValue | null;
      const before = e.value.before as StructValue | null;
      const id = String(field(after ?? before, 'id'));
      this.state.set(id, after ? Number(after.ver) : null);
    }
    if (!expected) return false;
    for (const [id, ver] of expected) if (this.state.get(id) !== ver) return false;
    for (const [id, ver] of this.state) if (ver !== null && !expected.has(id)) return false;
    return true;
  }
}
