import ZongJi, { type AnyBinlogEvent, type TableMapEntry } from '@vlasky/zongji';
import type { BinlogColumnInfo } from './table-defs.js';

/**
 * The binlog client: `@vlasky/zongji` 0.9.0 (pinned) on mysql2, with two corrections applied to its TABLE_MAP
 * decoding and an event queue with back-pressure. What zongji does and where Sluice works around it:
 *
 * - Rows are decoded from the TABLE_MAP's own metadata when the server writes `binlog_row_metadata=FULL` (required
 *   by Sluice), so replay across an ALTER TABLE decodes every event with the columns it was written with.
 * - MariaDB counts GEOMETRY columns among the character columns of the TABLE_MAP charset lists; zongji does not, so
 *   every text/binary column after a geometry column got its neighbour's charset (a CHAR decoded as BINARY and the
 *   other way round, JSON text as bytes). `_readOptionalMetadata` is wrapped to recompute the charsets.
 * - zongji parses GEOMETRY into {x, y} objects, dropping the SRID and everything but points: geometry columns are
 *   re-typed as BLOB after the TABLE_MAP is read, so their raw value (4-byte SRID + WKB) comes through.
 * - The TABLE_MAP null bitmap is kept (zongji skips it) so binlog-only table versions know their NOT NULL columns.
 * - `dateStrings` keeps DATETIME/TIME/DATE/TIMESTAMP as exact strings (microseconds intact, no process time zone
 *   shift), `timezone: 'Z'` renders TIMESTAMP in UTC; BIGINT (number or string) and FLOAT (widened to double) are
 *   normalised by the type mapping (columns.ts).
 * - zongji emits events as fast as the socket delivers them; the queue pauses the mysql2 connection above a high
 *   water mark and resumes it below a low one, so a huge transaction never piles up in memory.
 */

const MYSQL_TYPE_GEOMETRY = 255;
const MYSQL_TYPE_BLOB = 252;
const CHARACTER_TYPES = new Set([15, 253, 254, 252, 249, 250, 251, 140, 141]);
const ENUM = 247;
const SET = 248;

interface Parser {
  _buffer: Buffer;
  _offset: number;
  _packetEnd: number;
}

interface PatchedTableMap {
  tableId: number;
  columnCount: number;
  columnTypes: number[];
  columnsMetadata: (Record<string, unknown> | undefined)[];
  tableMap: Record<number, TableMapEntry>;
  _columnCharsetIds?: (number | undefined)[];
  _sluiceNullable?: boolean[];
}

interface TableMapClass {
  prototype: {
    _readOptionalMetadata(this: PatchedTableMap, parser: Parser, zongji: { useChecksum: boolean; isMariaDb: boolean }): void;
    updateColumnInfo(this: PatchedTableMap): void;
  };
}

let patched: Promise<void> | null = null;

/** Applies the TABLE_MAP corrections to zongji's event classes (once per process). */
export function patchZongji(): Promise<void> {
  patched ??= (async () => {
    const url = new URL('./lib/binlog_event.js', import.meta.resolve('@vlasky/zongji'));
    const mod = (await import(url.href)) as { TableMap: TableMapClass };
    const proto = mod.TableMap.prototype;
    const originalRead = proto._readOptionalMetadata;
    proto._readOptionalMetadata = function (parser, zongji) {
      const start = parser._offset;
      const nullBytes = Math.floor((this.columnCount + 7) / 8);
      const nullable: boolean[] = [];
      for (let i = 0; i < this.columnCount; i++) {
        const byte = parser._buffer[start + (i >> 3)] ?? 0;
        nullable.push((byte & (1 << (i & 7))) !== 0);
      }
      this._sluiceNullable = nullable;
      originalRead.call(this, parser, zongji);
      try {
        const end = parser._packetEnd - (zongji.useChecksum ? 4 : 0);
        const fixed = readCharsets(this, parser._buffer, start + nullBytes, end, zongji.isMariaDb);
        if (fixed) this._columnCharsetIds = fixed;
      } catch {
        // leave zongji's reading in place
      }
    };
    const originalUpdate = proto.updateColumnInfo;
    proto.updateColumnInfo = function () {
      originalUpdate.call(this);
      const entry = this.tableMap[this.tableId];
      for (const column of entry?.columns ?? []) {
        if (column.type === MYSQL_TYPE_GEOMETRY) {
          column.type = MYSQL_TYPE_BLOB;
          column.charset = null;
        }
      }
    };
  })();
  return patched;
}

function lengthCoded(buf: Buffer, at: number): [number, number] {
  const first = buf[at]!;
  if (first < 0xfb) return [first, at + 1];
  if (first === 0xfc) return [buf.readUInt16LE(at + 1), at + 3];
  if (first === 0xfd) return [buf.readUIntLE(at + 1, 3), at + 4];
  return [Number(buf.readBigUInt64LE(at + 1)), at + 9];
}

/**
 * The collation id of every character column, from the DEFAULT_CHARSET (2) / COLUMN_CHARSET (3) fields of the
 * optional metadata. MariaDB lists GEOMETRY columns among the character columns (with the binary collation).
 */
