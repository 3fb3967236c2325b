import type { Connection } from 'mysql2/promise';
import type { Logger } from 'pino';
import type { ConnectorConfig } from '../../config/connector-config.js';
import type { SourceBatch, SourceOffset } from '../../events/change-event.js';
import { defaultTimePrecisionMode, type TimePrecisionMode } from '../../events/logical.js';
import { sourceSchemaFor } from '../../events/source-info.js';
import { ConfigError, ConnectionLostError, OffsetError, PrerequisiteError, SluiceError } from '../../errors.js';
import { logger as defaultLogger } from '../../observability/logger.js';
import type { Problem, Source } from '../source.js';
import type { MappingOptions } from './columns.js';
import {
  binaryLogs,
  currentGrants,
  mariaDbGtidAt,
  openQueryConnection,
  queryRows,
  serverAddress,
  serverFacts,
  type ServerAddress,
  type ServerFacts,
} from './connection.js';
import { CaptureFilter } from './filters.js';
import { compareFilePos, decodeOffset, type BinlogPosition, type SnapshotState } from './offset.js';
import { SchemaHistory } from './schema-history.js';
import { runSnapshot, type SnapshotLockStrategy, type SnapshotResult } from './snapshot.js';
import { BinlogStreamer, type StreamStart } from './streamer.js';
import { loadTableDefs, type TableDef } from './table-defs.js';
import { checkMySqlEventSettings, checkPrivileges, checkServerSettings } from './validate.js';
import { BinlogClient, type BinlogStartPosition } from './zongji.js';

export interface BinlogSourceDeps {
  readonly logger?: Logger;
  /**
   * Tests only: the snapshot's locking strategy ('global' = FLUSH TABLES WITH READ LOCK, 'tables' = LOCK TABLES on
   * the captured tables for the whole snapshot, 'none' = lock-free), whatever the flavour and grants would choose.
   */
  readonly snapshotLockStrategy?: SnapshotLockStrategy;
}

type SnapshotMode = 'initial' | 'initial_only' | 'no_data' | 'when_needed' | 'always' | 'recovery';

/** Debezium's legacy names: never and schema_only are no_data, schema_only_recovery is recovery. */
export function normaliseSnapshotMode(mode: string): SnapshotMode {
  switch (mode) {
    case 'never':
    case 'schema_only':
      return 'no_data';
    case 'schema_only_recovery':
      return 'recovery';
    default:
      return mode as SnapshotMode;
  }
}

/**
 * The MySQL / MariaDB source: consistent snapshot, then the binlog. See docs/mysql.md.
 *
 *   const source = createBinlogSource(config, { logger });
 *   const problems = await source.validate();
 *   for await (const batch of source.stream(storedOffset)) { ...commit batch.events and batch.offset... }
 */
export function createBinlogSource(config: ConnectorConfig, deps: BinlogSourceDeps = {}): BinlogSource {
  return new BinlogSource(config, deps);
}

export class BinlogSource implements Source {
  readonly connector: 'mysql' | 'mariadb';
  private readonly config: ConnectorConfig;
  private readonly logger: Logger;
  private readonly address: ServerAddress;
  private readonly forceStrategy: SnapshotLockStrategy | undefined;
  private client: BinlogClient | null = null;
  private control: Connection | null = null;
  private snapshotConnection: Connection | null = null;
  private stopped = false;

  constructor(config: ConnectorConfig, deps: BinlogSourceDeps = {}) {
    const kind = config['connector.class'];
    if (kind !== 'mysql' && kind !== 'mariadb') {
      throw new ConfigError(`connector.class ${kind} is not a MySQL or MariaDB connector`);
    }
    this.connector = kind;
    this.config = config;
    this.logger = (deps.logger ?? defaultLogger).child({ connector: kind, name: config['topic.prefix'] });
    this.address = serverAddress(config);
    this.forceStrategy = deps.snapshotLockStrategy;
  }

  private filter(): CaptureFilter {
    return new CaptureFilter(this.config);
  }

  private mapping(): MappingOptions {
    const c = this.config;
    return {
      decimalMode: c['decimal.handling.mode'],
      timeMode: (c['time.precision.mode'] as TimePrecisionMode | undefined) ?? defaultTimePrecisionMode(this.connector),
      binaryMode: c['binary.handling.mode'],
      bigintUnsignedMode: c['bigint.unsigned.handling.mode'],
      warn: (message, context) => this.logger.warn(context, message),
    };
  }

