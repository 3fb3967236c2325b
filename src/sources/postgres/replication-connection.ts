/**
 * A logical replication connection over a `pg` Client opened with `replication: 'database'`.
 *
 * Replication commands (IDENTIFY_SYSTEM, CREATE_REPLICATION_SLOT, ...) run as simple queries. START_REPLICATION
 * switches the connection to CopyBoth: the server sends CopyData frames (XLogData 'w', keepalive 'k'), which `pg`
 * routes to the active query's `handleCopyData`; we submit our own query object to receive them, and write standby
 * status updates ('r') with `connection.sendCopyFromChunk`. Memory is bounded: past a high-water mark of queued
 * bytes the socket is paused until the consumer catches up.
 *
 * The flushed LSN we report is only ever `acknowledged` (set by the source from `Source.acknowledge`), never what
 * was received. Keepalives that ask for a reply are answered at once, even while the consumer lags.
 */
import pg from 'pg';
import { ConnectionLostError, DecodeError, OffsetError, PrerequisiteError, SluiceError } from '../../errors.js';
import { formatLsn, parseLsn, type Lsn } from './lsn.js';
import { decodeReplicationFrame, encodeStandbyStatus, type ReplicationFrame } from './pgoutput-decoder.js';
import { sessionOptions } from './pg-text.js';

export interface PgConnectionOptions {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  readonly database: string;
  readonly ssl?: pg.ClientConfig['ssl'];
  readonly applicationName?: string;
  readonly connectTimeoutMs?: number;
}

/** A `pg` ClientConfig for a normal (or replication) session with Sluice's session settings. */
export function clientConfig(options: PgConnectionOptions, replication = false): pg.ClientConfig {
  return {
    host: options.host,
    port: options.port,
    user: options.user,
    password: options.password,
    database: options.database,
    ...(options.ssl === undefined ? {} : { ssl: options.ssl }),
    application_name: options.applicationName ?? 'sluice',
    connectionTimeoutMillis: options.connectTimeoutMs ?? 30_000,
    options: sessionOptions(),
    ...(replication ? { replication: 'database' } : {}),
  } as pg.ClientConfig;
}

export interface CreatedSlot {
  readonly slotName: string;
  readonly consistentPoint: Lsn;
  readonly snapshotName: string | null;
  readonly outputPlugin: string;
}

/** `pg` internals we rely on: the protocol Connection behind a Client. */
interface PgConnection {
  stream: NodeJS.ReadableStream & { pause(): void; resume(): void; destroyed?: boolean };
  query(text: string): void;
  sendCopyFromChunk(chunk: Buffer): void;
  endCopyFrom(): void;
}

const HIGH_WATER_BYTES = 16 * 1024 * 1024;
const LOW_WATER_BYTES = 4 * 1024 * 1024;

export class ReplicationConnection {
  private readonly client: pg.Client;
  private closed = false;
  private stream: ReplicationStream | null = null;
  private lastError: Error | null = null;

  constructor(readonly options: PgConnectionOptions) {
    this.client = new pg.Client(clientConfig(options, true));
    this.client.on('error', (err: Error) => {
      this.lastError = err;
      this.stream?.fail(err);
    });
    this.client.on('end', () => {
      if (!this.closed) this.stream?.fail(new ConnectionLostError('the replication connection was closed by the server'));
    });
  }

  async connect(): Promise<void> {
    try {
      await this.client.connect();
    } catch (err) {
      throw translateConnectError(err, this.options);
    }
  }

  async command(sql: string): Promise<pg.QueryResult> {
    if (this.lastError) throw this.lastError;
    return this.client.query(sql);
  }

  async identifySystem(): Promise<{ systemId: string; timeline: number; xlogpos: Lsn; dbname: string | null }> {
    const res = await this.command('IDENTIFY_SYSTEM');
    const row = res.rows[0] as { systemid: string; timeline: string; xlogpos: string; dbname: string | null };
    return { systemId: row.systemid, timeline: Number(row.timeline), xlogpos: parseLsn(row.xlogpos), dbname: row.dbname };
  }

  /**
   * CREATE_REPLICATION_SLOT for pgoutput. With `exportSnapshot` the snapshot stays valid until the next command on
   * this connection, so the caller must keep this connection idle while it reads in that snapshot.
   */
  async createSlot(slot: string, serverVersion: number, exportSnapshot: boolean): Promise<CreatedSlot> {
    const mode = exportSnapshot ? 'export' : 'nothing';
    const sql =
      serverVersion >= 15
        ? `CREATE_REPLICATION_SLOT ${quoteIdent(slot)} LOGICAL pgoutput (SNAPSHOT '${mode}')`
        : `CREATE_REPLICATION_SLOT ${quoteIdent(slot)} LOGICAL pgoutput ${exportSnapshot ? 'EXPORT_SNAPSHOT' : 'NOEXPORT_SNAPSHOT'}`;
    const res = await this.command(sql);
    const row = res.rows[0] as { slot_name: string; consistent_point: string; snapshot_name: string | null; output_plugin: string };
    return {
      slotName: row.slot_name,
      consistentPoint: parseLsn(row.consistent_point),
      snapshotName: row.snapshot_name,
      outputPlugin: row.output_plugin,
    };
  }

