import type { AnyBinlogEvent, MariadbGtidEvent, QueryEvent, TableMapEvent, UpdateRowsEvent, WriteRowsEvent } from '@vlasky/zongji';
import type { Logger } from 'pino';
import type { ChangeEvent, SourceBatch } from '../../events/change-event.js';
import type { Op } from '../../events/envelope.js';
import type { ConnectSchema } from '../../events/schema.js';
import { binlogSource } from '../../events/source-info.js';
import { TransactionTracker, type TransactionState } from '../../events/transaction.js';
import { heartbeatEvent } from '../../events/heartbeat.js';
import { classifyQuery, type QueryInfo } from './ddl.js';
import type { CaptureFilter } from './filters.js';
import { addGtid, type Flavor } from './gtid.js';
import { compareKeys, keyPartJson } from './keys.js';
import { atOrAfter, committedBefore, encodeOffset, type BinlogPosition, type SnapshotFilter } from './offset.js';
import { SchemaChanges, type TableChange } from './schema-change.js';
import type { SchemaHistory, TableVersion } from './schema-history.js';
import { tableId, type TableDef } from './table-defs.js';
import { tableMapColumns, type BinlogClient } from './zongji.js';

/**
 * Turns the binlog event stream into batches of change events with exact resume offsets.
 *
 * Position bookkeeping: every event carries the position after it (`nextPosition`), so the position where an event
 * starts is the end of the one before. A transaction starts at its GTID event (MariaDB GTID / MySQL GTID or
 * anonymous GTID) or, without GTIDs, at its BEGIN query; it ends at its XID (or COMMIT query); a DDL is a
 * transaction of its own. Inside a transaction the offset is "where it began, the GTID set before it, and how many
 * of its row changes are delivered"; between transactions it is "after the last commit, with its GTID".
 */
export interface StreamerContext {
  readonly connector: 'mysql' | 'mariadb';
  readonly flavor: Flavor;
  readonly name: string;
  readonly topicPrefix: string;
  readonly sourceSchema: ConnectSchema;
  readonly history: SchemaHistory;
  readonly filter: CaptureFilter;
  readonly includeSchemaChanges: boolean;
  readonly skippedOperations: ReadonlySet<string>;
  readonly maxBatchSize: number;
  /** provide.transaction.metadata */
  readonly transactionMetadata: boolean;
  /** heartbeat.interval.ms > 0: a heartbeat record (with the current offset) at that interval */
  readonly heartbeat: { readonly intervalMs: number; readonly heartbeatPrefix: string; readonly action?: () => Promise<void> } | null;
  readonly logger: Logger;
  /** Re-reads table definitions from information_schema (`db.table` ids, or every table of a database). */
  readonly reload: (what: { tables?: string[]; databases?: string[] }) => Promise<TableDef[]>;
}

export interface StreamStart {
  readonly position: BinlogPosition;
  readonly rowSkip: number;
  readonly filter: SnapshotFilter | null;
  readonly transaction?: TransactionState | null;
}

interface Txn {
  readonly file: string;
  readonly pos: bigint;
  readonly gtidsBefore: string | null;
  readonly gtid: string | null;
  readonly serverId: bigint;
  readonly standalone: boolean;
  sawBegin: boolean;
  thread: bigint | null;
  /** row changes seen so far (delivered or not) */
  rows: number;
}

interface MappedTable {
  readonly db: string;
  readonly table: string;
  readonly version: TableVersion | null;
}

const EMPTY_BATCH_INTERVAL_MS = 1000;

export class BinlogStreamer {
  private file: string;
  private lastEnd: bigint;
  private committed: BinlogPosition;
  private txn: Txn | null = null;
  private skip: number;
  private filter: SnapshotFilter | null;
  private readonly tables = new Map<number, MappedTable>();
  private readonly schemaChanges: SchemaChanges;
  private readonly tracker: TransactionTracker | null;
  /** events produced outside handle()'s return value (transaction END records) */
  private extra: ChangeEvent[] = [];
  private warnedStatementDml = false;

