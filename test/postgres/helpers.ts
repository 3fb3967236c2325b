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
  /** events seen (kept or not) */
  count?: number;
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
  options: {
    timeoutMs?: number;
    into?: Committed;
    onBatch?: (b: SourceBatch, c: Committed) => void | Promise<void>;
    /** false: count events but do not keep them (memory tests) */
    keepEvents?: boolean;
    /** acknowledge acknowledgeable batches (default true) */
    acknowledge?: boolean;
  } = {},
): Promise<Committed> {
  const committed: Committed = options.into ?? { events: [], batches: [], offset: start };
  const timeoutMs = options.timeoutMs ?? 60_000;
  const iterator = source.stream(start)[Symbol.asyncIterator]();
  // No Promise.race against a long-lived timeout promise: every race would leave a reaction on it that keeps the
  // resolved batch alive. On timeout the source is stopped, which ends the iterator.
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    void source.stop();
  }, timeoutMs);
  try {
    if (until(committed)) return committed;
    for (;;) {
      const next = await iterator.next();
      if (timedOut) throw new Error(`drive: timed out after ${timeoutMs} ms with ${committed.count ?? committed.events.length} events`);
      if (next.done) break;
      const b = next.value;
      if (options.keepEvents !== false) {
        committed.events.push(...b.events);
        committed.batches.push(b);
      } else {
        committed.batches.push({ events: [], offset: b.offset, ...(b.acknowledgeable === undefined ? {} : { acknowledgeable: b.acknowledgeable }) });
        if (committed.batches.length > 100) committed.batches.splice(0, committed.batches.length - 100);
      }
      committed.count = (committed.count ?? 0) + b.events.length;
      committed.offset = b.offset;
      await options.onBatch?.(b, committed);
      if (b.acknowledgeable && options.acknowledge !== false) await source.acknowledge(b.offset);
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

/**
 * Applies change events in order to a model of the table, strictly: a read or create of a key already present, an
 * update or delete of a key absent, or an update whose `v` is not the previous `v` + 1 is a duplicate or a loss,
 * and throws. Returns the rows by key (JSON of the key struct).
 */
export function strictReplay(events: readonly ChangeEvent[], topic: string): Map<string, StructValue> {
  const state = new Map<string, StructValue>();
  const k = (row: StructValue): string => String(row['id']);
  for (const e of events) {
    if (e.topic !== topic || e.value === null) continue;
    const v = e.value as StructValue;
    const op = v['op'];
    const b = v['before'] as StructValue | null;
    const a = v['after'] as StructValue | null;
    const where = `${String(op)} ${JSON.stringify(a ?? b, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x))}`;
    switch (op) {
      case 'r':
      case 'c':
        if (state.has(k(a!))) throw new Error(`duplicate ${where}: key already present`);
        state.set(k(a!), a!);
        break;
      case 'u': {
        const prev = state.get(k(a!));
        if (!prev) throw new Error(`update of a missing row: ${where}`);
        if ('v' in a! && Number(a!['v']) !== Number(prev['v']) + 1) {
          throw new Error(`update ${where} does not follow v=${String(prev['v'])}: lost or doubled update`);
        }
        state.set(k(a!), a!);
        break;
      }
      case 'd':
        if (!state.has(k(b!))) throw new Error(`delete of a missing row: ${where}`);
        state.delete(k(b!));
        break;
      case 't':
        state.clear();
        break;
    }
  }
  return state;
}