  private lockingMode(): string {
    return String(this.config['snapshot.locking.mode'] ?? 'minimal');
  }

  private async capturedDatabases(conn: Connection, filter: CaptureFilter): Promise<string[]> {
    const rows = await queryRows(conn, 'SELECT SCHEMA_NAME AS db FROM information_schema.SCHEMATA');
    return rows.map((r) => String(r.db)).filter((db) => filter.includesDatabase(db));
  }

  /** Every problem of configuration and server set-up, without changing anything. */
  async validate(): Promise<Problem[]> {
    const problems: Problem[] = [];
    let filter: CaptureFilter;
    try {
      filter = this.filter();
    } catch (err) {
      return [{ severity: 'error', message: (err as Error).message }];
    }
    let conn: Connection;
    try {
      conn = await openQueryConnection(this.address);
    } catch (err) {
      return [{ severity: 'error', message: (err as Error).message }];
    }
    try {
      problems.push(...(await this.serverProblems(conn, await serverFacts(conn), filter)));
      const dbs = await this.capturedDatabases(conn, filter);
      const tables = (await loadTableDefs(conn, { flavor: this.connector, databases: dbs })).filter((d) =>
        filter.includesTable(d.db, d.table),
      );
      if (tables.length === 0) {
        problems.push({
          severity: 'warning',
          message: 'no table matches database.include.list / table.include.list (and their exclude lists): nothing would be captured',
        });
      }
    } catch (err) {
      problems.push({ severity: 'error', message: (err as Error).message });
    } finally {
      await conn.end().catch(() => undefined);
    }
    return problems;
  }

  private async serverProblems(conn: Connection, facts: ServerFacts, filter: CaptureFilter): Promise<Problem[]> {
    const input = {
      connector: this.connector,
      facts,
      replicaServerId: this.config['database.server.id'],
      lockingMode: this.lockingMode(),
      databases: await this.capturedDatabases(conn, filter),
    };
    return [
      ...checkServerSettings(input),
      ...(await checkMySqlEventSettings(conn, facts)),
      ...(await checkPrivileges(conn, input)),
    ];
  }

  stream(offset: SourceOffset | null): AsyncIterable<SourceBatch> {
    return this.run(offset);
  }

  async acknowledge(_offset: SourceOffset): Promise<void> {
    // The binlog needs no confirmation: the server keeps files by expire_logs_days / binlog_expire_logs_seconds.
  }

  async stop(): Promise<void> {
    this.stopped = true;
    const client = this.client;
    this.client = null;
    await client?.stop();
    const control = this.control;
    this.control = null;
    control?.destroy();
    // a snapshot waiting on the server ends with its connection
    this.snapshotConnection?.destroy();
  }

  /** heartbeat.interval.ms > 0: heartbeat records while streaming; heartbeat.action.query runs first each time. */
  private heartbeat() {
    const c = this.config as ConnectorConfig & Record<string, unknown>;
    const interval = Number(c['heartbeat.interval.ms'] ?? 0);
    if (!interval || interval <= 0) return null;
    const query = c['heartbeat.action.query'];
    return {
      intervalMs: interval,
      heartbeatPrefix: String(c['topic.heartbeat.prefix'] ?? c['heartbeat.topics.prefix'] ?? '__debezium-heartbeat'),
      ...(typeof query === 'string' && query.trim() !== ''
        ? {
            action: async () => {
              this.control ??= await openQueryConnection(this.address);
              await this.control.query(query);
            },
          }
        : {}),
    };
  }

  /** Whether the binlog file of `position` is still on the server (SHOW BINARY LOGS). */
  private async positionAvailable(conn: Connection, position: BinlogPosition): Promise<boolean> {
    const logs = await binaryLogs(conn);
    const log = logs.find((l) => l.name === position.file);
    return log !== undefined && position.pos <= log.size;
  }

  private async reloadDefs(what: { tables?: string[]; databases?: string[] }, facts: ServerFacts, filter: CaptureFilter): Promise<TableDef[]> {
    const load = async () => {
      this.control ??= await openQueryConnection(this.address);
      return loadTableDefs(this.control, { flavor: facts.flavor, ...what });
    };
    let defs: TableDef[];
    try {
      defs = await load();
    } catch {
      this.control?.destroy();
      this.control = null;
      defs = await load();
    }
    return defs.filter((d) => filter.includesTable(d.db, d.table));
  }

