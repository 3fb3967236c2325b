/**
 * The Postgres source: slot + publication set-up, initial snapshot consistent with the slot, pgoutput streaming,
 * heartbeats, and acknowledgement of committed positions to the slot. See docs/postgres.md.
 */
import pg from 'pg';
import type { Logger } from 'pino';
import type { ConnectorConfig } from '../../config/connector-config.js';
import { ConfigError, ConnectionLostError, OffsetError, PrerequisiteError, SluiceError } from '../../errors.js';
import type { ChangeEvent, SourceBatch, SourceOffset } from '../../events/change-event.js';
import { nowMicros } from '../../events/envelope.js';
import { heartbeatEvent } from '../../events/heartbeat.js';
import { MessageEnvelope } from '../../events/message.js';
import type { StructValue } from '../../events/schema.js';
import { POSTGRES_SOURCE_SCHEMA, postgresSource } from '../../events/source-info.js';
import { TransactionTracker } from '../../events/transaction.js';
import { logger as rootLogger } from '../../observability/logger.js';
import type { Problem, Source } from '../source.js';
import { listTables, slotInfo, tableByOid, tableColumns, TypeCatalog, type ServerInfo, type TableInfo } from './catalog.js';
import { maxLsn, type Lsn } from './lsn.js';
import {
  decodeOffset,
  encodeOffset,
  isAcknowledgeable,
  type PgOffset,
  type ReadFilter,
  type SnapshotProgress,
  type SnapshotXids,
} from './offsets.js';
import { PgOutputDecoder, decodePgOutput, type PgOutputMessage, type TupleData } from './pgoutput-decoder.js';
import { KeyComparator, ReadFilterState, type FilterTable } from './read-filter.js';
import { ReplicationConnection, clientConfig, translateConnectError, type ReplicationStream } from './replication-connection.js';
import { readSettings, type PgSettings } from './settings.js';
import { applyReplicaIdentities, checkPrerequisites, ensurePublication } from './setup.js';
import { pruneFilter, readSnapshot, type SnapshotTable } from './snapshot.js';
import { SpillDirectory, SpillFile } from './spill.js';
import { buildTableModel, rowFromTuple, type ModelContext, type TableModel } from './tables.js';
import { parseLsn } from './lsn.js';

export interface PostgresSourceDeps {
  readonly logger?: Logger;
}

/** How the engine builds a Postgres source. */
export function createPostgresSource(config: ConnectorConfig, deps: PostgresSourceDeps = {}): PostgresSource {
  return new PostgresSource(config, deps);
}

interface OpenTx {
  readonly xid: number;
  readonly commitLsn: Lsn;
  readonly commitMicros: bigint;
  /** data messages seen so far */
  changes: number;
  /** data messages to skip (already delivered before a restart) */
  readonly skip: number;
  readonly filtered: boolean;
  originName: string | null;
  originLsn: Lsn | null;
}

interface CapturedRelation {
  readonly model: TableModel;
  readonly filterTable: FilterTable;
  /** index of each primary key column in the relation's tuples */
  readonly pkIndexes: readonly number[];
}

const EMPTY_FILTER: ReadFilter = { until: '0', snapshots: {}, tables: {} };

export class PostgresSource implements Source {
  readonly connector = 'postgresql' as const;
  private readonly settings: PgSettings;
  private readonly logger: Logger;
  private stopping = false;
  private meta: pg.Client | null = null;
  private repl: ReplicationConnection | null = null;
  private replStream: ReplicationStream | null = null;
  private snapshotDb: pg.Client | null = null;
  private acknowledged: Lsn = 0n;
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private heartbeatDue = false;
  private heartbeatQuery: Promise<void> = Promise.resolve();
  private readonly spillDir: SpillDirectory;
  private readonly spills = new Map<number, SpillFile>();
  private cleanedUp = false;

