/**
 * Shared pieces of the exactly-once tests (test/eos/*.test.ts):
 *
 * - `startSluice`: `node bin/sluice.js run <config>` as a child process, as a user starts it; every child is
 *   remembered so that `killAllSluice()` (in an `after` hook) leaves no orphan;
 * - record decoders that know nothing of Sluice's converters: Kafka Connect JSON parsed with exact integers, and
 *   Avro in Confluent's wire format with the writer schema fetched back from the registry (`GET /schemas/ids/{id}`);
 * - `Workload`: a generator of inserts, updates (each one bumps a `ver` column), deletes, multi-row
 *   transactions and primary-key changes, which logs exactly what it committed, in commit order;
 * - `checkExactlyOnce`: compares what a `read_committed` reader got with that log, per key.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { createRequire } from 'node:module';
import avro from 'avsc';
import type * as RdKafkaTypes from '@confluentinc/kafka-javascript/types/rdkafka.js';
import { parseExactJson, type Exact } from '../converters/exact-json.js';
import { readerLong } from '../support/avro-reader-long.js';
import type { ReadRecord } from '../support/kafka-read.js';

export const BIN = new URL('../../bin/sluice.js', import.meta.url).pathname;

const require = createRequire(import.meta.url);
const RdKafka = require('@confluentinc/kafka-javascript') as { KafkaConsumer: typeof RdKafkaTypes.KafkaConsumer };

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------------------------
// sluice as a child process

export interface ExitInfo {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface SluiceProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly startedAt: number;
  /** stderr so far (pino JSON lines), the last ~2 MB */
  stderr(): string;
  /** the parsed log lines so far (those that are JSON) */
  logs(): LogLine[];
  readonly exit: Promise<ExitInfo>;
  /** resolves with the first log line matching, or rejects when the process exits first / time runs out */
  waitForLog(what: string, match: (l: LogLine) => boolean, timeoutMs?: number): Promise<LogLine>;
}

export interface LogLine {
  readonly level?: number;
  readonly msg?: string;
  readonly [key: string]: unknown;
}

const running = new Set<ChildProcess>();

