/**
 * Helpers for the MySQL/MariaDB source tests: a connector config for a test server, an admin connection, and a
 * minimal "fake engine" that drives a Source the way the real one does (iterate batches, keep every event and the
 * last offset, stop at a chosen point, start a new Source from the offset).
 */
import mysql, { type Connection } from 'mysql2/promise';
import { parseConnectorConfig, type ConnectorConfig } from '../../src/config/connector-config.js';
import type { ChangeEvent, SourceBatch, SourceOffset } from '../../src/events/change-event.js';
import type { StructValue } from '../../src/events/schema.js';
import { createBinlogSource, type BinlogSource, type BinlogSourceDeps } from '../../src/sources/mysql/index.js';
import type { MariaDbInstance } from '../support/mariadb.js';
import { pino } from 'pino';

export const quietLogger = pino({ level: process.env.SLUICE_TEST_LOG ?? 'silent' });

let nextServerId = 5000;

export function connectorConfig(db: MariaDbInstance, overrides: Record<string, unknown> = {}): ConnectorConfig {
  return parseConnectorConfig({
    'connector.class': 'mariadb',
    'topic.prefix': 'srv',
    'database.hostname': db.host,
    'database.port': db.port,
    'database.user': db.user,
    'database.password': db.password,
    'database.server.id': nextServerId++,
    ...overrides,
  });
}

export async function adminConnection(db: MariaDbInstance, options: mysql.ConnectionOptions = {}): Promise<Connection> {
  return mysql.createConnection({
    host: db.host,
    port: db.port,
    user: db.user,
    password: db.password,
    charset: 'utf8mb4',
    multipleStatements: true,
    dateStrings: true,
    supportBigNumbers: true,
    bigNumberStrings: true,
    ...options,
  });
}

export function source(config: ConnectorConfig, deps: Omit<BinlogSourceDeps, 'logger'> = {}): BinlogSource {
  return createBinlogSource(config, { logger: quietLogger, ...deps });
}

export interface RunResult {
  readonly events: ChangeEvent[];
  readonly batches: SourceBatch[];
  readonly offset: SourceOffset | null;
}

/**
 * Iterates `source.stream(offset)`, recording every batch, until `done(all events so far, last batch)` returns true
 * after a batch (or the stream ends, or `timeoutMs` passes: then it throws). Stops the source afterwards.
 */
export async function drive(
  src: BinlogSource,
  offset: SourceOffset | null,
  done: (events: readonly ChangeEvent[], batch: SourceBatch) => boolean,
  timeoutMs = 30_000,
): Promise<RunResult> {
  const events: ChangeEvent[] = [];
  const batches: SourceBatch[] = [];
  let last = offset;
  const iterator = src.stream(offset)[Symbol.asyncIterator]();
  const timer = setTimeout(() => void src.stop(), timeoutMs);
  let timedOut = false;
  const started = Date.now();
  const TICK = Symbol('tick');
  try {
    let pending: Promise<IteratorResult<SourceBatch>> | null = null;
    for (;;) {
      pending ??= iterator.next();
      const step = await Promise.race([pending, new Promise<typeof TICK>((r) => setTimeout(() => r(TICK), 250))]);
      if (step === TICK) {
        // the condition may depend on the test's own progress (e.g. writers done), not only on new batches
        const lastBatch = batches[batches.length - 1];
        if (lastBatch && done(events, lastBatch)) break;
        if (Date.now() - started >= timeoutMs) {
          timedOut = true;
          break;
        }
        continue;
      }
      pending = null;
      if (step.done) {
        if (Date.now() - started >= timeoutMs) timedOut = true;
        break;
      }
      batches.push(step.value);
      events.push(...step.value.events);
      last = step.value.offset;
      if (done(events, step.value)) break;
    }
  } finally {
    clearTimeout(timer);
    await src.stop();
    await iterator.return?.(undefined);
  }
  const result = { events, batches, offset: last };
  if (timedOut) throw Object.assign(new Error(`timed out after ${timeoutMs} ms with ${events.length} events`), { result });
  return result;
}

export function dataEvents(events: readonly ChangeEvent[], topic?: string): ChangeEvent[] {
  return events.filter((e) => e.value !== null && (topic === undefined ? e.topic.split('.').length === 3 : e.topic === topic));
}

export function after(e: ChangeEvent): StructValue {
  return (e.value as StructValue).after as StructValue;
}

export function before(e: ChangeEvent): StructValue {
  return (e.value as StructValue).before as StructValue;
}

export function op(e: ChangeEvent): string {
  return String((e.value as StructValue).op);
}

export function sourceOf(e: ChangeEvent): StructValue {
  return (e.value as StructValue).source as StructValue;
}

/** JSON with bigints and bytes made comparable. */
export function plain(v: unknown): unknown {
  return JSON.parse(
    JSON.stringify(v, (_k, x: unknown) => {
      if (typeof x === 'bigint') return `${x}n`;
      if (x instanceof Uint8Array) return `hex:${Buffer.from(x).toString('hex')}`;
      if (x !== null && typeof x === 'object' && (x as { type?: string }).type === 'Buffer' && Array.isArray((x as { data?: unknown }).data)) {
        return `hex:${Buffer.from((x as { data: number[] }).data).toString('hex')}`;
      }
      return x;
    }),
  );
}

export function rssMb(): number {
  return Math.round(process.memoryUsage().rss / 1024 / 1024);
}
