/**
 * The scenarios: streaming throughput with its limits, memory (one huge transaction), commit-to-visible latency at
 * a steady rate, and the initial snapshot. Each measured run is a child process (lib/child.ts).
 */
import { performance } from 'node:perf_hooks';
import { join } from 'node:path';
import { readdirSync } from 'node:fs';
import type { Database, StartPoint, ToolRun } from './databases.js';
import { runChild, startChild } from './child.js';
import type { EngineJob, JobResult, ReaderJob } from './jobs.js';
import { ArrivalRecorder, createTopic, generate, percentile } from './latency.js';
import { loadAverage } from './machine.js';
import { summariseProfile, type ProfileSummary } from './profile.js';
import { describeShape, shapeSpec, transactionCount, type Shape } from './workload.js';
import { rate } from './format.js';

export interface Options {
  readonly rows: number;
  readonly snapshotRows: number;
  readonly largeTxRows: number;
  readonly latencySeconds: number;
  readonly latencyWarmupSeconds: number;
  readonly latencyRate: number;
  readonly latencyTxRows: number;
  /** commit.interval.ms values to measure latency with (the first is the default config's) */
  readonly latencyCommitIntervals: readonly number[];
  /** 'auto': profile a run that falls short of its target; 'always'; 'never' */
  readonly profile: 'auto' | 'always' | 'never';
  readonly profileRows: number;
  readonly resultsDir: string;
  readonly kafka: string;
  readonly registry: string;
  readonly runTag: string;
  readonly log: (line: string) => void;
}

/** A measured run, as stored in the JSON. */
export interface Measured {
  readonly ok: boolean;
  readonly error?: string;
  readonly events: number;
  readonly ms: number;
  readonly eventsPerS: number;
  readonly cpuS: number;
  readonly cpuSPerMillion: number;
  readonly maxRssMB: number;
  readonly loadAverage: readonly number[];
  readonly detail?: JobResult;
}

function measured(r: JobResult): Measured {
  const cpuS = (r.cpuUserMs + r.cpuSystemMs) / 1000;
  return {
    ok: r.ok,
    ...(r.error ? { error: r.error } : {}),
    events: r.events,
    ms: r.wallMs,
    eventsPerS: rate(r.events, r.wallMs),
    cpuS,
    // per million events in the steady part of the run (from the first event on: no start-up, no module loading)
    cpuSPerMillion:
      r.steadyEvents !== undefined && r.steadyEvents > 0 && r.steadyCpuMs !== undefined
        ? (r.steadyCpuMs / 1000 / r.steadyEvents) * 1e6
        : r.events > 0
          ? (cpuS * 1e6) / r.events
          : 0,
    maxRssMB: Math.max(r.maxRssMB, r.sampledPeakRssMB),
    loadAverage: loadAverage(),
    detail: r,
  };
}

function tool(t: ToolRun, events: number): { label: string; ms: number; eventsPerS: number; loadAverage: readonly number[] } {
  return { label: t.label, ms: t.ms, eventsPerS: rate(events, t.ms), loadAverage: loadAverage() };
}

export interface ThroughputResult {
  readonly db: string;
  readonly dbLabel: string;
  readonly shape: Shape;
  readonly shapeLabel: string;
  readonly rows: number;
  readonly transactions: number;
  readonly loadMs: number;
  readonly endToEnd: Measured;
  readonly reader: Measured | null;
  readonly serverDecode: ReturnType<typeof tool> | null;
  readonly producer: Measured | null;
  readonly kafkaSink: Measured | null;
  /** the memory run again with the V8 heap capped (CAPPED_HEAP_FLAGS): does the live data fit? */
  readonly cappedHeap: Measured | null;
  readonly profile: ProfileSummary | null;
}

/**
 * For the memory run: the same end-to-end run with V8's heap capped. If it completes at about the same rate with
 * a much lower RSS, the uncapped peak is heap growth (garbage not yet collected), not data the pipeline holds.
 */
export const CAPPED_HEAP_FLAGS = ['--max-old-space-size=160', '--max-semi-space-size=8'] as const;

export interface LatencyResult {
  readonly db: string;
  readonly dbLabel: string;
  readonly commitIntervalMs: number;
  readonly targetRate: number;
  readonly achievedRate: number;
  readonly txRows: number;
  readonly samples: number;
  readonly missing: number;
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  readonly max: number;
  readonly lateTicks: number;
  readonly engine: Measured;
  readonly loadAverage: readonly number[];
}