  constructor(
    private readonly ctx: StreamerContext,
    private readonly client: BinlogClient,
    start: StreamStart,
    private readonly serverId: number,
  ) {
    this.file = start.position.file;
    this.lastEnd = start.position.pos;
    this.committed = start.position;
    this.skip = start.rowSkip;
    this.filter = start.filter;
    this.schemaChanges = new SchemaChanges({ connector: ctx.connector, topicPrefix: ctx.topicPrefix, sourceSchema: ctx.sourceSchema });
    this.tracker = ctx.transactionMetadata ? new TransactionTracker(ctx.topicPrefix) : null;
    if (this.tracker && start.rowSkip > 0 && start.transaction) this.tracker.restore(start.transaction);
  }

  /** The offset describing everything handled so far. */
  offset(): SourceBatch['offset'] {
    const t = this.txn;
    if (t) {
      return encodeOffset(this.ctx.connector, {
        position: { file: t.file, pos: t.pos, gtids: t.gtidsBefore },
        rowSkip: Math.max(t.rows, this.skip),
        snapshot: null,
        filter: this.filter,
        transaction: this.tracker?.state() ?? null,
      });
    }
    return encodeOffset(this.ctx.connector, { position: this.committed, rowSkip: 0, snapshot: null, filter: this.filter });
  }

  async *batches(): AsyncGenerator<SourceBatch> {
    let events: ChangeEvent[] = [];
    let lastOffset = JSON.stringify(this.offset());
    let lastEmpty = 0;
    const hb = this.ctx.heartbeat;
    let lastHeartbeat = Date.now();
    const heartbeatDue = () => hb !== null && Date.now() - lastHeartbeat >= hb.intervalMs;
    const heartbeat = async () => {
      lastHeartbeat = Date.now();
      if (hb?.action) {
        try {
          await hb.action();
        } catch (err) {
          this.ctx.logger.warn({ err }, 'heartbeat.action.query failed');
        }
      }
      events.push(heartbeatEvent(this.ctx.topicPrefix, BigInt(Date.now()), { heartbeatPrefix: hb!.heartbeatPrefix }));
    };
    const flush = (): SourceBatch | null => {
      const offset = this.offset();
      const text = JSON.stringify(offset);
      if (events.length === 0) {
        if (text === lastOffset || Date.now() - lastEmpty < EMPTY_BATCH_INTERVAL_MS) return null;
        lastEmpty = Date.now();
      }
      lastOffset = text;
      const batch: SourceBatch = { events, offset, acknowledgeable: this.txn === null };
      events = [];
      return batch;
    };
    let pending: Promise<AnyBinlogEvent | null> | null = null;
    for (;;) {
      let event: AnyBinlogEvent | null | undefined = pending ? undefined : this.client.poll();
      if (!event) {
        if (heartbeatDue()) await heartbeat();
        const batch = flush();
        if (batch) yield batch;
        pending ??= this.client.next();
        if (hb) {
          const wait = Math.max(1, hb.intervalMs - (Date.now() - lastHeartbeat));
          let timer: NodeJS.Timeout | undefined;
          const tick = new Promise<'tick'>((resolve) => (timer = setTimeout(() => resolve('tick'), wait)));
          const first = await Promise.race([pending, tick]);
          clearTimeout(timer);
          if (first === 'tick') continue;
          event = first;
        } else {
          event = await pending;
        }
        pending = null;
        if (!event) {
          const last = flush();
          if (last && last.events.length > 0) yield last;
          return;
        }
      }
      const produced = this.handle(event);
      if (produced instanceof Promise) {
        for (const e of await produced) events.push(e);
      } else if (produced) {
        for (const e of produced) events.push(e);
      }
      if (this.extra.length > 0) {
        for (const e of this.extra) events.push(e);
        this.extra = [];
      }
      if (events.length >= this.ctx.maxBatchSize) {
        if (heartbeatDue()) await heartbeat();
        const batch = flush();
        if (batch) yield batch;
      }
    }
  }