  constructor(
    private readonly config: ConnectorConfig,
    deps: PostgresSourceDeps = {},
  ) {
    this.settings = readSettings(config);
    this.logger = (deps.logger ?? rootLogger).child({ source: 'postgresql', slot: this.settings.slotName });
    this.spillDir = new SpillDirectory(this.settings.spillDirectory, this.settings.slotName);
  }

  // -------------------------------------------------------------------------------------------------------------
  // Source API

  async validate(): Promise<Problem[]> {
    const db = new pg.Client(clientConfig(this.settings.connection));
    try {
      await db.connect();
    } catch (err) {
      return [{ severity: 'error', message: translateConnectError(err, this.settings.connection).message }];
    }
    try {
      const { problems } = await checkPrerequisites(db, this.settings);
      return problems;
    } finally {
      await db.end().catch(() => undefined);
    }
  }

  stream(offset: SourceOffset | null): AsyncIterable<SourceBatch> {
    return { [Symbol.asyncIterator]: () => this.run(offset) };
  }

  async acknowledge(raw: SourceOffset): Promise<void> {
    const offset = decodeOffset(raw);
    if (!isAcknowledgeable(offset)) return;
    if (offset.lsn > this.acknowledged) {
      this.acknowledged = offset.lsn;
      this.replStream?.setAcknowledged(offset.lsn);
    }
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.cleanup();
  }

  // -------------------------------------------------------------------------------------------------------------
  // Lifecycle

  private async cleanup(): Promise<void> {
    if (this.cleanedUp) return;
    this.cleanedUp = true;
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = null;
    await this.repl?.end();
    await this.snapshotDb?.end().catch(() => undefined);
    await this.heartbeatQuery.catch(() => undefined);
    for (const s of this.spills.values()) s.discard();
    this.spills.clear();
    this.spillDir.remove();
    if (this.settings.dropSlotOnStop && this.meta) {
      await this.dropSlot(this.meta).catch((err: unknown) => this.logger.warn({ err }, `could not drop replication slot ${this.settings.slotName}`));
    }
    await this.meta?.end().catch(() => undefined);
  }