export interface SnapshotResult {
  readonly db: string;
  readonly dbLabel: string;
  readonly rows: number;
  readonly endToEnd: Measured;
  readonly reader: Measured | null;
  readonly tools: ReadonlyArray<ReturnType<typeof tool>>;
  readonly profile: ProfileSummary | null;
}

function timeoutFor(events: number): number {
  // generous: 2,500 events/s at worst, never less than 3 minutes
  return Math.max(180_000, Math.round((events / 2500) * 1000));
}

function engineJob(db: Database, o: Options, name: string, table: string, point: StartPoint | null, slot: string | undefined, expected: number | null, snapshot = false, commitIntervalMs?: number): EngineJob {
  const prefix = name.replace(/[^A-Za-z0-9_-]/g, '_');
  return {
    kind: 'engine',
    config: db.config({
      name,
      prefix,
      table,
      snapshotMode: snapshot ? 'initial_only' : 'no_data',
      ...(slot ? { slot } : {}),
      kafka: o.kafka,
      registry: o.registry,
      ...(commitIntervalMs !== undefined ? { commitIntervalMs } : {}),
    }),
    startOffset: point?.offset ?? null,
    countTopic: db.topic(prefix, table),
    expected,
    timeoutMs: timeoutFor(expected ?? o.rows),
  };
}

function readerJob(db: Database, o: Options, name: string, table: string, point: StartPoint | null, slot: string | undefined, expected: number, snapshot = false): ReaderJob {
  const e = engineJob(db, o, name, table, point, slot, expected, snapshot);
  return { kind: 'reader', config: e.config, startOffset: e.startOffset, countTopic: e.countTopic, expected, timeoutMs: e.timeoutMs };
}

function describe(m: Measured): string {
  if (!m.ok) return `FAILED: ${m.error?.split('\n')[0] ?? '?'}`;
  const q = m.detail?.maxQueuedFrames;
  return (
    `${Math.round(m.eventsPerS).toLocaleString('en-US')} ev/s (${m.events.toLocaleString('en-US')} in ${(m.ms / 1000).toFixed(1)} s, CPU ${m.cpuS.toFixed(1)} s, peak RSS ${Math.round(m.maxRssMB)} MB` +
    (q !== undefined ? `, up to ${q.toLocaleString('en-US')} replication frames queued` : '') +
    ')'
  );
}

/** The CPU profile of an engine run on the same data (its own slot / the same position), summarised. */
async function profileRun(o: Options, label: string, job: EngineJob): Promise<ProfileSummary | null> {
  const dir = join(o.resultsDir, 'profiles', `${label}-${o.runTag}`);
  o.log(`  profiling the engine (${(job.expected ?? 0).toLocaleString('en-US')} events, node --cpu-prof)…`);
  const child = startChild(job, { cpuProfileDir: dir });
  const r = await child.result;
  if (!r.ok) {
    o.log(`  profile run failed: ${r.error?.split('\n')[0] ?? '?'}`);
    return null;
  }
  // CPU.<date>.<time>.<pid>.<tid>.<seq>.cpuprofile: the main thread is tid 0
  const file = readdirSync(dir).find((f) => f.includes(`.${child.pid}.0.`) && f.endsWith('.cpuprofile'));
  if (!file) return null;
  const summary = summariseProfile(join(dir, file));
  o.log(`  profile: ${summary.stages.slice(0, 4).map((s) => `${s.stage} ${Math.round(s.share * 100)}%`).join(', ')} (${join(dir, file)})`);
  return summary;
}