  private handle(event: AnyBinlogEvent): ChangeEvent[] | Promise<ChangeEvent[]> | null {
    let out: ChangeEvent[] | Promise<ChangeEvent[]> | null = null;
    const next = BigInt(event.nextPosition);
    switch (event.getTypeName()) {
      case 'Rotate': {
        const e = event as Extract<AnyBinlogEvent, { binlogName: string; position: number }>;
        this.file = e.binlogName;
        this.lastEnd = BigInt(e.position);
        if (!this.txn) this.committed = { ...this.committed, file: this.file, pos: this.lastEnd };
        return null;
      }
      case 'MariadbGtid': {
        const e = event as MariadbGtidEvent;
        this.begin(e.gtid, BigInt(e.serverId), e.standalone);
        if (e.threadId !== undefined) this.txn!.thread = BigInt(e.threadId);
        break;
      }
      case 'Gtid':
        this.begin(event.gtid ?? null, BigInt(this.serverId), false);
        break;
      case 'AnonymousGtid':
        this.begin(null, BigInt(this.serverId), false);
        break;
      case 'Query':
        out = this.query(event as QueryEvent);
        break;
      case 'TableMap':
        this.tableMap(event as TableMapEvent);
        break;
      case 'WriteRows':
      case 'UpdateRows':
      case 'DeleteRows':
        out = this.rows(event as WriteRowsEvent | UpdateRowsEvent);
        break;
      case 'Xid':
      case 'XaPrepare':
        this.commit(next);
        break;
      case 'Heartbeat': {
        const e = event as Extract<AnyBinlogEvent, { getTypeName(): 'Heartbeat' }>;
        if (e.binlogName) this.file = e.binlogName;
        break;
      }
      default:
        break;
    }
    if (next > 0n) this.lastEnd = next;
    if (!this.txn) this.committed = { ...this.committed, file: this.file, pos: this.lastEnd };
    return out;
  }

  private begin(gtid: string | null, serverId: bigint, standalone: boolean): void {
    if (this.txn) this.commit(this.lastEnd);
    this.txn = {
      file: this.file,
      pos: this.lastEnd,
      gtidsBefore: this.committed.gtids,
      gtid,
      serverId,
      standalone,
      sawBegin: false,
      thread: null,
      rows: 0,
    };
  }

  private commit(end: bigint): void {
    const t = this.txn;
    if (!t) return;
    let gtids = this.committed.gtids;
    if (t.gtid !== null && gtids !== null) {
      try {
        gtids = addGtid(this.ctx.flavor, gtids, t.gtid);
      } catch (cause) {
        this.ctx.logger.warn({ err: cause, gtid: t.gtid }, 'cannot add the transaction GTID to the executed set');
      }
    }
    if (this.tracker?.inProgress) this.extra.push(this.tracker.end(BigInt(Date.now())));
    this.txn = null;
    this.skip = 0;
    this.committed = { file: this.file, pos: end > 0n ? end : this.lastEnd, gtids };
    if (this.filter) {
      const last = this.filter.epochs[this.filter.epochs.length - 1];
      if (last && atOrAfter(this.ctx.flavor, this.committed, last)) this.filter = null;
    }
  }

  private query(e: QueryEvent): ChangeEvent[] | Promise<ChangeEvent[]> | null {
    const info = classifyQuery(e.query, e.schema);
    const next = BigInt(e.nextPosition);
    switch (info.kind) {
      case 'begin':
        if (!this.txn) this.begin(null, BigInt(this.serverId), false);
        this.txn!.sawBegin = true;
        this.txn!.thread = BigInt(e.slaveProxyId);
        return null;
      case 'commit':
      case 'rollback':
        this.commit(next);
        return null;
      case 'xa':
        if (/^\s*XA\s+(COMMIT|ROLLBACK)\b/i.test(e.query)) this.commit(next);
        return null;
      case 'dml':
        if (!this.warnedStatementDml) {
          this.warnedStatementDml = true;
          this.ctx.logger.warn(
            { query: e.query.slice(0, 200) },
            'the binlog holds a statement-based change, which is not captured: set binlog_format=ROW on the server',
          );
        }
        return null;
      case 'savepoint':
      case 'other':
        if (this.txn && this.queryEndsGroup(this.txn, e.query)) this.commit(next);
        return null;
      case 'table':
      case 'database':
        return this.ddl(e, info, next);
    }
  }

