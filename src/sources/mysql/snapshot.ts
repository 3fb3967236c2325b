import type { Connection } from 'mysql2/promise';
import type { Readable } from 'node:stream';
import type { Logger } from 'pino';
import type { ChangeEvent, JsonValue, SourceBatch } from '../../events/change-event.js';
import { nowMicros } from '../../events/envelope.js';
import type { ConnectSchema, StructValue } from '../../events/schema.js';
import { binlogSource, type SnapshotMarker } from '../../events/source-info.js';
import type { ColumnDef } from './columns.js';
import { currentPosition, mariaDbGtidAt, openQueryConnection, queryRows, type ServerAddress, type ServerFacts } from './connection.js';
import type { CaptureFilter } from './filters.js';
import { comparableKey, keyAfterCondition, keyPartJson, quoteIdentifier } from './keys.js';
import { encodeOffset, type BinlogPosition, type SnapshotFilter, type SnapshotSplit, type SnapshotState } from './offset.js';
import { SchemaChanges } from './schema-change.js';
import type { SchemaHistory, TableVersion } from './schema-history.js';
import { loadTableDefs, splitTableId, tableId, type TableDef } from './table-defs.js';

/**
 * The consistent snapshot of a MySQL/MariaDB connector.
 *
 * Locking (`snapshot.locking.mode`):
 *   minimal   FLUSH TABLES WITH READ LOCK only while the binlog position is read, the consistent-snapshot
 *             transaction is opened and the table definitions are read; then UNLOCK TABLES (needs RELOAD).
 *   extended  the same lock, held until every table is read (writes wait for the whole snapshot).
 *   none      no lock. MariaDB: START TRANSACTION WITH CONSISTENT SNAPSHOT publishes binlog_snapshot_file/position,
 *             the binlog position exactly matching the transaction's view, and BINLOG_GTID_POS() turns it into a
 *             GTID position, so the snapshot is exact without a lock. MySQL has no such status: the position is
 *             read just before the transaction opens and changes committed in between are streamed again after
 *             the snapshot already holds them (at-least-once for that window; a concurrent DDL is not protected).
 *   Without RELOAD, minimal/extended fall back to the lock-free MariaDB path, and on MySQL to LOCK TABLES ... READ
 *   on the captured tables, held for the whole snapshot (needs LOCK TABLES).
 *
 * Each table is read with one streaming query in primary-key order (bounded memory: the mysql2 stream pauses the
 * socket while the consumer is behind). Progress is in the offset after every batch: finished tables, and the last
 * key delivered of the table in progress. A restarted snapshot takes a new consistent read, skips finished tables,
 * continues the interrupted table after its last delivered key (keys of numeric or temporal types; other tables
 * start again) and records which read each table (part) came from, so streaming from the first read's position
 * drops exactly the changes a later read already contains.
 */
export interface SnapshotContext {
  readonly connector: 'mysql' | 'mariadb';
  readonly name: string;
  readonly topicPrefix: string;
  readonly sourceSchema: ConnectSchema;
  readonly address: ServerAddress;
  readonly facts: ServerFacts;
  readonly history: SchemaHistory;
  readonly filter: CaptureFilter;
  readonly includeSchemaChanges: boolean;
  readonly lockingMode: 'minimal' | 'extended' | 'none';
  readonly canReload: boolean;
  readonly maxBatchSize: number;
  readonly fetchSize: number;
  readonly logger: Logger;
  /** told the snapshot's connection, so stopping the source can close it */
  readonly onConnection?: (conn: Connection) => void;
  /** tests only: use this locking strategy whatever the mode, flavour and grants say */
  readonly forceStrategy?: SnapshotLockStrategy;
}

export interface SnapshotResult {
  /** where streaming starts and what it must drop */
  position: BinlogPosition;
  filter: SnapshotFilter | null;
}

export type SnapshotLockStrategy = 'global' | 'tables' | 'none';
type Strategy = SnapshotLockStrategy;