export async function throughput(db: Database, o: Options, shape: Shape, parts: { limits: boolean }): Promise<ThroughputResult> {
  const spec = shapeSpec(shape, o.rows, o.largeTxRows);
  const table = `bench_${shape}`;
  const label = `${db.name}-${shape}`;
  o.log(`\n[${db.label}] streaming, ${o.rows.toLocaleString('en-US')} rows, ${describeShape(spec)}`);
  await db.prepare(table);
  const purposes = [...(parts.limits ? ['e2e', 'reader', 'server', 'prof'] : ['e2e', 'reader', 'prof']), ...(shape === 'single' ? ['cap'] : [])];
  const point = await db.capture(table, purposes);
  try {
    const loadMs = await db.load(table, o.rows, spec);
    o.log(`  loaded in ${(loadMs / 1000).toFixed(1)} s (${transactionCount(o.rows, spec).toLocaleString('en-US')} transactions)`);

    let serverDecode: ReturnType<typeof tool> | null = null;
    if (parts.limits) {
      serverDecode = tool(await db.serverDecode(point, table), o.rows);
      o.log(`  server decode (${serverDecode.label}): ${Math.round(serverDecode.eventsPerS).toLocaleString('en-US')} ev/s in ${(serverDecode.ms / 1000).toFixed(1)} s`);
    }
    const reader = measured(await runChild(readerJob(db, o, `${label}-reader-${o.runTag}`, table, point, point.slots['reader'], o.rows)));
    o.log(`  reader alone: ${describe(reader)}`);
    const endToEnd = measured(await runChild(engineJob(db, o, `${label}-e2e-${o.runTag}`, table, point, point.slots['e2e'], o.rows)));
    o.log(`  end to end:   ${describe(endToEnd)}`);

    let cappedHeap: Measured | null = null;
    if (shape === 'single') {
      cappedHeap = measured(
        await runChild(engineJob(db, o, `${label}-cap-${o.runTag}`, table, point, point.slots['cap'], o.rows), { nodeFlags: CAPPED_HEAP_FLAGS }),
      );
      o.log(`  end to end, heap capped (${CAPPED_HEAP_FLAGS.join(' ')}): ${describe(cappedHeap)}`);
    }

    let producer: Measured | null = null;
    let kafkaSink: Measured | null = null;
    const d = endToEnd.detail;
    if (parts.limits && endToEnd.ok && d) {
      const job = {
        bootstrapServers: o.kafka,
        topic: `bench-ceiling-${label}-${o.runTag}`,
        offsetsTopic: `bench-ceiling-offsets-${o.runTag}`,
        records: o.rows,
        txSize: Math.max(1, Math.round(d.recordsPerCommit ?? 1)),
        keyBytes: d.avgKeyBytes ?? 8,
        valueBytes: d.avgValueBytes ?? 100,
        timeoutMs: timeoutFor(o.rows),
      };
      producer = measured(await runChild({ kind: 'producer', ...job }));
      o.log(`  plain transactional producer (${job.txSize} records/tx, ${Math.round(job.keyBytes)}+${Math.round(job.valueBytes)} bytes): ${describe(producer)}`);
      kafkaSink = measured(await runChild({ kind: 'kafka-sink', ...job, topic: `${job.topic}-sink` }));
      o.log(`  KafkaSink.commit with encoded records: ${describe(kafkaSink)}`);
    }

    let profile: ProfileSummary | null = null;
    const short = reader.ok && endToEnd.ok && endToEnd.eventsPerS < 0.6 * reader.eventsPerS;
    if (o.profile === 'always' || (o.profile === 'auto' && short)) {
      profile = await profileRun(o, label, engineJob(db, o, `${label}-prof-${o.runTag}`, table, point, point.slots['prof'], Math.min(o.rows, o.profileRows)));
    }
    return {
      db: db.name,
      dbLabel: db.label,
      shape,
      shapeLabel: describeShape(spec),
      rows: o.rows,
      transactions: transactionCount(o.rows, spec),
      loadMs,
      endToEnd,
      reader,
      serverDecode,
      producer,
      kafkaSink,
      cappedHeap,
      profile,
    };
  } finally {
    await db.release(point);
    await db.dropTable(table);
  }
}

