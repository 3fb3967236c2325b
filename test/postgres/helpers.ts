/**
 * Shared pieces of the Postgres source tests: a config for a test server, an admin client, and a fake engine that
 * drives a Source the way the real one does (iterate batches, "commit" them by recording events and offset, then
 * acknowledge).
 */
import pg from 'pg';
import { pino } from 'pino';
import { parseConnectorConfig, type ConnectorConfig } from '../../src/config/connector-config.js';
import type { ChangeEvent, SourceBatch, SourceOffset } from '../../src/events/change-event.js';
import type { StructValue } from '../../src/events/schema.js';
import { PostgresSource } from '../../src/sources/postgres/postgres-source.js';
import type { PostgresInstance } from '../support/postgres.js';

export const quietLogger = pino({ level: process.env['SLUICE_TEST_LOG'] ?? 'silent' });

export function pgConfig(instance: PostgresInstance, overrides: Record<string, unknown> = {}): ConnectorConfig {
  return parseConnectorConfig({
    'connector.class': 'io.debezium.connector.postgresql.PostgresConnector',
    'topic.prefix': 'srv',
    'database.hostname': instance.host,
    'database.port': instance.port,
    'database.user': instance.user,
    'database.password': instance.password,
    'database.dbname': instance.database,
    'heartbeat.interval.ms': 0,
    'skipped.operations': 'none',
    ...overrides,
  });
}

export async function admin(instance: PostgresInstance, database = instance.database): Promise<pg.Client> {
  const c = new pg.Client({ host: instance.host, port: instance.port, user: instance.user, password: instance.password, database });
  await c.connect();
  return c;
}

export interface Committed {
  readonly events: ChangeEvent[];
  readonly batches: SourceBatch[];
  offset: SourceOffset | null;
}

/**
 * Runs `source.stream(start)` like the engine: each batch is "committed" (events appended, offset recorded), then
 * acknowledged when it says so. Stops when `until(committed)` is true (checked after each batch) or after
 * `timeoutMs`. Returns what was committed; the source is stopped.
 */
export async function drive(
  source: PostgresSource,
  start: SourceOffset | null,
  until: (c: Committed) => boolean,
  options: { timeoutMs?: number; into?: Committed; onBatch?: (b: SourceBatch, c: Committed) => void | Promise<void> } = {},
): Promise<Committed> {
  const committed: Committed = options.into ?? { events: [], batches: [], offset: start };
  const timeoutMs = options.timeoutMs ?? 60_000;
  const iterator = source.stream(start)[Symbol.asyncIterator]();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs)));
  try {
    if (until(committed)) return committed;
    for (;;) {
      const next = await Promise.race([iterator.next(), timeout]);
      if (next === 'timeout') throw new Error(`drive: timed out after ${timeoutMs} ms with ${committed.events.length} events`);
      if (next.done) break;
      const b = next.value;
      committed.events.push(...b.events);
      committed.batches.push(b);
      committed.offset = b.offset;
      await options.onBatch?.(b, committed);
      if (b.acknowledgeable) await source.acknowledge(b.offset);
      if (until(committed)) break;
    }
  } finally {
    clearTimeout(timer);
    await source.stop();
    await iterator.return?.(undefined);
  }
  return committed;
}

/** Data change events of a topic (no tombstones, heartbeats, messages). */
export function changes(events: readonly ChangeEvent[], topic?: string): StructValue[] {
  return events
    .filter((e) => e.value !== null && (topic === undefined || e.topic === topic) && typeof (e.value as StructValue)['op'] === 'string')
    .map((e) => e.value as StructValue);
}

export function after(e: StructValue): StructValue {
  return e['after'] as StructValue;
}
export function before(e: StructValue): StructValue {
  return e['before'] as StructValue;
}
export function source(e: StructValue): StructValue {
  return e['source'] as StructValue;
}

export async function slotRow(db: pg.Client, slot: string): Promise<{ confirmed: bigint | null; active: boolean } | null> {
  const r = await db.query<{ cf: string | null; active: boolean }>(
    `SELECT (confirmed_flush_lsn - '0/0')::text AS cf, active FROM pg_replication_slots WHERE slot_name = $1`,
    [slot],
  );
  const row = r.rows[0];
  if (!row) return null;
  return { confirmed: row.cf === null ? null : BigInt(row.cf), active: row.active };
}

export async function waitFor(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export function newSource(config: ConnectorConfig): PostgresSource {
  return new PostgresSource(config, { logger: quietLogger });
}
