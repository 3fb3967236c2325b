/**
 * Each database's part of the benchmarks: the table and its loader, how to capture a start point before a load and
 * resume the connector exactly there, the database's own tools as limits (Postgres decoding its WAL through
 * pg_logical_slot_peek_binary_changes and COPY through psql; mariadb-binlog and mariadb/mariadb-dump), and a
 * rate-limited generator for the latency scenario.
 */
import { spawn } from 'node:child_process';
import { open } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import mysql from 'mysql2/promise';
import pg from 'pg';
import type { SourceOffset } from '../../src/events/change-event.js';
import type { MariaDbInstance } from '../../test/support/mariadb.js';
import type { PostgresInstance } from '../../test/support/postgres.js';
import type { SluiceConfigObject } from './jobs.js';
import type { ShapeSpec } from './workload.js';

export type DbName = 'postgres' | 'mariadb';

/** Where a run starts: captured before the load. */
export interface StartPoint {
  /** the stored offset to hand the engine (MariaDB), or null (Postgres: the run's own slot was created here) */
  readonly offset: SourceOffset | null;
  /** Postgres: slot per purpose (created at the same point); MariaDB: none */
  readonly slots: Readonly<Record<string, string>>;
  /** MariaDB: binlog file and position */
  readonly file?: string;
  readonly pos?: number;
}

export interface ToolRun {
  readonly label: string;
  readonly ms: number;
  readonly bytes?: number;
}

export interface RunConfig {
  readonly name: string;
  readonly prefix: string;
  readonly table: string;
  readonly snapshotMode: 'no_data' | 'initial_only';
  readonly slot?: string;
  readonly kafka: string;
  readonly registry: string;
  /** default 100 (the engine's default) */
  readonly commitIntervalMs?: number;
}

/** Sends one transaction; resolves with the time (performance.now) its commit was acknowledged. */
export type TxSender = (firstId: number, rows: number) => Promise<number>;

export interface Database {
  readonly name: DbName;
  readonly label: string;
  prepare(table: string): Promise<void>;
  /** Captures the point a run starts from (before the load); `purposes` are the runs that need their own slot. */
  capture(table: string, purposes: readonly string[]): Promise<StartPoint>;
  release(point: StartPoint): Promise<void>;
  /** Loads `rows` rows from id `firstId` in transactions of the shape; resolves with the time it took. */
  load(table: string, rows: number, shape: ShapeSpec, firstId?: number): Promise<number>;
  /** The database's own decoding of the same change stream, from the start point. */
  serverDecode(point: StartPoint, table: string): Promise<ToolRun>;
  /** The database's own bulk read of a table to /dev/null. */
  bulkRead(table: string): Promise<ToolRun[]>;
  config(run: RunConfig): SluiceConfigObject;
  topic(prefix: string, table: string): string;
  /** A connection for the latency generator. */
  sender(table: string): Promise<{ send: TxSender; close(): Promise<void> }>;
  dropTable(table: string): Promise<void>;
  close(): Promise<void>;
}

function commonConnector(run: RunConfig): Record<string, unknown> {
  return {
    'topic.prefix': run.prefix,
    'snapshot.mode': run.snapshotMode,
    'key.converter': 'io.confluent.connect.avro.AvroConverter',
    'key.converter.schema.registry.url': run.registry,
    'value.converter': 'io.confluent.connect.avro.AvroConverter',
    'value.converter.schema.registry.url': run.registry,
    ...(run.commitIntervalMs !== undefined ? { 'commit.interval.ms': run.commitIntervalMs } : {}),
  };
}

function kafkaSink(run: RunConfig): Record<string, unknown> {
  return { type: 'kafka', 'bootstrap.servers': run.kafka, 'offsets.topic': `bench-offsets-${run.name}` };
}