  private async *run(offset: SourceOffset | null): AsyncGenerator<SourceBatch> {
    // A source may be streamed again after stop() (an engine restart)
    this.stopped = false;
    try {
      yield* this.runInner(offset);
    } catch (err) {
      if (this.stopped) return;
      throw err;
    } finally {
      this.control?.destroy();
      this.control = null;
      this.snapshotConnection?.destroy();
      this.snapshotConnection = null;
    }
  }

  private async *runInner(offset: SourceOffset | null): AsyncGenerator<SourceBatch> {
    const config = this.config;
    const stored = decodeOffset(offset);
    const filter = this.filter();
    const mode = normaliseSnapshotMode(String(config['snapshot.mode']));
    this.control = await openQueryConnection(this.address);
    const ctl = this.control;
    const facts = await serverFacts(ctl);
    const errors = (await this.serverProblems(ctl, facts, filter)).filter((p) => p.severity === 'error');
    if (errors.length > 0) throw new PrerequisiteError(errors[0]!.message, { context: { connector: this.connector } });
    const grants = await currentGrants(ctl);
    const canReload = grants.global.has('RELOAD') || grants.global.has('ALL PRIVILEGES');

    const sourceSchema = sourceSchemaFor(this.connector);
    const history = new SchemaHistory({
      topicPrefix: config['topic.prefix'],
      filter,
      mapping: this.mapping(),
      sourceSchema,
      tombstonesOnDelete: config['tombstones.on.delete'],
      includeUnknownTypes: config['include.unknown.datatypes'],
    });
    const skipped = new Set<string>(
      config['skipped.operations'] === undefined ? ['t'] : config['skipped.operations'].filter((o) => o !== 'none'),
    );

    // What to do: snapshot (fresh or resumed), or stream from the stored position.
    let snapshot: { resume: SnapshotState | null; withData: boolean } | null = null;
    let start: StreamStart | null = null;
    const purged = (position: BinlogPosition) =>
      new OffsetError(
        `the stored binlog position ${position.file}:${position.pos} is no longer on the server (purged; see SHOW BINARY LOGS). ` +
          'Set snapshot.mode=when_needed to take a new snapshot automatically, or delete the stored offset to start over',
        { context: { connector: this.connector, position: { file: position.file, pos: position.pos.toString() } } },
      );
    if (!stored) {
      if (mode === 'recovery') {
        throw new ConfigError('snapshot.mode=recovery rebuilds the schema history for a stored offset, but there is no stored offset');
      }
      snapshot = { resume: null, withData: mode !== 'no_data' };
    } else if (mode === 'always') {
      snapshot = { resume: null, withData: true };
    } else {
      const first = stored.snapshot ? stored.snapshot.epochs[0]! : stored.position;
      if (!(await this.positionAvailable(ctl, first))) {
        if (mode !== 'when_needed') throw purged(first);
        this.logger.warn({ file: first.file, pos: first.pos.toString() }, 'stored position purged: snapshot.mode=when_needed takes a new snapshot');
        snapshot = { resume: null, withData: true };
      } else if (stored.snapshot) {
        snapshot = { resume: stored.snapshot, withData: true };
      } else {
        start = { position: stored.position, rowSkip: stored.rowSkip, filter: stored.filter, transaction: stored.transaction ?? null };
      }
    }

    if (snapshot) {
      const result: SnapshotResult = { position: { file: '', pos: 0n, gtids: null }, filter: null };
      yield* runSnapshot(
        {
          connector: this.connector,
          name: config['topic.prefix'],
          topicPrefix: config['topic.prefix'],
          sourceSchema,
          address: this.address,
          facts,
          history,
          filter,
          includeSchemaChanges: config['include.schema.changes'],
          lockingMode: this.lockingMode() as 'minimal' | 'extended' | 'none',
          canReload,
          maxBatchSize: config['max.batch.size'],
          fetchSize: config['snapshot.fetch.size'],
          logger: this.logger,
          onConnection: (conn) => {
            this.snapshotConnection = conn;
          },
          ...(this.forceStrategy ? { forceStrategy: this.forceStrategy } : {}),
        },
        snapshot.resume,
        snapshot.withData,
        result,
      );
      if (this.stopped || mode === 'initial_only') return;
      start = { position: result.position, rowSkip: 0, filter: result.filter };
    } else {
      for (const def of await this.reloadDefs({ databases: await this.capturedDatabases(ctl, filter) }, facts, filter)) history.set(def);
    }
    if (!start || this.stopped) return;

    let position = start.position;
    if (position.gtids === null && facts.flavor === 'mariadb') {
      position = { ...position, gtids: await mariaDbGtidAt(ctl, position.file, position.pos) };
      start = { ...start, position };
    }
    const resumeBy = resumeMode(config);
    const gtidsOn = facts.flavor === 'mariadb' || (facts.gtidMode ?? '').toUpperCase() === 'ON';
    if (resumeBy === 'gtid' && !gtidsOn) {
      throw new ConfigError(`${RESUME_MODE_PROPERTY}=gtid but the server runs with gtid_mode=${facts.gtidMode ?? 'OFF'}`);
    }
    const useGtid = resumeBy !== 'position' && position.gtids !== null && position.gtids !== '' && gtidsOn;
    const from: BinlogStartPosition = useGtid
      ? { kind: 'gtid', gtids: position.gtids! }
      : { kind: 'file', file: position.file, pos: Number(position.pos) };
    this.logger.info(
      { file: position.file, pos: position.pos.toString(), gtids: position.gtids, rowSkip: start.rowSkip, by: from.kind },
      'streaming the binlog',
    );
    const client = new BinlogClient(this.address);
    this.client = client;
    try {
      await client.start(config['database.server.id'], from);
      const streamer = new BinlogStreamer(
        {
          connector: this.connector,
          flavor: facts.flavor,
          name: config['topic.prefix'],
          topicPrefix: config['topic.prefix'],
          sourceSchema,
          history,
          filter,
          includeSchemaChanges: config['include.schema.changes'],
          skippedOperations: skipped,
          maxBatchSize: config['max.batch.size'],
          transactionMetadata: config['provide.transaction.metadata'],
          heartbeat: this.heartbeat(),
          logger: this.logger,
          reload: (what) => this.reloadDefs(what, facts, filter),
        },
        client,
        start,
        facts.serverId,
      );
      yield* streamer.batches();
    } catch (err) {
      if (this.stopped) return;
      throw mapBinlogError(err, position, this.connector);
    } finally {
      await client.stop();
    }
  }
}