export function startSluice(configs: string | readonly string[], env: Record<string, string> = {}): SluiceProcess {
  const child = spawn(process.execPath, [BIN, 'run', ...(typeof configs === 'string' ? [configs] : configs)], {
    env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '', SLUICE_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  let err = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (d: string) => {
    err += d;
    if (err.length > 4_000_000) err = err.slice(-2_000_000);
  });
  child.stdout!.resume();
  const exit = new Promise<ExitInfo>((resolve) =>
    child.once('exit', (code, signal) => {
      running.delete(child);
      resolve({ code, signal });
    }),
  );
  const logs = (): LogLine[] => {
    const out: LogLine[] = [];
    for (const line of err.split('\n')) {
      if (!line.startsWith('{')) continue;
      try {
        out.push(JSON.parse(line) as LogLine);
      } catch {
        // a line cut by the 2 MB window, or not JSON
      }
    }
    return out;
  };
  let exited = false;
  void exit.then(() => (exited = true));
  return {
    child,
    pid: child.pid ?? -1,
    startedAt: Date.now(),
    stderr: () => err,
    logs,
    exit,
    async waitForLog(what, match, timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const hit = logs().find(match);
        if (hit) return hit;
        if (exited) throw new Error(`sluice (pid ${child.pid}) exited while waiting for ${what}:\n${err.slice(-4000)}`);
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}:\n${err.slice(-4000)}`);
        await sleep(50);
      }
    },
  };
}

/** SIGKILLs every sluice child still running (for `after` hooks) and waits for them to be gone. */
export async function killAllSluice(): Promise<void> {
  const children = [...running];
  await Promise.all(
    children.map(
      (c) =>
        new Promise<void>((resolve) => {
          if (c.exitCode !== null || c.signalCode !== null) return resolve();
          c.once('exit', () => resolve());
          c.kill('SIGKILL');
        }),
    ),
  );
}

/** SIGKILL and wait for the exit. */
export async function kill9(p: SluiceProcess): Promise<ExitInfo> {
  p.child.kill('SIGKILL');
  return p.exit;
}

// ---------------------------------------------------------------------------------------------------------------
// A TCP forwarder: a port that refuses connections until `open(target)`, then forwards to the real service

export class PortForward {
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  constructor(
    readonly host: string,
    readonly port: number,
  ) {}

  /** Listen on `host:port` and forward every connection to `target`. */
  async open(target: { host: string; port: number }): Promise<void> {
    const server = createServer((inbound) => {
      const outbound = connect(target.port, target.host);
      this.sockets.add(inbound).add(outbound);
      const drop = () => {
        inbound.destroy();
        outbound.destroy();
        this.sockets.delete(inbound);
        this.sockets.delete(outbound);
      };
      inbound.on('error', drop).on('close', drop);
      outbound.on('error', drop).on('close', drop);
      inbound.pipe(outbound);
      outbound.pipe(inbound);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: this.host, port: this.port, exclusive: true }, () => resolve());
    });
    this.server = server;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    const server = this.server;
    this.server = null;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Watermarks: the end of each partition as a read_committed reader sees it (last stable offset) and as a
// read_uncommitted one does (high watermark). LSO < HWM means a transaction is open on that partition.

export class Watermarks {
  private constructor(
    private readonly committed: RdKafkaTypes.KafkaConsumer,
    private readonly uncommitted: RdKafkaTypes.KafkaConsumer,
  ) {}

  static async open(bootstrapServers: string): Promise<Watermarks> {
    const make = async (isolation: string) => {
      const c = new RdKafka.KafkaConsumer(
        {
          'bootstrap.servers': bootstrapServers,
          'group.id': `eos-watermarks-${process.pid}-${Math.random()}`,
          'enable.auto.commit': false,
          'allow.auto.create.topics': false,
          // a topic first asked for before it existed is otherwise "unknown" to this client for minutes
          'topic.metadata.refresh.interval.ms': 500,
          'isolation.level': isolation,
        } as RdKafkaTypes.ConsumerGlobalConfig,
        {},
      );
      await new Promise<void>((resolve, reject) => c.connect({ timeout: 10_000 }, (err) => (err ? reject(err) : resolve())));
      return c;
    };
    return new Watermarks(await make('read_committed'), await make('read_uncommitted'));
  }

  private static query(c: RdKafkaTypes.KafkaConsumer, topic: string, partition: number): Promise<RdKafkaTypes.WatermarkOffsets> {
    return new Promise((resolve, reject) =>
      c.queryWatermarkOffsets(topic, partition, 5_000, (err, o) =>
        err ? reject(new Error(`watermarks of ${topic}/${partition}: ${err.message} (${err.code})`)) : resolve(o),
      ),
    );
  }

  /** {low, stable (LSO), high (HWM)} of one partition */
  async of(topic: string, partition: number): Promise<{ low: number; stable: number; high: number }> {
    const [c, u] = await Promise.all([Watermarks.query(this.committed, topic, partition), Watermarks.query(this.uncommitted, topic, partition)]);
    return { low: u.lowOffset, stable: c.highOffset, high: u.highOffset };
  }

  async close(): Promise<void> {
    await Promise.all(
      [this.committed, this.uncommitted].map((c) => new Promise<void>((resolve) => c.disconnect(() => resolve()))),
    );
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Reading a whole topic

/** Reads a whole topic to its end as of the call (see test/support/kafka-read.ts). */
export { readTopic as readAll } from '../support/kafka-read.js';

// ---------------------------------------------------------------------------------------------------------------
// Decoding records without Sluice's converters

export interface DecodedRecord {
  readonly partition: number;
  readonly offset: number;
  readonly key: { readonly [k: string]: unknown } | null;
  /** null: tombstone */
  readonly value: Envelope | null;
  readonly headers: Record<string, string>;
}

export interface Envelope {
  readonly op: string;
  readonly before: { readonly [k: string]: unknown } | null;
  readonly after: { readonly [k: string]: unknown } | null;
  readonly source: { readonly [k: string]: unknown };
}

export type Decoder = (records: readonly ReadRecord[]) => Promise<DecodedRecord[]>;

function unwrapJson(bytes: Buffer): Exact {
  const doc = parseExactJson(bytes.toString('utf8'));
  // schemas.enable=true wraps the payload: {"schema":…,"payload":…}
  if (doc !== null && typeof doc === 'object' && !Array.isArray(doc) && 'payload' in doc && 'schema' in doc) return doc['payload'] ?? null;
  return doc;
}

/** Kafka Connect's JsonConverter output (schemas on or off), integers kept exact (bigint). */
export const jsonDecoder: Decoder = async (records) =>
  records.map((r) => ({
    partition: r.partition,
    offset: r.offset,
    key: r.key === null ? null : (unwrapJson(r.key) as DecodedRecord['key']),
    value: r.value === null ? null : (unwrapJson(r.value) as unknown as Envelope),
    headers: r.headers,
  }));


/** Confluent's Avro wire format (magic 0, schema id, Avro binary); schemas fetched from the registry by id. */
export function avroDecoder(registryUrl: string): Decoder {
  const types = new Map<number, avro.Type>();
  const typeOf = async (id: number): Promise<avro.Type> => {
    const known = types.get(id);
    if (known) return known;
    const response = await fetch(`${registryUrl}/schemas/ids/${id}`);
    assert.equal(response.status, 200, `schema ${id} from the registry`);
    const { schema } = (await response.json()) as { schema: string };
    const type = avro.Type.forSchema(JSON.parse(schema) as avro.Schema, {
      typeHook: (s: unknown) =>
        s === 'long' || (typeof s === 'object' && s !== null && (s as { type?: unknown }).type === 'long' && !('logicalType' in s))
          ? readerLong
          : undefined,
    });
    types.set(id, type);
    return type;
  };
  const decode = async (bytes: Buffer): Promise<unknown> => {
    assert.equal(bytes.readUInt8(0), 0, 'Confluent wire format: magic byte 0');
    const type = await typeOf(bytes.readUInt32BE(1));
    return type.fromBuffer(bytes.subarray(5));
  };
  return async (records) => {
    const out: DecodedRecord[] = [];
    for (const r of records) {
      out.push({
        partition: r.partition,
        offset: r.offset,
        key: r.key === null ? null : ((await decode(r.key)) as DecodedRecord['key']),
        value: r.value === null ? null : ((await decode(r.value)) as Envelope),
        headers: r.headers,
      });
    }
    return out;
  };
}

// ---------------------------------------------------------------------------------------------------------------
// The workload generator

/** One database connection the generator drives; `sql` uses `?` placeholders (Postgres: rewritten to $n). */
export interface WorkloadDb {
  exec(sql: string, params?: readonly unknown[]): Promise<void>;
  query(sql: string, params?: readonly unknown[]): Promise<Record<string, unknown>[]>;
}

export type ChangeOp = 'c' | 'u' | 'd';

/** One row change as committed: `ver`/`val` of the row after it (for a delete: before it). */
export interface Change {
  readonly op: ChangeOp;
  readonly id: bigint;
  readonly ver: number;
  readonly val: string;
  /** a primary-key change: the delete names the new key, the create the old one */
  readonly newId?: bigint;
  readonly oldId?: bigint;
}

export interface WorkloadOptions {
  readonly table: string;
  /** rows present before the connector starts (ids 1..initialRows, ver 1): the snapshot */
  readonly initialRows: number;
  readonly random?: () => number;
}

export interface WorkloadStats {
  transactions: number;
  changes: number;
  inserts: number;
  updates: number;
  deletes: number;
  pkChanges: number;
  multiRowTx: number;
  multiRowStatements: number;
  /** transactions larger than a commit cycle (`bulk`) */
  bulkTransactions: number;
}

/**
 * Drives a table `(id BIGINT PRIMARY KEY, ver INT NOT NULL, val VARCHAR(40))` where every update increments
 * `ver`, so each change is identifiable as (key, op, ver). Ids are never reused. Everything committed is logged,
 * in commit order (one connection, sequential transactions: the generator's order is the commit order).
 */
export class Workload {
  readonly committed: Change[][] = [];
  readonly stats: WorkloadStats = { transactions: 0, changes: 0, inserts: 0, updates: 0, deletes: 0, pkChanges: 0, multiRowTx: 0, multiRowStatements: 0, bulkTransactions: 0 };
  /** the generator's model of the table: id → {ver, val} */
  readonly live = new Map<bigint, { ver: number; val: string }>();
  private nextId: bigint;
  private readonly random: () => number;
  /** ids in `live`, for picking one at random in O(1) */
  private readonly ids: bigint[] = [];
  private readonly index = new Map<bigint, number>();
  /** when false, no deletes and no primary-key changes (while the snapshot may still be running) */
  destructive = false;

  constructor(
    private readonly db: WorkloadDb,
    private readonly o: WorkloadOptions,
  ) {
    this.random = o.random ?? Math.random;
    this.nextId = BigInt(o.initialRows) + 1n;
    for (let i = 1n; i <= BigInt(o.initialRows); i++) this.add(i, 1, Workload.initialVal(i));
  }

  static initialVal(id: bigint): string {
    return `init-${id}`;
  }

  /** Inserts the initial rows (before the connector starts). */
  async seed(): Promise<void> {
    const ids = [...this.live.keys()];
    for (let i = 0; i < ids.length; i += 500) {
      const chunk = ids.slice(i, i + 500);
      await this.db.exec(
        `INSERT INTO ${this.o.table} (id, ver, val) VALUES ${chunk.map(() => '(?, ?, ?)').join(', ')}`,
        chunk.flatMap((id) => [id.toString(), 1, Workload.initialVal(id)]),
      );
    }
  }

  private add(id: bigint, ver: number, val: string): void {
    this.live.set(id, { ver, val });
    this.index.set(id, this.ids.length);
    this.ids.push(id);
  }

  private remove(id: bigint): void {
    this.live.delete(id);
    const i = this.index.get(id)!;
    const last = this.ids.pop()!;
    if (last !== id) {
      this.ids[i] = last;
      this.index.set(last, i);
    }
    this.index.delete(id);
  }

  private pick(): bigint | null {
    if (this.ids.length === 0) return null;
    return this.ids[Math.floor(this.random() * this.ids.length)]!;
  }

  private text(): string {
    return Math.floor(this.random() * 36 ** 8).toString(36);
  }

  /** One transaction of 1–10 row changes; resolves after COMMIT, having logged what it committed. */
  async transaction(): Promise<void> {
    const rows = 1 + Math.floor(this.random() * 10);
    // the model is only updated once COMMIT succeeded; until then changes go to a scratch copy
    const scratch = new Map<bigint, { ver: number; val: string } | null>();
    const get = (id: bigint) => (scratch.has(id) ? scratch.get(id)! : (this.live.get(id) ?? null));
    const pickLive = (): bigint | null => {
      for (let i = 0; i < 5; i++) {
        const id = this.pick();
        if (id !== null && get(id) !== null) return id;
      }
      return null;
    };
    const changes: Change[] = [];
    const counts = { inserts: 0, updates: 0, deletes: 0, pkChanges: 0, multi: 0 };
    const t = this.db;
    await t.exec('BEGIN');
    try {
      while (changes.length < rows) {
        const r = this.random();
        const multi = this.random() < 0.05;
        const target = pickLive();
        if (r < 0.4 || target === null) {
          const id = this.nextId++;
          const val = this.text();
          await t.exec(`INSERT INTO ${this.o.table} (id, ver, val) VALUES (?, 1, ?)`, [id.toString(), val]);
          scratch.set(id, { ver: 1, val });
          changes.push({ op: 'c', id, ver: 1, val });
          counts.inserts++;
        } else if (r < 0.75 || !this.destructive) {
          if (multi && rows - changes.length >= 3) {
            // one statement changing several rows: per-key order is still defined, the order across keys is the database's
            const several = new Set<bigint>([target]);
            for (let i = 0; i < 4 && several.size < 3; i++) {
              const other = pickLive();
              if (other !== null) several.add(other);
            }
            const val = this.text();
            const list = [...several];
            await t.exec(`UPDATE ${this.o.table} SET ver = ver + 1, val = ? WHERE id IN (${list.map(() => '?').join(', ')})`, [
              val,
              ...list.map(String),
            ]);
            for (const id of list) {
              const ver = get(id)!.ver + 1;
              scratch.set(id, { ver, val });
              changes.push({ op: 'u', id, ver, val });
            }
            counts.updates += list.length;
            counts.multi++;
          } else {
            const val = this.text();
            await t.exec(`UPDATE ${this.o.table} SET ver = ver + 1, val = ? WHERE id = ?`, [val, target.toString()]);
            const ver = get(target)!.ver + 1;
            scratch.set(target, { ver, val });
            changes.push({ op: 'u', id: target, ver, val });
            counts.updates++;
          }
        } else if (r < 0.88) {
          const before = get(target)!;
          await t.exec(`DELETE FROM ${this.o.table} WHERE id = ?`, [target.toString()]);
          scratch.set(target, null);
          changes.push({ op: 'd', id: target, ver: before.ver, val: before.val });
          counts.deletes++;
        } else {
          const before = get(target)!;
          const newId = this.nextId++;
          await t.exec(`UPDATE ${this.o.table} SET id = ?, ver = ver + 1 WHERE id = ?`, [newId.toString(), target.toString()]);
          scratch.set(target, null);
          scratch.set(newId, { ver: before.ver + 1, val: before.val });
          changes.push({ op: 'd', id: target, ver: before.ver, val: before.val, newId });
          changes.push({ op: 'c', id: newId, ver: before.ver + 1, val: before.val, oldId: target });
          counts.pkChanges++;
        }
      }
      await t.exec('COMMIT');
    } catch (err) {
      await t.exec('ROLLBACK').catch(() => undefined);
      throw err;
    }
    for (const [id, state] of scratch) {
      const had = this.live.has(id);
      if (state === null) {
        if (had) this.remove(id);
      } else if (had) this.live.set(id, state);
      else this.add(id, state.ver, state.val);
    }
    this.committed.push(changes);
    const s = this.stats;
    s.transactions++;
    s.changes += changes.length;
    s.inserts += counts.inserts;
    s.updates += counts.updates;
    s.deletes += counts.deletes;
    s.pkChanges += counts.pkChanges;
    s.multiRowStatements += counts.multi;
    if (changes.length > 1) s.multiRowTx++;
  }

  /**
   * One large transaction: `rows` new rows inserted (multi-row INSERTs), then all of them updated by one UPDATE —
   * 2 × `rows` changes, more than one commit cycle holds when 2 × rows > max.batch.size.
   */
  async bulk(rows: number): Promise<void> {
    const first = this.nextId;
    const ids = Array.from({ length: rows }, (_, i) => first + BigInt(i));
    this.nextId += BigInt(rows);
    const vals = ids.map(() => this.text());
    const updated = this.text();
    const t = this.db;
    await t.exec('BEGIN');
    try {
      for (let i = 0; i < rows; i += 400) {
        const chunk = ids.slice(i, i + 400);
        await t.exec(
          `INSERT INTO ${this.o.table} (id, ver, val) VALUES ${chunk.map(() => '(?, 1, ?)').join(', ')}`,
          chunk.flatMap((id, j) => [id.toString(), vals[i + j]!]),
        );
      }
      await t.exec(`UPDATE ${this.o.table} SET ver = ver + 1, val = ? WHERE id >= ? AND id <= ?`, [updated, first.toString(), ids.at(-1)!.toString()]);
      await t.exec('COMMIT');
    } catch (err) {
      await t.exec('ROLLBACK').catch(() => undefined);
      throw err;
    }
    const changes: Change[] = ids.map((id, i) => ({ op: 'c', id, ver: 1, val: vals[i]! }));
    for (const id of ids) {
      changes.push({ op: 'u', id, ver: 2, val: updated });
      this.add(id, 2, updated);
    }
    this.committed.push(changes);
    const s = this.stats;
    s.transactions++;
    s.changes += changes.length;
    s.inserts += rows;
    s.updates += rows;
    s.multiRowTx++;
    s.multiRowStatements++;
    s.bulkTransactions++;
  }

  /** The rows the database holds now, as id → {ver, val}. */
  async select(): Promise<Map<bigint, { ver: number; val: string }>> {
    const rows = await this.db.query(`SELECT id, ver, val FROM ${this.o.table} ORDER BY id`);
    return new Map(rows.map((r) => [BigInt(r['id'] as string | number), { ver: Number(r['ver']), val: String(r['val']) }]));
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The check

/** A record as the checker compares it: `r:ver:val`, `c:ver:val`, `u:ver:val`, `d:ver`, `T` (tombstone). */
function tagOf(r: DecodedRecord): string {
  if (r.value === null) return 'T';
  const v = r.value;
  if (v.op === 'd') {
    const newKey = r.headers['__debezium.newkey'];
    return `d:${Number(v.before?.['ver'])}${newKey === undefined ? '' : `>${idFromJsonKey(newKey)}`}`;
  }
  const oldKey = r.headers['__debezium.oldkey'];
  return `${v.op}:${Number(v.after?.['ver'])}:${String(v.after?.['val'])}${oldKey === undefined ? '' : `<${idFromJsonKey(oldKey)}`}`;
}

function idFromJsonKey(text: string): string {
  const key = parseExactJson(text);
  const payload = key !== null && typeof key === 'object' && !Array.isArray(key) && 'payload' in key ? key['payload'] : key;
  const id = (payload as { id?: Exact } | null)?.id;
  return String(id);
}

function expectedTags(c: Change): string[] {
  if (c.op === 'd') return [`d:${c.ver}${c.newId === undefined ? '' : `>${c.newId}`}`, 'T'];
  return [`${c.op}:${c.ver}:${c.val}${c.oldId === undefined ? '' : `<${c.oldId}`}`];
}

export interface CheckResult {
  /** row changes the generator committed (a primary-key change is one, though it becomes a delete and a create) */
  readonly changes: number;
  /** records the reader got for the table */
  readonly records: number;
  readonly snapshotRecords: number;
  /** records expected after each key's snapshot point (changes → records, deletes add tombstones) */
  readonly expectedRecords: number;
  readonly keys: number;
}

/**
 * Every change exactly once, in commit order per key, and the final values equal the database's.
 *
 * Per key, the records must be: the snapshot read of the row (`r`, for a row that existed when its part of the
 * snapshot was read — at a transaction boundary of the log), then exactly the logged changes after that point;
 * or, for a key created after the snapshot, exactly all its logged changes. A delete is `d` + tombstone; a
 * primary-key change is `d` (header `__debezium.newkey`) + tombstone of the old key and `c` (header
 * `__debezium.oldkey`) of the new one. Records of a key are in one partition, so per-key order is offset order.
 */
export function checkExactlyOnce(opts: {
  readonly records: readonly DecodedRecord[];
  readonly workload: Workload;
  readonly initialRows: number;
  readonly final: Map<bigint, { ver: number; val: string }>;
}): CheckResult {
  const { records, workload, initialRows, final } = opts;
  const byKey = new Map<string, { tags: string[]; partitions: Set<number>; last: DecodedRecord }>();
  const sorted = [...records].sort((a, b) => a.partition - b.partition || a.offset - b.offset);
  let snapshotRecords = 0;
  for (const r of sorted) {
    assert.ok(r.key !== null, `a record without a key at ${r.partition}/${r.offset}`);
    const id = String(r.key['id']);
    let k = byKey.get(id);
    if (!k) byKey.set(id, (k = { tags: [], partitions: new Set(), last: r }));
    k.tags.push(tagOf(r));
    k.partitions.add(r.partition);
    k.last = r;
    if (r.value?.op === 'r') snapshotRecords++;
  }

  // the log, per key: tags and the transaction each belongs to
  const expected = new Map<string, { tag: string; tx: number }[]>();
  const entry = (id: string) => {
    let e = expected.get(id);
    if (!e) expected.set(id, (e = []));
    return e;
  };
  for (let i = 1; i <= initialRows; i++) entry(String(i));
  workload.committed.forEach((tx, txIndex) => {
    for (const c of tx) for (const tag of expectedTags(c)) entry(String(c.id)).push({ tag, tx: txIndex });
  });

  const problems: string[] = [];
  let missing = 0;
  let extra = 0;
  let expectedRecords = 0;
  for (const [id, want] of expected) {
    const got = byKey.get(id)?.tags ?? [];
    const initial = BigInt(id) <= BigInt(initialRows);
    let tail = want.map((w) => w.tag);
    if (got[0]?.startsWith('r:')) {
      // the snapshot point: where the row had this version, at a transaction boundary
      const positions: number[] = [];
      let state: string | null = initial ? `r:1:${Workload.initialVal(BigInt(id))}` : null;
      for (let j = 0; j <= want.length; j++) {
        const boundary = j === 0 || j === want.length || want[j]!.tx !== want[j - 1]!.tx;
        if (boundary && state === got[0]) positions.push(j);
        if (j === want.length) break;
        const m = /^(c|u):(\d+):([^<]*)/.exec(want[j]!.tag);
        if (m) state = `r:${m[2]}:${m[3]}`;
        else if (want[j]!.tag.startsWith('d:')) state = null;
      }
      if (positions.length === 0) {
        problems.push(`key ${id}: snapshot record ${got[0]} matches no committed state of the row (log: ${want.map((w) => w.tag).join(' ')})`);
        continue;
      }
      // the first boundary with that state (several only if nothing changed the row in between)
      tail = ['SNAPSHOT', ...want.slice(positions[0]).map((w) => w.tag)];
    } else if (initial) {
      problems.push(`key ${id}: existed before the connector started but has no snapshot record first (got: ${got.slice(0, 5).join(' ')})`);
      missing++;
      continue;
    }
    const actual = got[0]?.startsWith('r:') ? ['SNAPSHOT', ...got.slice(1)] : got;
    expectedRecords += tail.length;
    if (actual.length !== tail.length || actual.some((t, i) => t !== tail[i])) {
      const wantCount = new Map<string, number>();
      for (const t of tail) wantCount.set(t, (wantCount.get(t) ?? 0) + 1);
      for (const t of actual) wantCount.set(t, (wantCount.get(t) ?? 0) - 1);
      let m = 0;
      let x = 0;
      for (const n of wantCount.values()) {
        if (n > 0) m += n;
        else x -= n;
      }
      missing += m;
      extra += x;
      problems.push(
        `key ${id}: expected [${tail.join(' ')}] got [${actual.join(' ')}]` + (m === 0 && x === 0 ? ' (same records, wrong order)' : ` (${m} missing, ${x} extra)`),
      );
    }
  }
  for (const [id, k] of byKey) {
    if (!expected.has(id)) {
      extra += k.tags.length;
      problems.push(`key ${id}: ${k.tags.length} record(s) for a key the generator never wrote: ${k.tags.slice(0, 5).join(' ')}`);
    }
    if (k.partitions.size !== 1) problems.push(`key ${id}: records in several partitions (${[...k.partitions].join(', ')})`);
  }

  // the final values equal the database's: the last record of each key is the row as it is now, or a tombstone
  for (const [id, row] of final) {
    const last = byKey.get(String(id))?.last;
    const after = last?.value?.after;
    if (!last || last.value === null || Number(after?.['ver']) !== row.ver || String(after?.['val']) !== row.val) {
      problems.push(`key ${id}: the database holds ver ${row.ver} "${row.val}", the topic's last record is ${last ? tagOf(last) : 'missing'}`);
    }
  }
  for (const [id, k] of byKey) {
    if (!final.has(BigInt(id)) && k.last.value !== null) problems.push(`key ${id}: deleted in the database, but the topic's last record is ${tagOf(k.last)}, not a tombstone`);
  }
  // and the generator's model agrees with the database (a check of the check)
  assert.equal(final.size, workload.live.size, 'rows in the database vs the generator’s model');
  for (const [id, row] of workload.live) assert.deepEqual(final.get(id), row, `row ${id}: database vs generator model`);

  if (problems.length > 0) {
    assert.fail(
      `exactly-once violated: ${missing} record(s) missing, ${extra} extra (duplicates or unknown), ${problems.length} key(s) wrong:\n  ` +
        problems.slice(0, 30).join('\n  ') +
        (problems.length > 30 ? `\n  … and ${problems.length - 30} more` : ''),
    );
  }
  return {
    changes: workload.stats.changes - workload.stats.pkChanges,
    records: records.length,
    snapshotRecords,
    expectedRecords,
    keys: expected.size,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Database adapters for the generator

/** Postgres (`pg` client): `?` placeholders become `$1, $2…`. */
export function postgresWorkloadDb(client: {
  query(sql: string, params?: unknown[]): Promise<{ rows: Record<string, unknown>[] }>;
}): WorkloadDb {
  const numbered = (sql: string) => {
    let n = 0;
    return sql.replace(/\?/g, () => `$${++n}`);
  };
  return {
    async exec(sql, params) {
      await client.query(numbered(sql), params ? [...params] : undefined);
    },
    async query(sql, params) {
      return (await client.query(numbered(sql), params ? [...params] : undefined)).rows;
    },
  };
}

/** MySQL / MariaDB (`mysql2/promise` connection). */
export function mysqlWorkloadDb(conn: { query(sql: string, params?: unknown[]): Promise<[unknown, unknown]> }): WorkloadDb {
  return {
    async exec(sql, params) {
      await conn.query(sql, params ? [...params] : undefined);
    },
    async query(sql, params) {
      const [rows] = await conn.query(sql, params ? [...params] : undefined);
      return rows as Record<string, unknown>[];
    },
  };
}