/** Runs a command with stdout to /dev/null; resolves with its wall time. */
async function timedToDevNull(file: string, args: readonly string[], env: Record<string, string> = {}): Promise<number> {
  const devnull = await open('/dev/null', 'w');
  try {
    const t0 = performance.now();
    await new Promise<void>((resolve, reject) => {
      const child = spawn(file, args, { stdio: ['ignore', devnull.fd, 'pipe'], env: { ...process.env, ...env } });
      let err = '';
      child.stderr?.setEncoding('utf8');
      child.stderr?.on('data', (d: string) => (err = (err + d).slice(-4000)));
      child.on('error', reject);
      child.on('close', (code, signal) =>
        code === 0 ? resolve() : reject(new Error(`${file} ${args.filter((a) => !a.startsWith('--password')).join(' ')} failed (${signal ?? code}): ${err}`)),
      );
    });
    return performance.now() - t0;
  } finally {
    await devnull.close();
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Postgres

const PG_ROW_SELECT = `SELECT g, (g % 10007)::int, (ARRAY['new','paid','shipped','delivered'])[1 + (g % 4)::int],
  ((g % 100000) / 100.0)::numeric(12,2), 'order ' || g || ' ' || md5(g::text), now()
  FROM generate_series($1::bigint, $2::bigint) g`;

export class PostgresDb implements Database {
  readonly name = 'postgres' as const;
  readonly label: string;
  private constructor(
    private readonly pgi: PostgresInstance,
    private readonly admin: pg.Client,
  ) {
    this.label = `Postgres ${pgi.version}`;
  }

  static async connect(pgi: PostgresInstance): Promise<PostgresDb> {
    const admin = new pg.Client({ host: pgi.host, port: pgi.port, user: pgi.user, password: pgi.password, database: pgi.database });
    await admin.connect();
    await admin.query(`CREATE OR REPLACE PROCEDURE bench_load(tbl text, total bigint, first_id bigint, min_k int, max_k int)
      LANGUAGE plpgsql AS $$
      DECLARE i bigint := 0; k bigint; n bigint := 0;
      BEGIN
        WHILE i < total LOOP
          k := least(min_k + ((n * 7919) % (max_k - min_k + 1)), total - i);
          EXECUTE format('INSERT INTO %I (id, customer_id, status, amount, note, created_at) ${PG_ROW_SELECT.replace(/%/g, '%%').replace(/'/g, "''")}', tbl)
            USING first_id + i, first_id + i + k - 1;
          COMMIT;
          i := i + k; n := n + 1;
        END LOOP;
      END $$`);
    return new PostgresDb(pgi, admin);
  }

  private get url(): string {
    return this.pgi.url;
  }

  async prepare(table: string): Promise<void> {
    await this.admin.query(`DROP TABLE IF EXISTS ${table}`);
    await this.admin.query(`CREATE TABLE ${table} (
      id bigint PRIMARY KEY, customer_id integer NOT NULL, status varchar(16) NOT NULL, amount numeric(12,2) NOT NULL,
      note text, created_at timestamptz NOT NULL DEFAULT now())`);
    await this.admin.query(`DROP PUBLICATION IF EXISTS ${table}_pub`);
    await this.admin.query(`CREATE PUBLICATION ${table}_pub FOR TABLE ${table}`);
  }

  async capture(table: string, purposes: readonly string[]): Promise<StartPoint> {
    const slots: Record<string, string> = {};
    for (const p of purposes) {
      const slot = `${table}_${p}`.toLowerCase();
      await this.admin.query(`SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1`, [slot]);
      await this.admin.query(`SELECT pg_create_logical_replication_slot($1, 'pgoutput')`, [slot]);
      slots[p] = slot;
    }
    return { offset: null, slots };
  }

  async release(point: StartPoint): Promise<void> {
    for (const slot of Object.values(point.slots)) {
      for (let i = 0; i < 100; i++) {
        const r = await this.admin.query<{ active: boolean }>('SELECT active FROM pg_replication_slots WHERE slot_name = $1', [slot]);
        const row = r.rows[0];
        if (!row) break;
        if (!row.active) {
          await this.admin.query('SELECT pg_drop_replication_slot($1)', [slot]);
          break;
        }
        await new Promise((res) => setTimeout(res, 100));
      }
    }
  }

  async load(table: string, rows: number, shape: ShapeSpec, firstId = 1): Promise<number> {
    const t0 = performance.now();
    if (shape.minTx >= rows) {
      // one transaction: a plain INSERT ... SELECT (the procedure would do the same)
      await this.admin.query(`INSERT INTO ${table} (id, customer_id, status, amount, note, created_at) ${PG_ROW_SELECT}`, [firstId, firstId + rows - 1]);
    } else {
      await this.admin.query('CALL bench_load($1, $2, $3, $4, $5)', [table, rows, firstId, shape.minTx, shape.maxTx]);
    }
    return performance.now() - t0;
  }

  async serverDecode(point: StartPoint, table: string): Promise<ToolRun> {
    const slot = point.slots['server'];
    if (!slot) throw new Error('no server-decode slot captured');
    const version = this.pgi.version;
    // the options the source streams with (src/sources/postgres/postgres-source.ts: streamPhase)
    const options = ['proto_version', version >= 14 ? '2' : '1', 'publication_names', `${table}_pub`];
    if (version >= 14) options.push('messages', 'true', 'streaming', 'on');
    const placeholders = options.map((_, i) => `$${i + 2}`).join(', ');
    const t0 = performance.now();
    await this.admin.query(`SELECT count(*) FROM pg_logical_slot_peek_binary_changes($1, NULL, NULL, ${placeholders})`, [slot, ...options]);
    return { label: 'pg_logical_slot_peek_binary_changes (pgoutput)', ms: performance.now() - t0 };
  }

  async bulkRead(table: string): Promise<ToolRun[]> {
    const ms = await timedToDevNull('psql', [this.url, '-X', '-q', '-c', `COPY ${table} TO STDOUT`]);
    return [{ label: 'psql -c "COPY … TO STDOUT" > /dev/null', ms }];
  }

  config(run: RunConfig): SluiceConfigObject {
    return {
      connectors: [
        {
          name: run.name,
          config: {
            'connector.class': 'io.debezium.connector.postgresql.PostgresConnector',
            'database.hostname': this.pgi.host,
            'database.port': this.pgi.port,
            'database.user': this.pgi.user,
            'database.password': this.pgi.password,
            'database.dbname': this.pgi.database,
            'table.include.list': `public.${run.table}`,
            'publication.name': `${run.table}_pub`,
            'publication.autocreate.mode': 'disabled',
            'slot.name': run.slot ?? `${run.table}_snap`.toLowerCase(),
            ...commonConnector(run),
          },
        },
      ],
      sink: kafkaSink(run),
    };
  }

  topic(prefix: string, table: string): string {
    return `${prefix}.public.${table}`;
  }

  async sender(table: string): Promise<{ send: TxSender; close(): Promise<void> }> {
    const c = new pg.Client({ host: this.pgi.host, port: this.pgi.port, user: this.pgi.user, password: this.pgi.password, database: this.pgi.database });
    await c.connect();
    // The test server runs with synchronous_commit=off, where a commit returns before its WAL is flushed and the
    // walsender sends nothing until the WAL writer flushes it (wal_writer_delay, 200 ms): latency would measure
    // that. Production servers commit synchronously; so does this session.
    await c.query('SET synchronous_commit = on');
    const sql = `INSERT INTO ${table} (id, customer_id, status, amount, note, created_at) ${PG_ROW_SELECT}`;
    return {
      send: async (firstId, rows) => {
        await c.query(sql, [firstId, firstId + rows - 1]);
        return performance.now();
      },
      close: () => c.end(),
    };
  }

  async dropTable(table: string): Promise<void> {
    await this.admin.query(`DROP PUBLICATION IF EXISTS ${table}_pub`);
    await this.admin.query(`DROP TABLE IF EXISTS ${table}`);
  }

  async close(): Promise<void> {
    await this.admin.end();
  }
}

// ---------------------------------------------------------------------------------------------------------------
// MariaDB

function mariaRowSelect(maxK: number): string {
  return `SELECT x.id, x.id MOD 10007, ELT(1 + (x.id MOD 4), 'new', 'paid', 'shipped', 'delivered'), (x.id MOD 100000) / 100,
    CONCAT('order ', x.id, ' ', MD5(x.id)), NOW(6) FROM (SELECT ? + seq AS id FROM seq_0_to_${Math.max(1, maxK - 1)} WHERE seq < ?) x`;
}

export class MariaDb implements Database {
  readonly name = 'mariadb' as const;
  readonly label: string;
  private constructor(
    private readonly mdb: MariaDbInstance,
    private readonly admin: mysql.Connection,
  ) {
    this.label = `MariaDB ${mdb.version.replace(/-.*/, '')}`;
  }

  static async connect(mdb: MariaDbInstance): Promise<MariaDb> {
    const admin = await mysql.createConnection({ host: mdb.host, port: mdb.port, user: mdb.user, password: mdb.password, database: mdb.database });
    await admin.query('DROP PROCEDURE IF EXISTS bench_load');
    await admin.query(`CREATE PROCEDURE bench_load(IN tbl VARCHAR(64), IN total BIGINT, IN first_id BIGINT, IN min_k INT, IN max_k INT)
      BEGIN
        DECLARE i BIGINT DEFAULT 0;
        DECLARE n BIGINT DEFAULT 0;
        SET @bench_sql = CONCAT('INSERT INTO ', tbl, ' (id, customer_id, status, amount, note, created_at) ',
          REPLACE(${mysql.escape(mariaRowSelect(0))}, 'seq_0_to_1', CONCAT('seq_0_to_', GREATEST(1, max_k - 1))));
        PREPARE bench_stmt FROM @bench_sql;
        WHILE i < total DO
          SET @bench_k = LEAST(min_k + MOD(n * 7919, max_k - min_k + 1), total - i);
          SET @bench_first = first_id + i;
          START TRANSACTION;
          EXECUTE bench_stmt USING @bench_first, @bench_k;
          COMMIT;
          SET i = i + @bench_k;
          SET n = n + 1;
        END WHILE;
        DEALLOCATE PREPARE bench_stmt;
      END`);
    return new MariaDb(mdb, admin);
  }

  async prepare(table: string): Promise<void> {
    await this.admin.query(`DROP TABLE IF EXISTS ${table}`);
    await this.admin.query(`CREATE TABLE ${table} (
      id BIGINT PRIMARY KEY, customer_id INT NOT NULL, status VARCHAR(16) NOT NULL, amount DECIMAL(12,2) NOT NULL,
      note VARCHAR(100), created_at DATETIME(6) NOT NULL) ENGINE=InnoDB`);
  }

  async capture(): Promise<StartPoint> {
    const [rows] = await this.admin.query<mysql.RowDataPacket[]>('SHOW MASTER STATUS');
    const st = rows[0];
    if (!st) throw new Error('SHOW MASTER STATUS returned nothing: is the binary log on?');
    const file = String(st['File']);
    const pos = Number(st['Position']);
    const [g] = await this.admin.query<mysql.RowDataPacket[]>('SELECT @@gtid_binlog_pos AS g');
    const gtids = String(g[0]?.['g'] ?? '');
    return { offset: { connector: 'mariadb', file, pos: String(pos), gtids: gtids === '' ? null : gtids, row_skip: 0 }, slots: {}, file, pos };
  }

  async release(): Promise<void> {}

  async load(table: string, rows: number, shape: ShapeSpec, firstId = 1): Promise<number> {
    const t0 = performance.now();
    if (shape.minTx >= rows) {
      await this.admin.query('START TRANSACTION');
      // in slices of 100k rows (one INSERT ... SELECT of a million rows is slow in MariaDB), one transaction
      for (let i = 0; i < rows; i += 100_000) {
        const k = Math.min(100_000, rows - i);
        await this.admin.query(`INSERT INTO ${table} (id, customer_id, status, amount, note, created_at) ${mariaRowSelect(100_000)}`, [firstId + i, k]);
      }
      await this.admin.query('COMMIT');
    } else {
      await this.admin.query('CALL bench_load(?, ?, ?, ?, ?)', [table, rows, firstId, shape.minTx, shape.maxTx]);
    }
    return performance.now() - t0;
  }

  private clientArgs(): string[] {
    return [`--host=${this.mdb.host}`, `--port=${this.mdb.port}`, `--user=${this.mdb.user}`];
  }

  async serverDecode(point: StartPoint): Promise<ToolRun> {
    if (point.file === undefined || point.pos === undefined) throw new Error('no binlog position captured');
    const ms = await timedToDevNull(
      'mariadb-binlog',
      ['--read-from-remote-server', ...this.clientArgs(), '-v', `--start-position=${point.pos}`, '--to-last-log', point.file],
      { MYSQL_PWD: this.mdb.password },
    );
    return { label: 'mariadb-binlog --read-from-remote-server -v > /dev/null', ms };
  }

  async bulkRead(table: string): Promise<ToolRun[]> {
    const env = { MYSQL_PWD: this.mdb.password };
    const select = await timedToDevNull('mariadb', [...this.clientArgs(), '--quick', '--batch', '-e', `SELECT * FROM ${this.mdb.database}.${table}`], env);
    const dump = await timedToDevNull('mariadb-dump', [...this.clientArgs(), '--quick', '--single-transaction', '--skip-lock-tables', this.mdb.database, table], env);
    return [
      { label: 'mariadb --quick -e "SELECT * …" > /dev/null', ms: select },
      { label: 'mariadb-dump --quick --single-transaction > /dev/null', ms: dump },
    ];
  }

  config(run: RunConfig): SluiceConfigObject {
    return {
      connectors: [
        {
          name: run.name,
          config: {
            'connector.class': 'io.debezium.connector.mariadb.MariaDbConnector',
            'database.hostname': this.mdb.host,
            'database.port': this.mdb.port,
            'database.user': this.mdb.user,
            'database.password': this.mdb.password,
            'database.server.id': 5000 + Math.floor(Math.random() * 100000),
            'database.include.list': this.mdb.database,
            'table.include.list': `${this.mdb.database}.${run.table}`,
            ...commonConnector(run),
          },
        },
      ],
      sink: kafkaSink(run),
    };
  }

  topic(prefix: string, table: string): string {
    return `${prefix}.${this.mdb.database}.${table}`;
  }

  async sender(table: string): Promise<{ send: TxSender; close(): Promise<void> }> {
    const c = await mysql.createConnection({ host: this.mdb.host, port: this.mdb.port, user: this.mdb.user, password: this.mdb.password, database: this.mdb.database });
    const sql = `INSERT INTO ${table} (id, customer_id, status, amount, note, created_at) ${mariaRowSelect(1000)}`;
    return {
      send: async (firstId, rows) => {
        await c.query(sql, [firstId, rows]);
        return performance.now();
      },
      close: () => c.end(),
    };
  }

  async dropTable(table: string): Promise<void> {
    await this.admin.query(`DROP TABLE IF EXISTS ${table}`);
  }

  async close(): Promise<void> {
    await this.admin.end();
  }
}