function readCharsets(
  ev: PatchedTableMap,
  buf: Buffer,
  from: number,
  end: number,
  isMariaDb: boolean,
): (number | undefined)[] | null {
  const effective = (i: number): number => {
    const meta = ev.columnsMetadata[i];
    const t = meta && typeof meta.type === 'number' ? meta.type : ev.columnTypes[i]!;
    return t;
  };
  const textColumns: number[] = [];
  const withGeometry: number[] = [];
  for (let i = 0; i < ev.columnCount; i++) {
    const t = effective(i);
    if (t === ENUM || t === SET) continue;
    if (CHARACTER_TYPES.has(t)) {
      textColumns.push(i);
      withGeometry.push(i);
    } else if (t === MYSQL_TYPE_GEOMETRY) {
      withGeometry.push(i);
    }
  }
  const result = ev._columnCharsetIds ? [...ev._columnCharsetIds] : new Array<number | undefined>(ev.columnCount);
  let at = from;
  let touched = false;
  while (at < end) {
    const type = buf[at]!;
    const [length, valueAt] = lengthCoded(buf, at + 1);
    const fieldEnd = valueAt + length;
    if (type === 2 || type === 3) {
      const values: number[] = [];
      let p = valueAt;
      while (p < fieldEnd) {
        const [v, next] = lengthCoded(buf, p);
        values.push(v);
        p = next;
      }
      let columns: number[];
      if (type === 3) {
        columns = values.length === withGeometry.length && values.length !== textColumns.length ? withGeometry : textColumns;
      } else {
        columns = isMariaDb ? withGeometry : textColumns;
      }
      if (type === 2) {
        const [dflt, ...pairs] = values;
        for (const c of columns) result[c] = dflt;
        for (let k = 0; k + 1 < pairs.length; k += 2) {
          const c = columns[pairs[k]!];
          if (c !== undefined) result[c] = pairs[k + 1];
        }
      } else {
        values.forEach((v, k) => {
          const c = columns[k];
          if (c !== undefined) result[c] = v;
        });
      }
      touched = true;
    }
    at = fieldEnd;
  }
  return touched ? result : null;
}

/** The columns of a TABLE_MAP event as the type mapping needs them. */
export function tableMapColumns(zongji: ZongJi, event: { tableId: number }): BinlogColumnInfo[] | null {
  const entry = zongji.tableMap[event.tableId];
  if (!entry) return null;
  const nullable = (event as unknown as PatchedTableMap)._sluiceNullable;
  return entry.columnSchemas.map((c, i) => ({
    name: c.COLUMN_NAME,
    columnType: c.COLUMN_TYPE,
    charset: c.CHARACTER_SET_NAME,
    unsigned: c.UNSIGNED,
    members: c.ENUM_VALUES ?? c.SET_VALUES,
    nullable: nullable?.[i],
  }));
}

export interface BinlogConnectionOptions {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
}

export type BinlogStartPosition =
  | { readonly kind: 'file'; readonly file: string; readonly pos: number }
  | { readonly kind: 'gtid'; readonly gtids: string };

const HIGH_WATER = 256;
const LOW_WATER = 64;

/**
 * One binlog dump connection as a pull-based queue. `next()` resolves with the next event (or null once stopped)
 * and rejects with the connection's error.
 */
export class BinlogClient {
  readonly zongji: ZongJi;
  private readonly queue: AnyBinlogEvent[] = [];
  private head = 0;
  private waiter: { resolve: (e: AnyBinlogEvent | null) => void; reject: (e: unknown) => void } | null = null;
  private error: unknown = null;
  private stopped = false;
  private paused = false;

  constructor(connection: BinlogConnectionOptions) {
    this.zongji = new ZongJi({
      host: connection.host,
      port: connection.port,
      user: connection.user,
      password: connection.password,
      dateStrings: true,
      timezone: 'Z',
      jsonStrings: true,
      supportBigNumbers: true,
      bigNumberStrings: true,
    });
    this.zongji.on('binlog', (event: AnyBinlogEvent) => this.push(event));
    this.zongji.on('error', (err: Error) => this.fail(err));
  }

  /** Starts the dump; resolves once zongji is ready (the dump request is then on its way). */
  async start(serverId: number, position: BinlogStartPosition): Promise<void> {
    await patchZongji();
    await new Promise<void>((resolve, reject) => {
      const onReady = () => {
        this.zongji.off('error', onError);
        resolve();
      };
      const onError = (err: Error) => {
        this.zongji.off('ready', onReady);
        reject(err);
      };
      this.zongji.once('ready', onReady);
      this.zongji.once('error', onError);
      this.zongji.start(
        position.kind === 'gtid'
          ? { serverId, gtidSet: position.gtids }
          : { serverId, filename: position.file, position: position.pos },
      );
    });
  }

  private push(event: AnyBinlogEvent): void {
    if (this.stopped) return;
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = null;
      w.resolve(event);
      return;
    }
    this.queue.push(event);
    if (!this.paused && this.queue.length - this.head >= HIGH_WATER && this.zongji.connection) {
      this.paused = true;
      this.zongji.connection.pause();
    }
  }

  private fail(err: unknown): void {
    if (this.stopped) return;
    this.error ??= err;
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = null;
      w.reject(err);
    }
  }

  /** The next event if one is already queued (no waiting). */
  poll(): AnyBinlogEvent | undefined {
    if (this.head >= this.queue.length) return undefined;
    const event = this.queue[this.head]!;
    this.queue[this.head] = undefined as unknown as AnyBinlogEvent;
    this.head++;
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
    if (this.paused && this.queue.length - this.head <= LOW_WATER) {
      this.paused = false;
      this.zongji.connection?.resume();
    }
    return event;
  }

  next(): Promise<AnyBinlogEvent | null> {
    const queued = this.poll();
    if (queued) return Promise.resolve(queued);
    if (this.error) return Promise.reject(this.error);
    if (this.stopped) return Promise.resolve(null);
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
    });
  }

  get pending(): number {
    return this.queue.length - this.head;
  }

  stop(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    this.stopped = true;
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = null;
      w.resolve(null);
    }
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, 2000);
      this.zongji.once('stopped', () => {
        clearTimeout(timer);
        resolve();
      });
      try {
        this.zongji.stop();
      } catch {
        clearTimeout(timer);
        resolve();
      }
    });
  }
}