  /** START_REPLICATION SLOT … LOGICAL lsn (options): from now on the connection streams. */
  startReplication(slot: string, startLsn: Lsn, pluginOptions: Readonly<Record<string, string>>, statusIntervalMs: number): ReplicationStream {
    const opts = Object.entries(pluginOptions)
      .map(([k, v]) => `${quoteIdent(k)} '${v.replace(/'/g, "''")}'`)
      .join(', ');
    const sql = `START_REPLICATION SLOT ${quoteIdent(slot)} LOGICAL ${formatLsn(startLsn)} (${opts})`;
    const stream = new ReplicationStream(this.client, sql, statusIntervalMs);
    this.stream = stream;
    return stream;
  }

  async end(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stream?.close();
    await this.client.end().catch(() => undefined);
  }
}

export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** Turns connection errors into messages that say what to change. */
export function translateConnectError(err: unknown, options: PgConnectionOptions): Error {
  const e = err as { code?: string; message?: string };
  const message = e.message ?? String(err);
  if (e.code === '28000' && /replication/i.test(message)) {
    return new PrerequisiteError(
      `user "${options.user}" may not open a replication connection: ${message}. ` +
        `Grant it with: ALTER ROLE ${quoteIdent(options.user)} REPLICATION; and allow replication connections in pg_hba.conf`,
      { cause: err },
    );
  }
  if (e.code === '42501') {
    return new PrerequisiteError(
      `user "${options.user}" lacks the REPLICATION privilege: ${message}. Grant it with: ALTER ROLE ${quoteIdent(options.user)} REPLICATION;`,
      { cause: err },
    );
  }
  if (e.code === '28P01' || e.code === '28000' || e.code === '3D000') {
    return new PrerequisiteError(`cannot connect to ${options.host}:${options.port}/${options.database}: ${message}`, { cause: err });
  }
  return new ConnectionLostError(`cannot connect to ${options.host}:${options.port}/${options.database}: ${message}`, { cause: err });
}

/**
 * The CopyBoth phase of a replication connection. Iterate it for frames; call `setAcknowledged` as the engine
 * acknowledges; `requestKeepalive` asks the server for a keepalive carrying its current WAL position.
 */
const EMPTY = Buffer.alloc(0);

export class ReplicationStream implements AsyncIterable<ReplicationFrame> {
  // A FIFO with a moving head: Array.prototype.shift() is linear on long arrays, and the queue can hold ~100k frames
  // (up to the high-water mark) when the engine is slower than the server.
  private queue: Buffer[] = [];
  private head = 0;
  private queuedBytes = 0;
  private paused = false;
  private waiter: { resolve: () => void } | null = null;
  private error: Error | null = null;
  private ended = false;
  private started = false;
  private startWaiters: Array<{ resolve: () => void; reject: (e: Error) => void }> = [];
  private acknowledged: Lsn = 0n;
  private lastStatusAt = 0;
  private readonly timer: NodeJS.Timeout;
  private connection: PgConnection | null = null;

  constructor(
    private readonly client: pg.Client,
    sql: string,
    private readonly statusIntervalMs: number,
  ) {
    const submittable = {
      submit: (connection: PgConnection) => {
        this.connection = connection;
        connection.query(sql);
      },
      handleCopyData: (msg: { chunk: Buffer }) => this.onCopyData(msg.chunk),
      handleCopyInResponse: () => undefined,
      handleRowDescription: () => undefined,
      handleDataRow: () => undefined,
      handleCommandComplete: () => undefined,
      handleEmptyQuery: () => undefined,
      handlePortalSuspended: () => undefined,
      handleReadyForQuery: () => {
        this.ended = true;
        this.wake();
      },
      handleError: (err: Error) => this.fail(translateReplicationError(err)),
    };
    // pg routes CopyBothResponse ('W') as replicationStart without calling us; we learn we are streaming from the
    // first frame or, for an idle slot, from the absence of an error shortly after.
    (client.query as (q: unknown) => unknown)(submittable);
    const con = (client as unknown as { connection: PgConnection & { once(ev: string, cb: () => void): void } }).connection;
    con.once('replicationStart', () => this.markStarted());
    this.timer = setInterval(() => this.periodicStatus(), Math.max(100, Math.min(statusIntervalMs, 10_000)));
    this.timer.unref();
  }

  /** Resolves once the server accepted START_REPLICATION (or rejects with its error). */
  whenStarted(): Promise<void> {
    if (this.error) return Promise.reject(this.error);
    if (this.started) return Promise.resolve();
    return new Promise((resolve, reject) => this.startWaiters.push({ resolve, reject }));
  }