  /**
   * Whether a QUERY event (DDL or other statement) ends its event group. MariaDB says so in the GTID event
   * (FL_STANDALONE: DDL and other statements that are a group of their own; CREATE TABLE ... SELECT and
   * transactions with SAVEPOINTs are not, and end at their XID). MySQL writes DDL right after its GTID event, with
   * no BEGIN, except CREATE TABLE ... SELECT, which is logged as `CREATE TABLE ... START TRANSACTION` and rows.
   */
  private queryEndsGroup(txn: Txn, query: string): boolean {
    if (txn.sawBegin) return false;
    if (this.ctx.flavor === 'mariadb' && txn.gtid !== null) return txn.standalone;
    return !/\bSTART\s+TRANSACTION\s*$/i.test(query);
  }

  private async ddl(e: QueryEvent, info: QueryInfo, next: bigint): Promise<ChangeEvent[]> {
    if (!this.txn) this.begin(null, BigInt(this.serverId), true);
    const txn = this.txn!;
    txn.thread = BigInt(e.slaveProxyId);
    const { history, filter } = this.ctx;
    const changes: TableChange[] = [];
    const truncates: ChangeEvent[] = [];
    let databaseName = e.schema;
    this.tables.clear();

    if (info.kind === 'database') {
      databaseName = info.db;
      if (info.action === 'drop') {
        for (const def of history.tables()) {
          if (def.db !== info.db) continue;
          history.remove(def.db, def.table);
          if (filter.includesTable(def.db, def.table)) changes.push({ type: 'DROP', db: def.db, table: def.table, def });
        }
      } else {
        for (const def of await this.ctx.reload({ databases: [info.db] })) history.set(def);
      }
    } else if (info.kind === 'table') {
      const first = info.actions[0];
      if (first) databaseName = first.db;
      for (const a of info.actions) {
        if (a.action === 'truncate') {
          const def = history.get(a.db, a.table);
          if (def && filter.includesTable(a.db, a.table) && !this.ctx.skippedOperations.has('t')) {
            truncates.push(
              history.version(def).envelope.truncateEvent({
                source: binlogSource({
                  connector: this.ctx.connector,
                  name: this.ctx.name,
                  eventMicros: BigInt(e.timestamp) * 1000n,
                  snapshot: 'false',
                  db: a.db,
                  table: a.table,
                  serverId: txn.serverId,
                  gtid: txn.gtid,
                  file: txn.file,
                  pos: txn.pos,
                  row: 0,
                  thread: txn.thread,
                  query: null,
                }),
              }),
            );
          }
          continue;
        }
        if (a.action === 'drop') {
          const old = history.remove(a.db, a.table);
          if (filter.includesTable(a.db, a.table)) changes.push({ type: 'DROP', db: a.db, table: a.table, def: old ?? null });
          continue;
        }
        if (a.action === 'rename') {
          history.remove(a.db, a.table);
          const [def] = await this.ctx.reload({ tables: [tableId(a.toDb, a.toTable)] });
          if (def) history.set(def);
          if (filter.includesTable(a.toDb, a.toTable) || filter.includesTable(a.db, a.table)) {
            changes.push({ type: 'ALTER', db: a.toDb, table: a.toTable, def: def ?? null });
          }
          continue;
        }
        const [def] = await this.ctx.reload({ tables: [tableId(a.db, a.table)] });
        if (def) history.set(def);
        if (filter.includesTable(a.db, a.table)) {
          changes.push({ type: a.action === 'create' ? 'CREATE' : 'ALTER', db: a.db, table: a.table, def: def ?? history.get(a.db, a.table) ?? null });
        }
      }
    }

    const out: ChangeEvent[] = [];
    const relevant = changes.length > 0 || (info.kind === 'database' && filter.includesDatabase(info.db));
    if (this.ctx.includeSchemaChanges && relevant) {
      const only = changes.length === 1 ? changes[0]! : null;
      out.push(
        this.schemaChanges.event({
          source: binlogSource({
            connector: this.ctx.connector,
            name: this.ctx.name,
            eventMicros: BigInt(e.timestamp) * 1000n,
            snapshot: 'false',
            db: databaseName,
            table: only ? only.table : null,
            serverId: txn.serverId,
            gtid: txn.gtid,
            file: txn.file,
            pos: txn.pos,
            row: 0,
            thread: txn.thread,
            query: null,
          }),
          tsMs: BigInt(Date.now()),
          databaseName,
          ddl: e.query,
          changes,
        }),
      );
    }
    for (const t of truncates) out.push(t);
    if (this.queryEndsGroup(txn, e.query)) this.commit(next);
    return out;
  }