function strategyFor(ctx: SnapshotContext): Strategy {
  if (ctx.forceStrategy) return ctx.forceStrategy;
  if (ctx.lockingMode === 'none') return 'none';
  if (ctx.canReload) return 'global';
  if (ctx.facts.flavor === 'mariadb') {
    ctx.logger.warn('no RELOAD privilege: the snapshot uses the lock-free consistent snapshot position instead of FLUSH TABLES WITH READ LOCK');
    return 'none';
  }
  ctx.logger.warn('no RELOAD privilege: the snapshot holds LOCK TABLES ... READ on the captured tables until it ends');
  return 'tables';
}

interface Opened {
  readonly conn: Connection;
  readonly position: BinlogPosition;
  readonly defs: TableDef[];
  /** statements still to run when the data is read (UNLOCK TABLES for extended/table locks) */
  readonly release: string[];
}

async function capturedDefs(conn: Connection, ctx: SnapshotContext): Promise<TableDef[]> {
  const dbs = (await queryRows(conn, 'SELECT SCHEMA_NAME AS db FROM information_schema.SCHEMATA'))
    .map((r) => String(r.db))
    .filter((db) => ctx.filter.includesDatabase(db));
  const defs = await loadTableDefs(conn, { flavor: ctx.facts.flavor, databases: dbs });
  return defs.filter((d) => ctx.filter.includesTable(d.db, d.table));
}

/** Opens the consistent read: lock (per strategy), position, transaction, table definitions. */
async function open(ctx: SnapshotContext): Promise<Opened> {
  const conn = await openQueryConnection(ctx.address);
  ctx.onConnection?.(conn);
  try {
    await conn.query('SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ');
    for (const v of ['net_write_timeout', 'net_read_timeout']) {
      await conn.query(`SET SESSION ${v} = 3600`).catch(() => undefined);
    }
    const strategy = strategyFor(ctx);
    const release: string[] = [];
    let position: BinlogPosition;
    let defs: TableDef[];
    if (strategy === 'global') {
      await conn.query('FLUSH TABLES WITH READ LOCK');
      position = await currentPosition(conn, ctx.facts);
      await conn.query('START TRANSACTION WITH CONSISTENT SNAPSHOT');
      defs = await capturedDefs(conn, ctx);
      if (ctx.lockingMode === 'extended') release.push('UNLOCK TABLES');
      else await conn.query('UNLOCK TABLES');
    } else if (strategy === 'tables') {
      defs = await capturedDefs(conn, ctx);
      if (defs.length > 0) {
        await conn.query(`LOCK TABLES ${defs.map((d) => `${quoteIdentifier(d.db)}.${quoteIdentifier(d.table)} READ`).join(', ')}`);
      }
      position = await currentPosition(conn, ctx.facts);
      release.push('UNLOCK TABLES');
    } else if (ctx.facts.flavor === 'mariadb') {
      await conn.query('START TRANSACTION WITH CONSISTENT SNAPSHOT');
      const status = await queryRows(conn, "SHOW STATUS LIKE 'binlog_snapshot_%'");
      const get = (name: string) => status.find((r) => String(r.Variable_name).toLowerCase() === name)?.Value;
      const file = String(get('binlog_snapshot_file') ?? '');
      const pos = BigInt(String(get('binlog_snapshot_position') ?? '0'));
      if (!file) throw new Error('the server reports no binlog_snapshot_file: is the binary log on (log_bin)?');
      position = { file, pos, gtids: await mariaDbGtidAt(conn, file, pos) };
      defs = await capturedDefs(conn, ctx);
    } else {
      position = await currentPosition(conn, ctx.facts);
      await conn.query('START TRANSACTION WITH CONSISTENT SNAPSHOT');
      defs = await capturedDefs(conn, ctx);
    }
    ctx.logger.info(
      { file: position.file, pos: position.pos.toString(), gtids: position.gtids, tables: defs.length, strategy },
      'snapshot: consistent read opened',
    );
    return { conn, position, defs, release };
  } catch (err) {
    await conn.end().catch(() => undefined);
    throw err;
  }
}

interface PendingRow {
  readonly version: TableVersion;
  readonly after: StructValue;
  readonly firstInTable: boolean;
  readonly table: string;
  readonly key: JsonValue[] | null;
  readonly epoch: number;
  readonly from: JsonValue[] | null;
  lastInTable: boolean;
}