  private markStarted(): void {
    if (this.started) return;
    this.started = true;
    for (const w of this.startWaiters.splice(0)) w.resolve();
    this.sendStatus(false);
  }

  get acknowledgedLsn(): Lsn {
    return this.acknowledged;
  }

  /** Raise the flushed position reported to the server (never lowers it) and report it now. */
  setAcknowledged(lsn: Lsn): void {
    if (lsn > this.acknowledged) {
      this.acknowledged = lsn;
      this.sendStatus(false);
    }
  }

  /** Ask the server to answer with a keepalive (carrying its current sent position). */
  requestKeepalive(): void {
    this.sendStatus(true);
  }

  private sendStatus(replyRequested: boolean): void {
    if (!this.started || this.ended || this.error || !this.connection) return;
    const nowMicros = BigInt(Date.now()) * 1000n;
    const a = this.acknowledged;
    try {
      this.connection.sendCopyFromChunk(encodeStandbyStatus(a, a, a, nowMicros, replyRequested));
      this.lastStatusAt = Date.now();
    } catch (err) {
      this.fail(new ConnectionLostError('could not send a standby status update', { cause: err }));
    }
  }

  private periodicStatus(): void {
    if (Date.now() - this.lastStatusAt >= this.statusIntervalMs) this.sendStatus(false);
  }

  private onCopyData(chunk: Buffer): void {
    this.markStarted();
    // Keepalives that want a reply are answered here, at once; the consumer still sees them.
    if (chunk[0] === 0x6b && chunk.length >= 18 && chunk[17] === 1) this.sendStatus(false);
    const copy = Buffer.from(chunk); // pg reuses its read buffer
    this.queue.push(copy);
    this.queuedBytes += copy.length;
    if (!this.paused && this.queuedBytes > HIGH_WATER_BYTES && this.connection) {
      this.paused = true;
      this.connection.stream.pause();
    }
    this.wake();
  }

  fail(err: Error): void {
    if (this.error || this.ended) return;
    this.error = err;
    for (const w of this.startWaiters.splice(0)) w.reject(err);
    this.wake();
  }

  close(): void {
    clearInterval(this.timer);
    this.ended = true;
    if (this.paused && this.connection) {
      this.paused = false;
      this.connection.stream.resume();
    }
    this.wake();
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = null;
    w?.resolve();
  }

  /** The next frame, or null when the stream ended. Throws the connection's error. */
  /** Frames waiting to be read (diagnostics: the benchmarks report its peak). */
  get queuedFrameCount(): number {
    return this.queue.length - this.head;
  }

  async next(): Promise<ReplicationFrame | null> {
    for (;;) {
      const chunk = this.head < this.queue.length ? this.queue[this.head] : undefined;
      if (chunk !== undefined) {
        this.queue[this.head++] = EMPTY;
        if (this.head === this.queue.length) {
          this.queue = [];
          this.head = 0;
        } else if (this.head >= 4096 && this.head * 2 >= this.queue.length) {
          this.queue = this.queue.slice(this.head);
          this.head = 0;
        }
        this.queuedBytes -= chunk.length;
        if (this.paused && this.queuedBytes < LOW_WATER_BYTES && this.connection) {
          this.paused = false;
          this.connection.stream.resume();
        }
        try {
          return decodeReplicationFrame(chunk);
        } catch (err) {
          throw err instanceof DecodeError ? err : new DecodeError('bad replication frame', { cause: err });
        }
      }
      if (this.error) throw this.error;
      if (this.ended) return null;
      await new Promise<void>((resolve) => (this.waiter = { resolve }));
    }
  }

  async *[Symbol.asyncIterator](): AsyncIterator<ReplicationFrame> {
    for (;;) {
      const f = await this.next();
      if (f === null) return;
      yield f;
    }
  }
}

function translateReplicationError(err: Error): Error {
  const e = err as Error & { code?: string };
  if (e.code === '55006') {
    // Another process streams from the slot: an older instance being fenced, or a crashed one whose walsender has
    // not noticed yet (wal_sender_timeout). Retried with backoff; the message names what to do if it persists.
    return new SluiceError(
      `${e.message} (the replication slot is in use by another process; if it does not clear, stop that client with ` +
        `pg_terminate_backend(active_pid) from pg_replication_slots, or set slot.name to another slot)`,
      { cause: err, retriable: true },
    );
  }
  if (e.code === '42704') return new OffsetError(`${e.message}: the replication slot does not exist`, { cause: err });
  if (/can no longer get changes|has been invalidated|wal_removed/i.test(e.message)) {
    return new OffsetError(
      `${e.message}: the slot lost WAL it needed (max_slot_wal_keep_size?) and cannot be streamed from. ` +
        `Drop it (SELECT pg_drop_replication_slot(...)) and restart with snapshot.mode=when_needed to take a new snapshot`,
      { cause: err },
    );
  }
  if (e.code === '42501') return new PrerequisiteError(e.message, { cause: err });
  return new ConnectionLostError(`replication stream failed: ${e.message}`, { cause: err });
}