  private tableMap(e: TableMapEvent): void {
    const db = e.schemaName;
    const table = e.tableName;
    if (!this.ctx.filter.includesTable(db, table)) {
      this.tables.set(e.tableId, { db, table, version: null });
      return;
    }
    const columns = tableMapColumns(this.client.zongji, e);
    if (!columns) {
      this.tables.set(e.tableId, { db, table, version: null });
      return;
    }
    this.tables.set(e.tableId, { db, table, version: this.ctx.history.fromTableMap(db, table, columns, e.primaryKey) });
  }

  private rows(e: WriteRowsEvent | UpdateRowsEvent): ChangeEvent[] | null {
    if (!this.txn) this.begin(null, BigInt(this.serverId), false);
    const txn = this.txn!;
    const mapped = this.tables.get(e.tableId);
    const kind = e.getTypeName();
    const op: Op = kind === 'WriteRows' ? 'c' : kind === 'UpdateRows' ? 'u' : 'd';
    const out: ChangeEvent[] = [];
    const rows = e.rows as unknown[];
    for (let r = 0; r < rows.length; r++) {
      txn.rows++;
      if (txn.rows <= this.skip) continue;
      const version = mapped?.version;
      if (!version || this.ctx.skippedOperations.has(op)) continue;
      const row = rows[r] as Record<string, unknown> & { before?: Record<string, unknown>; after?: Record<string, unknown> };
      const beforeRaw = op === 'u' ? row.before! : op === 'd' ? row : null;
      const afterRaw = op === 'u' ? row.after! : op === 'c' ? row : null;
      if (this.filter && this.alreadyInSnapshot(mapped, version, (beforeRaw ?? afterRaw)!)) continue;
      const source = binlogSource({
        connector: this.ctx.connector,
        name: this.ctx.name,
        eventMicros: BigInt(e.timestamp) * 1000n,
        snapshot: 'false',
        db: mapped.db,
        table: mapped.table,
        serverId: txn.serverId,
        gtid: txn.gtid,
        file: txn.file,
        pos: txn.pos,
        row: r,
        thread: txn.thread,
        query: null,
      });
      let transaction = null;
      if (this.tracker) {
        if (!this.tracker.inProgress) {
          const id = txn.gtid ?? `${txn.file}:${txn.pos}`;
          for (const b of this.tracker.begin(id, BigInt(e.timestamp))) out.push(b);
        }
        transaction = this.tracker.block(`${mapped.db}.${mapped.table}`);
      }
      const events = version.envelope.rowEvents({
        op: op as 'c' | 'u' | 'd',
        before: beforeRaw ? version.rowValue(beforeRaw) : null,
        after: afterRaw ? version.rowValue(afterRaw) : null,
        source,
        transaction,
      });
      for (const ev of events) out.push(ev);
    }
    return out.length ? out : null;
  }

  /** After a snapshot taken in several reads: whether this change is older than the read its row came from. */
  private alreadyInSnapshot(mapped: MappedTable, version: TableVersion, raw: Record<string, unknown>): boolean {
    const f = this.filter!;
    const id = tableId(mapped.db, mapped.table);
    let epoch = f.done[id];
    const splits = f.splits[id];
    if (splits && splits.length > 0) {
      const keyCols = version.def.primaryKey.map((n) => version.def.columns.find((c) => c.name === n)!).filter(Boolean);
      if (keyCols.length === version.def.primaryKey.length) {
        const key = keyCols.map((c) => keyPartJson(c, raw[c.name]));
        const part = splits.find((s) => compareKeys(keyCols, key, s.upto) <= 0);
        if (part) epoch = part.epoch;
      }
    }
    if (epoch === undefined) return false;
    const position = f.epochs[epoch];
    if (!position) return false;
    const txn = this.txn!;
    return committedBefore(this.ctx.flavor, { file: txn.file, pos: txn.pos }, txn.gtid, position);
  }
}