export async function latency(db: Database, o: Options, commitIntervalMs: number): Promise<LatencyResult> {
  const table = `bench_latency`;
  const name = `${db.name}-latency-${commitIntervalMs}-${o.runTag}`;
  o.log(`\n[${db.label}] latency at ${o.latencyRate.toLocaleString('en-US')} changes/s (transactions of ${o.latencyTxRows} rows), commit.interval.ms=${commitIntervalMs}, ${o.latencyWarmupSeconds} s warm-up + ${o.latencySeconds} s`);
  await db.prepare(table);
  const point = await db.capture(table, ['e2e']);
  const job = engineJob(db, o, name, table, point, point.slots['e2e'], null, false, commitIntervalMs);
  await createTopic(o.kafka, job.countTopic);
  const recorder = new ArrivalRecorder();
  await recorder.start(o.kafka, job.countTopic);
  const child = startChild({ ...job, timeoutMs: (o.latencySeconds + o.latencyWarmupSeconds + 300) * 1000 });
  const sender = await db.sender(table);
  try {
    // a first row, to know the pipeline is up (and its schemas registered) before the clock starts
    await sender.send(1, 1);
    const deadline = performance.now() + 120_000;
    while (!recorder.arrivals.has(1)) {
      if (performance.now() > deadline) throw new Error('the first row never reached the topic');
      await new Promise((r) => setTimeout(r, 20));
    }
    const warm = await generate(sender.send, { rate: o.latencyRate, seconds: o.latencyWarmupSeconds, txRows: o.latencyTxRows, firstId: 10 });
    const firstMeasured = 10 + warm.rows + 1000;
    const gen = await generate(sender.send, { rate: o.latencyRate, seconds: o.latencySeconds, txRows: o.latencyTxRows, firstId: firstMeasured });
    // the last ones still on their way
    const wait = performance.now() + 15_000;
    const lastId = firstMeasured + gen.rows - 1;
    while (!recorder.arrivals.has(lastId) && performance.now() < wait) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 200));
    child.stop();
    const engine = measured(await child.result);
    const lat: number[] = [];
    let missing = 0;
    for (const [id, committedAt] of gen.commits) {
      const seen = recorder.arrivals.get(id);
      if (seen === undefined) missing += 1;
      else lat.push(seen - committedAt);
    }
    lat.sort((a, b) => a - b);
    const r: LatencyResult = {
      db: db.name,
      dbLabel: db.label,
      commitIntervalMs,
      targetRate: o.latencyRate,
      achievedRate: gen.achievedRate,
      txRows: o.latencyTxRows,
      samples: lat.length,
      missing,
      p50: percentile(lat, 50),
      p95: percentile(lat, 95),
      p99: percentile(lat, 99),
      max: lat[lat.length - 1] ?? Number.NaN,
      lateTicks: gen.lateTicks,
      engine,
      loadAverage: loadAverage(),
    };
    o.log(
      `  ${Math.round(r.achievedRate)} rows/s achieved; commit→visible p50 ${r.p50.toFixed(1)} ms, p95 ${r.p95.toFixed(1)} ms, p99 ${r.p99.toFixed(1)} ms, max ${r.max.toFixed(1)} ms (${r.samples} rows, ${missing} missing); engine CPU ${engine.cpuS.toFixed(1)} s`,
    );
    return r;
  } finally {
    child.stop();
    await child.result;
    await sender.close().catch(() => undefined);
    await recorder.stop();
    await db.release(point);
    await db.dropTable(table);
  }
}

export async function snapshot(db: Database, o: Options): Promise<SnapshotResult> {
  const table = 'bench_snapshot';
  o.log(`\n[${db.label}] snapshot of ${o.snapshotRows.toLocaleString('en-US')} rows`);
  await db.prepare(table);
  const snapSlots = { offset: null, slots: { reader: `${table}_reader`, e2e: `${table}_e2e`, prof: `${table}_prof` } } satisfies StartPoint;
  try {
    const slice = Math.min(200_000, o.snapshotRows);
    const loadMs = await db.load(table, o.snapshotRows, { shape: 'large', minTx: slice, maxTx: slice });
    o.log(`  loaded in ${(loadMs / 1000).toFixed(1)} s`);
    const tools = (await db.bulkRead(table)).map((t) => tool(t, o.snapshotRows));
    for (const t of tools) o.log(`  ${t.label}: ${Math.round(t.eventsPerS).toLocaleString('en-US')} rows/s in ${(t.ms / 1000).toFixed(1)} s`);
    const reader = measured(await runChild(readerJob(db, o, `${db.name}-snap-reader-${o.runTag}`, table, null, snapSlots.slots.reader, o.snapshotRows, true)));
    o.log(`  reader alone: ${describe(reader)}`);
    await db.release({ offset: null, slots: { reader: snapSlots.slots.reader } });
    const endToEnd = measured(await runChild(engineJob(db, o, `${db.name}-snap-e2e-${o.runTag}`, table, null, snapSlots.slots.e2e, o.snapshotRows, true)));
    o.log(`  end to end:   ${describe(endToEnd)}`);
    let profile: ProfileSummary | null = null;
    const first = tools[0];
    const short = endToEnd.ok && first !== undefined && endToEnd.eventsPerS < 0.5 * first.eventsPerS;
    if (o.profile === 'always' || (o.profile === 'auto' && short)) {
      await db.release({ offset: null, slots: { e2e: snapSlots.slots.e2e } });
      const label = `${db.name}-snapshot`;
      profile = await profileRun(o, label, engineJob(db, o, `${label}-prof-${o.runTag}`, table, null, snapSlots.slots.prof, Math.min(o.snapshotRows, o.profileRows), true));
    }
    return { db: db.name, dbLabel: db.label, rows: o.snapshotRows, endToEnd, reader, tools, profile };
  } finally {
    await db.release(snapSlots);
    await db.dropTable(table);
  }
}