  private async dropSlot(db: pg.Client): Promise<void> {
    for (let attempt = 0; attempt < 50; attempt++) {
      const slot = await slotInfo(db, this.settings.slotName);
      if (!slot) return;
      if (!slot.active) {
        await db.query('SELECT pg_drop_replication_slot($1)', [this.settings.slotName]);
        this.logger.info(`dropped replication slot ${this.settings.slotName} (slot.drop.on.stop)`);
        return;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error('the slot stayed active');
  }

  private async connectMeta(): Promise<pg.Client> {
    const db = new pg.Client(clientConfig(this.settings.connection));
    db.on('error', (err: Error) => this.logger.warn({ err }, 'metadata connection error'));
    try {
      await db.connect();
    } catch (err) {
      throw translateConnectError(err, this.settings.connection);
    }
    this.meta = db;
    return db;
  }

  private async *run(raw: SourceOffset | null): AsyncGenerator<SourceBatch> {
    const s = this.settings;
    try {
      const offset = raw ? decodeOffset(raw) : null;
      const meta = await this.connectMeta();
      const { problems, info, captured } = await checkPrerequisites(meta, s);
      const errors = problems.filter((p) => p.severity === 'error');
      if (errors.length > 0 && errors.every((p) => p.transient)) {
        throw new SluiceError(`${errors.map((p) => p.message).join('; ')}. Retrying: it may be an older instance of this connector that is being fenced`, {
          retriable: true,
          context: { slot: s.slotName },
        });
      }
      if (errors.length > 0) throw new PrerequisiteError(errors.map((p) => p.message).join('; '));
      for (const p of problems) this.logger.warn(p.message);
      await applyReplicaIdentities(meta, s, captured, this.logger);
      await ensurePublication(meta, s, captured, this.logger);

      const slot = await slotInfo(meta, s.slotName);
      const repl = new ReplicationConnection(s.connection);
      this.repl = repl;
      await repl.connect();
      if (this.stopping) return;

      let base: PgOffset = offset ?? emptyOffset(0n);
      let needSnapshot: boolean;
      if (offset === null) needSnapshot = s.snapshotMode !== 'no_data';
      else if (offset.snapshot !== null) needSnapshot = true;
      else needSnapshot = s.snapshotMode === 'always' || (s.snapshotMode === 'when_needed' && slot === null);

      let startLsn: Lsn;
      let exportedSnapshot: string | null = null;
      let progress: SnapshotProgress | null = null;
      if (slot === null) {
        if (offset !== null && !needSnapshot) {
          throw new OffsetError(
            `replication slot "${s.slotName}" no longer exists, so the changes after the stored position ${offset.lsn} are gone. ` +
              `Use snapshot.mode=when_needed (or delete the stored offset) to take a new snapshot`,
          );
        }
        const created = await repl.createSlot(s.slotName, info.version, needSnapshot);
        this.logger.info({ consistentPoint: created.consistentPoint.toString() }, `created replication slot ${s.slotName}`);
        startLsn = created.consistentPoint;
        exportedSnapshot = created.snapshotName;
        base = emptyOffset(startLsn);
        if (needSnapshot) progress = newProgress(captured);
      } else {
        const confirmed = slot.confirmedFlush ?? 0n;
        if (offset !== null && offset.lsn < confirmed && !needSnapshot) {
          if (s.snapshotMode === 'when_needed') {
            needSnapshot = true;
          } else {
            throw new OffsetError(
              `the stored offset (LSN ${offset.lsn}) is behind replication slot "${s.slotName}" (confirmed ${confirmed}): ` +
                `changes in between can no longer be streamed. Use snapshot.mode=when_needed to take a new snapshot`,
            );
          }
        }
        startLsn = maxLsn(offset?.lsn ?? 0n, confirmed);
        if (offset === null) base = emptyOffset(startLsn);
        if (needSnapshot) progress = offset?.snapshot ?? newProgress(captured);
      }
      this.acknowledged = startLsn;

      if (needSnapshot && progress) {
        let filter: ReadFilter | null = null;
        for await (const b of this.snapshotPhase(info, progress, exportedSnapshot, startLsn, base)) {
          if (b.filter !== undefined) filter = b.filter;
          if (b.batch) yield b.batch;
          if (this.stopping) return;
        }
        base = { ...base, lsn: startLsn, snapshot: null, readFilter: filter };
      }
      if (s.snapshotMode === 'initial_only') {
        this.logger.info('snapshot.mode=initial_only: the snapshot is complete, not streaming');
        if (!s.dropSlotOnStop) {
          this.logger.warn(
            `replication slot ${s.slotName} stays and retains WAL until a connector streams from it; ` +
              `drop it (SELECT pg_drop_replication_slot('${s.slotName}')) or set slot.drop.on.stop=true if nothing will stream`,
          );
        }
        return;
      }
      yield* this.streamPhase(info, startLsn, base);
    } catch (err) {
      if (this.stopping) return;
      throw err;
    } finally {
      await this.cleanup();
    }
  }

  // -------------------------------------------------------------------------------------------------------------
  // Snapshot

  private modelContext(types: TypeCatalog, warned: Set<string>): ModelContext {
    const s = this.settings;
    return {
      topicPrefix: s.topicPrefix,
      types,
      mapping: s.mapping,
      filter: s.filter,
      tombstonesOnDelete: s.tombstonesOnDelete,
      messageKeyColumns: s.messageKeyColumns,
      logger: this.logger,
      warned,
    };
  }

  private readonly warned = new Set<string>();

  private async *snapshotPhase(
    info: ServerInfo,
    progress: SnapshotProgress,
    exported: string | null,
    lsn: Lsn,
    base: PgOffset,
  ): AsyncGenerator<{ batch?: SourceBatch; filter?: ReadFilter | null }> {
    const s = this.settings;
    const db = new pg.Client(clientConfig(s.connection));
    db.on('error', (err: Error) => this.logger.warn({ err }, 'snapshot connection error'));
    await db.connect();
    this.snapshotDb = db;
    await db.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    let snapId: string | null = null;
    let snapXids: SnapshotXids | null = null;
    let walAfter: Lsn | null = null;
    if (exported !== null) {
      await db.query(`SET TRANSACTION SNAPSHOT '${exported.replace(/'/g, "''")}'`);
      this.logger.info({ snapshot: exported }, 'reading the initial snapshot in the slot’s exported snapshot');
    } else {
      const fn = info.version >= 13 ? 'pg_current_snapshot()' : 'txid_current_snapshot()';
      const r = await db.query<{ s: string; w: string }>(`SELECT ${fn}::text AS s, pg_current_wal_insert_lsn()::text AS w`);
      const row = r.rows[0] as { s: string; w: string };
      const [xmin, xmax, xip] = row.s.split(':') as [string, string, string];
      snapXids = { xmin, xmax, xip: xip === '' ? [] : xip.split(',') };
      walAfter = parseLsn(row.w);
      snapId = `s${Object.keys(progress.filter.snapshots).length + 1}`;
      this.logger.info(
        { snapshot: row.s, tablesDone: progress.done },
        progress.done > 0 || progress.last_key !== null
          ? 'resuming the snapshot in a new snapshot (the exported one ended with the previous connection); see docs/postgres.md'
          : 'reading the snapshot in a new snapshot (the slot already existed); changes it already saw are filtered while streaming',
      );
    }
    // Catalog reads inside the snapshot see the tables as the snapshot does.
    const types = new TypeCatalog(db);
    const all = await listTables(db);
    const ctx = this.modelContext(types, this.warned);
    const tables: (SnapshotTable | null)[] = [];
    for (const id of progress.tables) {
      const t = all.find((x) => `${x.schema}.${x.name}` === id);
      if (!t) {
        tables.push(null);
        continue;
      }
      const columns = await tableColumns(db, t.oid);
      await types.ensure(columns.map((c) => c.typeOid));
      const model = buildTableModel(ctx, t.oid, t.schema, t.name, columns, t.primaryKey, t.replicaIdentity);
      tables.push({ id, info: t, columns, model });
    }
    const t0 = Date.now();
    for await (const chunk of readSnapshot({
      db,
      tables,
      progress,
      snapId,
      snapXids,
      walAfter,
      lsn,
      topicPrefix: s.topicPrefix,
      database: s.database,
      fetchSize: s.fetchSize,
    })) {
      if (chunk.complete) {
        // End the snapshot transaction first: it holds locks that DDL (TRUNCATE, ALTER) on the tables waits for.
        await db.query('COMMIT').catch(() => undefined);
        await db.end().catch(() => undefined);
        this.snapshotDb = null;
        const filter = pruneFilter(chunk.progress.filter);
        const offset: PgOffset = { ...base, lsn, snapshot: null, readFilter: filter };
        yield { filter };
        yield { batch: { events: chunk.events, offset: encodeOffset(offset), acknowledgeable: isAcknowledgeable(offset) } };
        this.logger.info({ rows: chunk.progress.rows, ms: Date.now() - t0 }, 'snapshot complete');
      } else {
        const offset: PgOffset = { ...base, lsn, snapshot: chunk.progress };
        yield { batch: { events: chunk.events, offset: encodeOffset(offset), acknowledgeable: false } };
      }
      if (this.stopping) break;
    }
    if (this.snapshotDb) {
      await db.query('COMMIT').catch(() => undefined);
      await db.end().catch(() => undefined);
      this.snapshotDb = null;
    }
  }

  // -------------------------------------------------------------------------------------------------------------
  // Streaming

  private async *streamPhase(info: ServerInfo, startLsn: Lsn, base: PgOffset): AsyncGenerator<SourceBatch> {
    const s = this.settings;
    const meta = this.meta as pg.Client;
    const repl = this.repl as ReplicationConnection;
    const proto = s.protocolVersion ?? (info.version >= 14 ? 2 : 1);
    if (proto === 2 && info.version < 14) throw new ConfigError('pgoutput protocol version 2 needs Postgres 14 or later');
    const pluginOptions: Record<string, string> = { proto_version: String(proto), publication_names: s.publicationName };
    if (info.version >= 14) pluginOptions['messages'] = 'true';
    if (proto >= 2) pluginOptions['streaming'] = 'on';
    const stream = repl.startReplication(s.slotName, startLsn, pluginOptions, s.statusIntervalMs);
    this.replStream = stream;
    stream.setAcknowledged(this.acknowledged);
    await stream.whenStarted();
    this.logger.info({ lsn: startLsn.toString(), proto }, 'streaming from the replication slot');
    if (s.heartbeatIntervalMs > 0) {
      this.heartbeatTimer = setInterval(() => this.onHeartbeatTick(), s.heartbeatIntervalMs);
      this.heartbeatTimer.unref();
    }

    const types = new TypeCatalog(meta);
    const ctx = this.modelContext(types, this.warned);
    const relations = new Map<number, CapturedRelation | null>();
    const filter = new ReadFilterState(base.readFilter, new KeyComparator(meta));
    const tracker = s.provideTransactionMetadata ? new TransactionTracker(s.topicPrefix) : null;
    const messages = new MessageEnvelope({ topicPrefix: s.topicPrefix, sourceSchema: POSTGRES_SOURCE_SCHEMA, binaryMode: s.mapping.binaryMode });
    const decoder = new PgOutputDecoder();

    // Position state (what the offset says).
    let resumeLsn = base.lsn > startLsn ? base.lsn : startLsn;
    let lastCommitLsn = base.lsnCommit;
    let lastTxId = base.txId;
    let msgLsn = base.msgLsn;
    let lsnProc = base.lsnProc;
    // A transaction partly delivered before the restart.
    let partial = base.eventsInTx > 0 && base.lsnCommit !== null && base.txId !== null
      ? { commitLsn: base.lsnCommit, xid: base.txId, events: base.eventsInTx, txState: base.txState }
      : null;
    let tx: OpenTx | null = null;
    let out: ChangeEvent[] = [];
    let streamingXid: number | null = null;

    const offsetNow = (): PgOffset => ({
      lsn: resumeLsn,
      lsnCommit: tx ? tx.commitLsn : lastCommitLsn,
      lsnProc,
      txId: tx ? BigInt(tx.xid) : lastTxId,
      eventsInTx: tx ? tx.changes : 0,
      txState: tx && tracker ? tracker.state() : null,
      msgLsn,
      snapshot: null,
      readFilter: filter.current,
    });
    const batch = (): SourceBatch => {
      const o = offsetNow();
      const b: SourceBatch = { events: out, offset: encodeOffset(o), acknowledgeable: isAcknowledgeable(o) };
      out = [];
      return b;
    };

    const relationFor = async (m: Extract<PgOutputMessage, { tag: 'relation' }>): Promise<void> => {
      if (!s.filter.includesTable(m.namespace, m.name)) {
        relations.set(m.relationId, null);
        return;
      }
      const all = await tableByOid(meta, m.relationId);
      const cols = all ? await tableColumns(meta, m.relationId) : [];
      const notNull = new Map(cols.map((c) => [c.name, c] as const));
      await types.ensure(m.columns.map((c) => c.typeOid));
      const defs = m.columns.map((c) => ({
        name: c.name,
        typeOid: c.typeOid,
        typeMod: c.typeMod,
        notNull: notNull.get(c.name)?.notNull ?? false,
        collation: notNull.get(c.name)?.collation ?? null,
      }));
      const pk = all ? all.primaryKey.filter((k) => m.columns.some((c) => c.name === k)) : m.columns.filter((c) => c.isKey).map((c) => c.name);
      const model = buildTableModel(ctx, m.relationId, m.namespace, m.name, defs, pk, m.replicaIdentity);
      const pkIndexes = pk.map((k) => m.columns.findIndex((c) => c.name === k));
      relations.set(m.relationId, {
        model,
        filterTable: { oid: m.relationId, id: model.id, primaryKey: pk },
        pkIndexes,
      });
    };

    const pkText = (rel: CapturedRelation, tuple: TupleData | null): string[] | null => {
      if (tuple === null || rel.pkIndexes.length === 0) return null;
      const out2: string[] = [];
      for (const i of rel.pkIndexes) {
        const v = tuple[i];
        if (typeof v !== 'string') return null;
        out2.push(v);
      }
      return out2;
    };

    /** Events of one data message of transaction `t` (empty when filtered out). */
    const dataEvents = async (m: PgOutputMessage, t: OpenTx, lsn: Lsn, emit: boolean): Promise<ChangeEvent[]> => {
      const sourceFor = (model: { schema: string; name: string } | null): StructValue =>
        postgresSource({
          name: s.topicPrefix,
          commitMicros: t.commitMicros,
          snapshot: 'false',
          db: s.database,
          schema: model?.schema ?? '',
          table: model?.name ?? '',
          txId: BigInt(t.xid),
          lsn,
          lastCommitLsn,
          originName: t.originName,
          originLsn: t.originLsn,
        });
      const txBlock = (collection: string) => {
        if (!tracker || !emit) return null;
        if (!tracker.inProgress) out.push(...tracker.begin(`${t.xid}:${t.commitLsn}`, t.commitMicros / 1000n));
        return tracker.block(collection);
      };
      switch (m.tag) {
        case 'insert':
        case 'update':
        case 'delete': {
          const rel = relations.get(m.relationId);
          if (!rel) return [];
          const model = rel.model;
          let before: StructValue | null = null;
          let after: StructValue | null = null;
          let beforeKey: string[] | null = null;
          let afterKey: string[] | null = null;
          if (m.tag === 'insert') {
            after = rowFromTuple(model, m.newTuple, null, this.logger);
            afterKey = pkText(rel, m.newTuple);
          } else if (m.tag === 'update') {
            const old = m.oldTuple ?? m.keyTuple;
            before = old ? rowFromTuple(model, old, null, this.logger) : null;
            after = rowFromTuple(model, m.newTuple, m.oldTuple, this.logger);
            beforeKey = pkText(rel, old);
            afterKey = pkText(rel, m.newTuple);
            if (before !== null && beforeKey === null && rel.pkIndexes.length > 0) {
              // REPLICA IDENTITY USING INDEX on other columns: the old tuple has no primary key values. Take the key as
              // unchanged rather than invent a key change (see docs/postgres.md).
              for (const k of model.keyColumns) before[k] = after[k];
            }
          } else {
            const old = m.oldTuple ?? m.keyTuple;
            before = old ? rowFromTuple(model, old, null, this.logger) : null;
            beforeKey = pkText(rel, old);
          }
          let op: 'c' | 'u' | 'd' = m.tag === 'insert' ? 'c' : m.tag === 'update' ? 'u' : 'd';
          if (t.filtered && filter.hasTable(model.id)) {
            const d = await filter.decide(rel.filterTable, t.xid, m.tag === 'insert' ? null : (beforeKey ?? afterKey), m.tag === 'delete' ? null : afterKey);
            if (m.tag === 'insert' && !d.after) return [];
            if (m.tag === 'delete' && !d.before) return [];
            if (m.tag === 'update') {
              if (!d.before && !d.after) return [];
              if (!d.after) {
                op = 'd';
                after = null;
              } else if (!d.before) {
                op = 'c';
                before = null;
              }
            }
          }
          if (!emit) return [];
          if (s.skippedOperations.has(op)) return [];
          if (op === 'd' && before === null) {
            // REPLICA IDENTITY NOTHING: nothing to say about the row
            return [];
          }
          const transaction = txBlock(model.id);
          return model.envelope.rowEvents({ op, before, after, source: sourceFor(model), transaction });
        }
        case 'truncate': {
          const events: ChangeEvent[] = [];
          for (const id of m.relationIds) {
            const rel = relations.get(id);
            if (!rel) continue;
            if (t.filtered && !filter.truncate(rel.filterTable, t.xid)) continue;
            if (!emit || s.skippedOperations.has('t')) continue;
            events.push(rel.model.envelope.truncateEvent({ source: sourceFor(rel.model), transaction: txBlock(rel.model.id) }));
          }
          return events;
        }
        case 'message': {
          if (!emit || !this.messageIncluded(m.prefix)) return [];
          return [
            messages.event({
              prefix: m.prefix,
              content: m.content,
              source: sourceFor(null),
              transaction: txBlock('LOGICAL_DECODING_MESSAGE'),
              tsMs: t.commitMicros / 1000n,
            }),
          ];
        }
        default:
          return [];
      }
    };

    const beginTx = (xid: number, commitLsn: Lsn, commitMicros: bigint): OpenTx => {
      let skip = 0;
      if (partial && partial.xid === BigInt(xid) && partial.commitLsn === commitLsn) {
        skip = partial.events;
        tracker?.restore(partial.txState);
      } else {
        tracker?.restore(null);
      }
      partial = null;
      return { xid, commitLsn, commitMicros, changes: 0, skip, filtered: filter.appliesTo(commitLsn), originName: null, originLsn: null };
    };

    /** Handles one message of a (non-streamed or replayed) transaction; returns true when a batch is due. */
    const inTx = async (m: PgOutputMessage, lsn: Lsn): Promise<boolean> => {
      const t = tx as OpenTx;
      switch (m.tag) {
        case 'relation':
          await relationFor(m);
          return false;
        case 'type':
          types.invalidate(m.typeOid);
          return false;
        case 'origin':
          t.originName = m.name;
          t.originLsn = m.originLsn;
          return false;
        case 'insert':
        case 'update':
        case 'delete':
        case 'truncate':
        case 'message': {
          t.changes++;
          const emit = t.changes > t.skip;
          const events = await dataEvents(m, t, lsn, emit);
          if (emit) {
            lsnProc = lsn;
            for (const e of events) out.push(e);
          }
          return out.length >= s.maxBatchSize;
        }
        default:
          return false;
      }
    };

    const commitTx = (commitLsn: Lsn, endLsn: Lsn, commitMicros: bigint): SourceBatch | null => {
      const t = tx as OpenTx;
      if (tracker?.inProgress) out.push(tracker.end(commitMicros / 1000n));
      tx = null;
      resumeLsn = maxLsn(resumeLsn, endLsn);
      lastCommitLsn = commitLsn;
      lastTxId = BigInt(t.xid);
      if (out.length > 0) return batch();
      return null;
    };

    const heartbeatBatch = (walEnd: Lsn): SourceBatch | null => {
      if (!this.heartbeatDue || tx !== null) return null;
      this.heartbeatDue = false;
      resumeLsn = maxLsn(resumeLsn, walEnd);
      out.push(heartbeatEvent(s.topicPrefix, BigInt(Date.now()), { heartbeatPrefix: s.heartbeatTopicPrefix }));
      return batch();
    };

    for (;;) {
      if (this.stopping) return;
      const frame = await stream.next();
      if (frame === null) {
        if (this.stopping) return;
        throw new ConnectionLostError('the replication stream ended unexpectedly');
      }
      if (frame.kind === 'keepalive') {
        if (tx === null && streamingXid === null) {
          const hb = heartbeatBatch(frame.walEnd);
          if (hb) yield hb;
        }
        continue;
      }
      const m = decoder.decode(frame.data);
      const lsn = frame.startLsn;

      // Inside a streamed block: spill (everything but the block markers).
      if (decoder.inStream && m.tag !== 'streamStart') {
        const xid = streamingXid as number;
        const spill = this.spills.get(xid);
        if (!spill) throw new ConnectionLostError(`streamed data for transaction ${xid} without a Stream Start`);
        spill.append(lsn, Buffer.from(frame.data), 'xid' in m ? m.xid : null);
        continue;
      }

      switch (m.tag) {
        case 'begin':
          tx = beginTx(m.xid, m.finalLsn, m.commitMicros);
          break;
        case 'commit': {
          if (!tx) break;
          const b = commitTx(m.commitLsn, m.endLsn, m.commitMicros);
          if (b) yield b;
          else {
            const hb = heartbeatBatch(m.endLsn);
            if (hb) yield hb;
          }
          break;
        }
        case 'streamStart': {
          streamingXid = m.xid;
          if (!this.spills.has(m.xid)) this.spills.set(m.xid, new SpillFile(this.spillDir.fileFor(m.xid), m.xid));
          break;
        }
        case 'streamStop':
          streamingXid = null;
          break;
        case 'streamAbort': {
          const spill = this.spills.get(m.xid);
          if (spill) {
            if (m.subXid === m.xid) {
              spill.discard();
              this.spills.delete(m.xid);
            } else {
              spill.abortSubtransaction(m.subXid);
            }
          }
          break;
        }
        case 'streamCommit': {
          const spill = this.spills.get(m.xid);
          this.spills.delete(m.xid);
          tx = beginTx(m.xid, m.commitLsn, m.commitMicros);
          if (spill) {
            try {
              for await (const rec of spill.replay()) {
                const inner = decodePgOutput(rec.payload, true);
                if (await inTx(inner, rec.lsn)) yield batch();
                if (this.stopping) return;
              }
            } finally {
              spill.discard();
            }
          }
          const b = commitTx(m.commitLsn, m.endLsn, m.commitMicros);
          if (b) yield b;
          break;
        }
        case 'message':
          if (!m.transactional) {
            if (msgLsn !== null && m.lsn <= msgLsn) break;
            if (m.lsn < resumeLsn) break;
            if (this.messageIncluded(m.prefix)) {
              msgLsn = m.lsn;
              out.push(
                messages.event({
                  prefix: m.prefix,
                  content: m.content,
                  source: postgresSource({
                    name: s.topicPrefix,
                    commitMicros: nowMicros(),
                    snapshot: 'false',
                    db: s.database,
                    schema: '',
                    table: '',
                    txId: null,
                    lsn: m.lsn,
                    lastCommitLsn,
                  }),
                  tsMs: BigInt(Date.now()),
                }),
              );
              if (tx === null) yield batch();
            }
            break;
          }
          if (tx && (await inTx(m, lsn))) yield batch();
          break;
        default:
          if (tx) {
            if (await inTx(m, lsn)) yield batch();
          } else if (m.tag === 'relation') {
            await relationFor(m);
          } else if (m.tag === 'type') {
            types.invalidate(m.typeOid);
          }
      }
    }
  }

  private messageIncluded(prefix: string): boolean {
    const s = this.settings;
    if (s.messagePrefixInclude) return s.messagePrefixInclude.some((r) => r.test(prefix));
    if (s.messagePrefixExclude) return !s.messagePrefixExclude.some((r) => r.test(prefix));
    return true;
  }

  private onHeartbeatTick(): void {
    this.heartbeatDue = true;
    const q = this.settings.heartbeatActionQuery;
    if (q && this.meta) {
      const meta = this.meta;
      this.heartbeatQuery = this.heartbeatQuery
        .then(() => meta.query(q))
        .then(
          () => undefined,
          (err: unknown) => this.logger.warn({ err }, 'heartbeat.action.query failed'),
        );
    }
    this.replStream?.requestKeepalive();
  }
}

function emptyOffset(lsn: Lsn): PgOffset {
  return {
    lsn,
    lsnCommit: null,
    lsnProc: null,
    txId: null,
    eventsInTx: 0,
    txState: null,
    msgLsn: null,
    snapshot: null,
    readFilter: null,
  };
}

function newProgress(captured: readonly TableInfo[]): SnapshotProgress {
  return {
    tables: captured.map((t) => `${t.schema}.${t.name}`),
    done: 0,
    last_key: null,
    rows: 0,
    filter: EMPTY_FILTER,
  };
}