/**
 * Runs (or resumes) a snapshot, yielding batches of `r` events (and schema change events). `withData` false reads
 * only the schema (snapshot.mode no_data). The result names where streaming starts.
 */
export async function* runSnapshot(
  ctx: SnapshotContext,
  resume: SnapshotState | null,
  withData: boolean,
  result: SnapshotResult,
): AsyncGenerator<SourceBatch> {
  const opened = await open(ctx);
  const { conn } = opened;
  try {
    const { history } = ctx;
    for (const def of opened.defs) history.set(def);
    const existing = new Set(opened.defs.map((d) => tableId(d.db, d.table)));

    // State: a fresh snapshot, or the stored one plus a new consistent read.
    const epochs = resume ? [...resume.epochs, opened.position] : [opened.position];
    const epoch = epochs.length - 1;
    const done: Record<string, number> = resume ? { ...resume.done } : {};
    const splits: Record<string, SnapshotSplit[]> = {};
    if (resume) for (const [t, s] of Object.entries(resume.splits)) splits[t] = [...s];
    const tables = resume ? [...resume.tables] : opened.defs.map((d) => tableId(d.db, d.table));
    let rows = resume?.rows ?? 0;
    let cursor: { table: string; epoch: number; from: JsonValue[] | null; key: JsonValue[] | null } | null = null;
    let resumeFrom: { table: string; from: JsonValue[] | null } | null = null;
    if (resume?.current) {
      const c = resume.current;
      const def = history.get(...splitTableId(c.table));
      const keyCols = def ? keyColumnsOf(def) : [];
      if (def && comparableKey(keyCols) && (c.key ?? c.from)) {
        if (c.key) splits[c.table] = [...(splits[c.table] ?? []), { epoch: c.epoch, upto: [...c.key] }];
        resumeFrom = { table: c.table, from: [...((c.key ?? c.from)!)] };
        cursor = { table: c.table, epoch, from: resumeFrom.from, key: null };
      } else if (def && (c.key || c.from)) {
        ctx.logger.warn({ table: c.table }, 'snapshot: the interrupted table has no numeric or temporal primary key; it is read again from its start');
        delete splits[c.table];
      }
    }

    const stateNow = (): SnapshotState => ({
      epochs,
      tables,
      done: { ...done },
      current: cursor ? { ...cursor } : null,
      splits,
      rows,
    });
    const progressOffset = () =>
      encodeOffset(ctx.connector, { position: epochs[0]!, rowSkip: 0, snapshot: stateNow(), filter: null });

    let events: ChangeEvent[] = [];
    const snapshotSource = (db: string, table: string | null, marker: SnapshotMarker) =>
      binlogSource({
        connector: ctx.connector,
        name: ctx.name,
        eventMicros: nowMicros(),
        snapshot: marker,
        db,
        table,
        serverId: 0n,
        gtid: null,
        file: opened.position.file,
        pos: opened.position.pos,
        row: 0,
        thread: null,
        query: null,
      });

    // Schema first, as Debezium: one CREATE per captured table (only for a snapshot that starts afresh).
    if (ctx.includeSchemaChanges && !resume) {
      const schemaChanges = new SchemaChanges({ connector: ctx.connector, topicPrefix: ctx.topicPrefix, sourceSchema: ctx.sourceSchema });
      for (const def of opened.defs) {
        const [create] = await queryRows(conn, `SHOW CREATE TABLE ${quoteIdentifier(def.db)}.${quoteIdentifier(def.table)}`);
        const ddl = String(create?.['Create Table'] ?? Object.values(create ?? {})[1] ?? '');
        events.push(
          schemaChanges.event({
            source: snapshotSource(def.db, def.table, 'true'),
            tsMs: BigInt(Date.now()),
            databaseName: def.db,
            ddl,
            changes: [{ type: 'CREATE', db: def.db, table: def.table, def }],
          }),
        );
      }
    }

    if (withData) {
      let pending: PendingRow | null = null;
      const emit = (p: PendingRow, last: boolean) => {
        const first = rows === 0;
        const marker: SnapshotMarker = last
          ? 'last'
          : first
            ? 'first'
            : p.lastInTable
              ? 'last_in_data_collection'
              : p.firstInTable
                ? 'first_in_data_collection'
                : 'true';
        const [db, table] = splitTableId(p.table);
        for (const e of p.version.envelope.rowEvents({ op: 'r', before: null, after: p.after, source: snapshotSource(db, table, marker) })) {
          events.push(e);
        }
        rows++;
        if (p.lastInTable) {
          done[p.table] = p.epoch;
          cursor = null;
        } else {
          cursor = { table: p.table, epoch: p.epoch, from: p.from, key: p.key };
        }
      };

      for (const id of tables) {
        if (done[id] !== undefined) continue;
        const def = existing.has(id) ? history.get(...splitTableId(id)) : undefined;
        if (!def) {
          done[id] = epoch;
          continue;
        }
        const version = history.version(def);
        const keyCols = keyColumnsOf(def);
        const comparable = comparableKey(keyCols);
        const from = resumeFrom && resumeFrom.table === id ? resumeFrom.from : null;
        const select = def.columns
          .map((c) => (c.dataType === 'float' ? `CAST(${quoteIdentifier(c.name)} AS DOUBLE) AS ${quoteIdentifier(c.name)}` : quoteIdentifier(c.name)))
          .join(', ');
        let sql = `SELECT ${select} FROM ${quoteIdentifier(def.db)}.${quoteIdentifier(def.table)}`;
        let params: unknown[] = [];
        if (from && comparable) {
          const cond = keyAfterCondition(keyCols, from);
          sql += ` WHERE ${cond.sql}`;
          params = cond.params;
        }
        if (keyCols.length > 0) sql += ` ORDER BY ${keyCols.map((c) => quoteIdentifier(c.name)).join(', ')}`;
        ctx.logger.debug({ table: id, from }, 'snapshot: reading table');

        const core = (conn as unknown as { connection: { query(sql: string, values: unknown[]): { stream(o: object): Readable } } }).connection;
        const stream = core.query(sql, params).stream({ highWaterMark: Math.max(16, Math.min(ctx.fetchSize, 10_000)) });
        let firstInTable = true;
        let any = false;
        for await (const raw of stream as AsyncIterable<Record<string, unknown>>) {
          const after = version.rowValue(raw);
          const key = comparable ? keyCols.map((c) => keyPartJson(c, raw[c.name])) : null;
          const row: PendingRow = { version, after, firstInTable, table: id, key, epoch, from: comparable ? from : null, lastInTable: false };
          firstInTable = false;
          any = true;
          if (pending) emit(pending, false);
          pending = row;
          if (events.length >= ctx.maxBatchSize) {
            yield { events, offset: progressOffset(), acknowledgeable: false };
            events = [];
          }
        }
        if (pending && pending.table === id) pending.lastInTable = true;
        if (!any) {
          // nothing (more) to read: the table is finished at this read
          done[id] = epoch;
          if (cursor?.table === id) cursor = null;
        }
        if (from && !comparable) delete splits[id];
      }
      if (pending) emit(pending, true);
    }

    for (const stmt of opened.release) await conn.query(stmt);
    await conn.query('COMMIT');

    const filter: SnapshotFilter | null = epochs.length > 1 ? { epochs, done: { ...done }, splits } : null;
    result.position = epochs[0]!;
    result.filter = filter;
    const offset = encodeOffset(ctx.connector, { position: epochs[0]!, rowSkip: 0, snapshot: null, filter });
    ctx.logger.info({ rows, tables: tables.length }, 'snapshot: done');
    yield { events, offset, acknowledgeable: true };
  } finally {
    await conn.end().catch(() => undefined);
  }
}

function keyColumnsOf(def: TableDef): ColumnDef[] {
  const cols = def.primaryKey.map((n) => def.columns.find((c) => c.name === n));
  return cols.every((c): c is ColumnDef => c !== undefined) ? cols : [];
}