/**
 * Sluice's own knob (not a Debezium property): how the binlog is resumed. `auto` (default) uses the GTID set when
 * the server has GTIDs (always on MariaDB; gtid_mode=ON on MySQL) and file/position otherwise; `position` always
 * uses file/position (same server only); `gtid` requires GTIDs.
 */
export const RESUME_MODE_PROPERTY = 'binlog.resume.mode';

function resumeMode(config: ConnectorConfig): 'auto' | 'gtid' | 'position' {
  const v = String((config as Record<string, unknown>)[RESUME_MODE_PROPERTY] ?? 'auto').toLowerCase();
  if (v !== 'auto' && v !== 'gtid' && v !== 'position') {
    throw new ConfigError(`${RESUME_MODE_PROPERTY} must be auto, gtid or position, not '${v}'`);
  }
  return v;
}

/** Binlog connection errors as typed errors: a purged position is an OffsetError, the rest retriable. */
export function mapBinlogError(err: unknown, position: BinlogPosition, connector: string): Error {
  if (err instanceof SluiceError) return err;
  const e = err as { errno?: number; code?: string; message?: string };
  const context = { connector, position: { file: position.file, pos: position.pos.toString(), gtids: position.gtids } };
  if (e.errno === 1236) {
    return new OffsetError(
      `the server cannot send the binlog from ${position.file}:${position.pos}${position.gtids ? ` (GTIDs ${position.gtids})` : ''}: ${e.message}. ` +
        'If the binlog was purged, set snapshot.mode=when_needed to take a new snapshot',
      { cause: err, context },
    );
  }
  return new ConnectionLostError(`binlog connection failed: ${e.message ?? String(err)}`, { cause: err, context });
}

export { compareFilePos };
