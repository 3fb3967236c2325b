/**
 * A measured child process of the benchmarks. It receives one job over IPC (see lib/jobs.ts), runs it with the
 * real parts of Sluice (config parsing, the CLI's factories, Postgres/binlog sources, the Avro converter with the
 * Schema Registry, the transactional Kafka sink), and sends back timings, CPU time and peak RSS.
 *
 * Started by lib/child.ts as `node [--cpu-prof ...] --import tsx bench/worker.ts`.
 */
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import { pino } from 'pino';
import type * as RdKafkaTypes from '@confluentinc/kafka-javascript/types/rdkafka.js';
import { parseConfigSources, type ConnectorSpec, type SluiceConfig } from '../src/config/index.js';
import { createFactories, loadSourceFactory } from '../src/cli/wiring.js';
import { runConnectors, type RecordConverter } from '../src/engine/index.js';
import type { SerializedRecord, Sink } from '../src/sinks/sink.js';
import type { EngineJob, Job, JobResult, ProducerJob, ReaderJob, StageTimes, WorkerMessage } from './lib/jobs.js';

const require = createRequire(import.meta.url);
const RdKafka = require('@confluentinc/kafka-javascript') as { Producer: typeof RdKafkaTypes.Producer };

const logger = pino({ name: 'sluice-bench', level: process.env['SLUICE_LOG_LEVEL'] ?? 'warn' }, pino.destination({ fd: 2, sync: true }));

let stopRequested: (() => void) | null = null;
let stopFlag = false;

process.on('message', (m: { type?: string; job?: Job }) => {
  if (m.type === 'job' && m.job) {
    void run(m.job).then(
      (result) => finish(result),
      (err: unknown) => finish({ ...emptyResult(), ok: false, error: err instanceof Error ? (err.stack ?? err.message) : String(err) }),
    );
  } else if (m.type === 'stop') {
    stopFlag = true;
    stopRequested?.();
  }
});

function finish(result: JobResult): void {
  const msg: WorkerMessage = { type: 'result', result };
  process.send?.(msg, () => {
    // exit (not just return) so --cpu-prof writes its profile now and no handle keeps the process alive
    setTimeout(() => process.exit(0), 50);
  });
}

function emptyResult(): JobResult {
  return { ok: false, events: 0, wallMs: 0, firstEventMs: null, cpuUserMs: 0, cpuSystemMs: 0, maxRssMB: 0, sampledPeakRssMB: 0 };
}

/** CPU, RSS and wall clock from the job's start. */
class Meter {
  private readonly t0 = performance.now();
  private readonly cpu0 = process.cpuUsage();
  private peakRss = process.memoryUsage.rss();
  private peakBreakdown: NodeJS.MemoryUsage = process.memoryUsage();
  private readonly sampler: NodeJS.Timeout;
  private cpuAtEnd: NodeJS.CpuUsage | null = null;
  firstEventMs: number | null = null;
  lastEventMs = 0;
  private cpuAtFirst: NodeJS.CpuUsage | null = null;
  private eventsAtFirst = 0;

  constructor() {
    this.sampler = setInterval(() => {
      const rss = process.memoryUsage.rss();
      if (rss > this.peakRss) {
        this.peakRss = rss;
        this.peakBreakdown = process.memoryUsage();
      }
    }, 100);
    this.sampler.unref();
  }

  now(): number {
    return performance.now() - this.t0;
  }

  /** An event (or several) arrived; `total` is the count so far. */
  event(total: number): void {
    const t = this.now();
    if (this.firstEventMs === null) {
      this.firstEventMs = t;
      this.cpuAtFirst = process.cpuUsage(this.cpu0);
      this.eventsAtFirst = total;
    }
    this.lastEventMs = t;
  }

  /** Freezes the CPU figure at the last event (shutdown is not part of the run). */
  markEnd(): void {
    this.cpuAtEnd ??= process.cpuUsage(this.cpu0);
  }

  result(events: number, extra: Partial<JobResult>): JobResult {
    clearInterval(this.sampler);
    const cpu = this.cpuAtEnd ?? process.cpuUsage(this.cpu0);
    const rss = process.memoryUsage.rss();
    if (rss > this.peakRss) {
      this.peakRss = rss;
      this.peakBreakdown = process.memoryUsage();
    }
    const first = this.cpuAtFirst ?? { user: 0, system: 0 };
    return {
      ok: true,
      events,
      wallMs: this.lastEventMs,
      firstEventMs: this.firstEventMs,
      cpuUserMs: cpu.user / 1000,
      cpuSystemMs: cpu.system / 1000,
      steadyEvents: events - this.eventsAtFirst,
      steadyCpuMs: (cpu.user + cpu.system - first.user - first.system) / 1000,
      maxRssMB: process.resourceUsage().maxRSS / 1024,
      sampledPeakRssMB: this.peakRss / 2 ** 20,
      peakMemoryMB: {
        heapUsed: this.peakBreakdown.heapUsed / 2 ** 20,
        heapTotal: this.peakBreakdown.heapTotal / 2 ** 20,
        external: this.peakBreakdown.external / 2 ** 20,
        arrayBuffers: this.peakBreakdown.arrayBuffers / 2 ** 20,
      },
      ...extra,
    };
  }
}

/**
 * Diagnostics only: the highest number of replication frames the Postgres source had queued (the length of its
 * ReplicationStream's private `queue`, reached around the types; absent for other sources or if it is renamed).
 */
class QueueProbe {
  max: number | null = null;
  private timer: NodeJS.Timeout | null = null;

  watch(source: object): void {
    this.timer = setInterval(() => {
      const stream = (source as { replStream?: { queuedFrameCount?: unknown } | null }).replStream;
      const n = stream?.queuedFrameCount;
      if (typeof n === 'number') this.max = Math.max(this.max ?? 0, n);
    }, 50);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }
}

function parseConfig(job: EngineJob | ReaderJob): SluiceConfig {
  return parseConfigSources([{ file: 'bench.json', text: JSON.stringify(job.config), dir: process.cwd() }], {
    env: process.env,
    logger,
  });
}

function withTimeout(ms: number, onTimeout: () => void): NodeJS.Timeout {
  const t = setTimeout(onTimeout, ms);
  t.unref();
  return t;
}

/**
 * Loads (and, through tsx, compiles) every module a run uses before the clock starts, so the figures are the
 * pipeline's and not the loader's.
 */
async function preload(): Promise<void> {
  await Promise.all([
    import('../src/sources/postgres/postgres-source.js'),
    import('../src/sources/mysql/index.js'),
    import('../src/converters/factory.js'),
    import('../src/sinks/kafka/kafka-sink.js'),
  ]);
}

async function run(job: Job): Promise<JobResult> {
  await preload();
  switch (job.kind) {
    case 'engine':
      return runEngine(job);
    case 'reader':
      return runReader(job);
    case 'producer':
      return runProducer(job);
    case 'kafka-sink':
      return runKafkaSink(job);
  }
}

/** The whole pipeline (source → engine → Avro → transactional Kafka sink), timed to the commit of the last event. */
async function runEngine(job: EngineJob): Promise<JobResult> {
  const config = parseConfig(job);
  const factories = await createFactories(config, logger);
  const meter = new Meter();
  let counted = 0;
  let commits = 0;
  let records = 0;
  let keyBytes = 0;
  let valueBytes = 0;
  let convertMs = 0;
  let sinkCommitMs = 0;
  let reached = false;
  let timedOut = false;

  const probe = new QueueProbe();
  const engine = runConnectors<ConnectorSpec>(config.connectors, {
    logger,
    async createSource(spec, ctx) {
      const source = await factories.createSource(spec, ctx);
      probe.watch(source);
      return source;
    },
    async createConverter(spec, ctx): Promise<RecordConverter> {
      const inner = await factories.createConverter(spec, ctx);
      return {
        async serializeKey(e) {
          const t = performance.now();
          const r = await inner.serializeKey(e);
          convertMs += performance.now() - t;
          return r;
        },
        async serializeValue(e) {
          const t = performance.now();
          const r = await inner.serializeValue(e);
          convertMs += performance.now() - t;
          return r;
        },
        ...(inner.close ? { close: () => inner.close!() } : {}),
      };
    },
    async createSink(spec, ctx): Promise<Sink> {
      const inner = await factories.createSink(spec, ctx);
      return {
        async open() {
          const stored = await inner.open();
          return job.startOffset ?? stored;
        },
        async commit(recs: readonly SerializedRecord[], offset) {
          const t = performance.now();
          await inner.commit(recs, offset);
          sinkCommitMs += performance.now() - t;
          commits += 1;
          let n = 0;
          for (const r of recs) {
            if (r.topic !== job.countTopic) continue;
            n += 1;
            keyBytes += r.key?.length ?? 0;
            valueBytes += r.value?.length ?? 0;
          }
          records += recs.length;
          if (n > 0) {
            counted += n;
            meter.event(counted);
          }
          if (!reached && job.expected !== null && counted >= job.expected) {
            reached = true;
            meter.markEnd();
            void engine.stop();
          }
        },
        close: () => inner.close(),
      };
    },
  });
  stopRequested = () => void engine.stop();
  if (stopFlag) void engine.stop();
  const timer = withTimeout(job.timeoutMs, () => {
    timedOut = true;
    void engine.stop();
  });
  const reports = await engine.done;
  clearTimeout(timer);
  meter.markEnd();
  probe.stop();
  const report = reports[0];
  const state = report?.status.state ?? 'unknown';
  const busy = convertMs + sinkCommitMs;
  const stages: StageTimes = {
    convertMs,
    sinkCommitMs,
    waitingForSourceMs: Math.max(0, meter.lastEventMs - busy),
  };
  const result = meter.result(counted, {
    commits,
    recordsPerCommit: commits > 0 ? records / commits : 0,
    avgKeyBytes: counted > 0 ? keyBytes / counted : 0,
    avgValueBytes: counted > 0 ? valueBytes / counted : 0,
    stages,
    state,
    ...(probe.max !== null ? { maxQueuedFrames: probe.max } : {}),
  });
  if (report?.status.state === 'failed') return { ...result, ok: false, error: `connector failed: ${report.status.reason}` };
  if (timedOut) return { ...result, ok: false, error: `timed out after ${job.timeoutMs} ms with ${counted} of ${job.expected ?? '?'} events` };
  if (job.expected !== null && counted < job.expected) {
    return { ...result, ok: false, error: `the engine stopped (${state}) after ${counted} of ${job.expected} events` };
  }
  return result;
}

/** The source alone: its stream iterated and discarded (no engine, no conversion, no sink). */
async function runReader(job: ReaderJob): Promise<JobResult> {
  const config = parseConfig(job);
  const spec = config.connectors[0];
  if (!spec) throw new Error('no connector in the job config');
  const createSource = await loadSourceFactory();
  const meter = new Meter();
  const source = await createSource(spec, { name: spec.name, logger, attempt: 0 });
  const probe = new QueueProbe();
  probe.watch(source);
  let counted = 0;
  let timedOut = false;
  stopRequested = () => void source.stop();
  const timer = withTimeout(job.timeoutMs, () => {
    timedOut = true;
    void source.stop();
  });
  const iterator = source.stream(job.startOffset)[Symbol.asyncIterator]();
  try {
    for (;;) {
      const next = await iterator.next();
      if (next.done) break;
      let n = 0;
      for (const e of next.value.events) if (e.topic === job.countTopic) n += 1;
      if (n > 0) {
        counted += n;
        meter.event(counted);
      }
      if (job.expected !== null && counted >= job.expected) break;
      if (stopFlag || timedOut) break;
    }
  } finally {
    clearTimeout(timer);
    meter.markEnd();
    await source.stop().catch(() => undefined);
    await iterator.return?.(undefined).catch(() => undefined);
  }
  probe.stop();
  const result = meter.result(counted, probe.max !== null ? { maxQueuedFrames: probe.max } : {});
  if (timedOut) return { ...result, ok: false, error: `timed out after ${job.timeoutMs} ms with ${counted} events` };
  if (job.expected !== null && counted < job.expected) {
    return { ...result, ok: false, error: `the stream ended after ${counted} of ${job.expected} events` };
  }
  return result;
}

/** Records of the given average sizes (a pool reused round-robin; the producer copies them anyway). */
function recordPool(keyBytes: number, valueBytes: number): { keys: Buffer[]; values: Buffer[] } {
  const keys: Buffer[] = [];
  const values: Buffer[] = [];
  for (let i = 0; i < 4096; i++) {
    const k = Buffer.alloc(Math.max(1, Math.round(keyBytes)));
    for (let j = 0; j < k.length; j++) k[j] = (i >> (8 * (j % 4))) & 0xff;
    keys.push(k);
    const v = Buffer.alloc(Math.max(1, Math.round(valueBytes)));
    for (let j = 0; j < v.length; j++) v[j] = (i * 31 + j * 7) & 0xff;
    values.push(v);
  }
  return { keys, values };
}

function promisify0(fn: (cb: (err: unknown) => void) => void): Promise<void> {
  return new Promise((resolve, reject) => fn((err) => (err ? reject(err as Error) : resolve())));
}

/**
 * The sink's ceiling: a plain transactional producer (same client and settings as the Kafka sink) sending
 * already-encoded records in transactions of `txSize`, each with one offset record, like the sink's commit cycles.
 */
async function runProducer(job: ProducerJob): Promise<JobResult> {
  const { keys, values } = recordPool(job.keyBytes, job.valueBytes);
  const producer = new RdKafka.Producer({
    'bootstrap.servers': job.bootstrapServers,
    'client.id': 'sluice-bench-ceiling',
    'transactional.id': `sluice-bench-ceiling-${process.pid}-${Date.now()}`,
    'transaction.timeout.ms': 60_000,
    'enable.idempotence': true,
    acks: 'all',
    partitioner: 'murmur2_random',
    'compression.type': 'none',
    'linger.ms': 5,
    'queue.buffering.max.messages': 1_000_000,
    'queue.buffering.max.kbytes': 1_048_576,
  } as RdKafkaTypes.ProducerGlobalConfig);
  await new Promise<void>((resolve, reject) => producer.connect({ timeout: 10_000 }, (err) => (err ? reject(err) : resolve())));
  producer.setPollInterval(50);
  await promisify0((cb) => producer.initTransactions(30_000, cb));
  const meter = new Meter();
  const offsetKey = Buffer.from(JSON.stringify(['bench-ceiling', { server: 'bench' }]));
  let sent = 0;
  try {
    while (sent < job.records) {
      const n = Math.min(job.txSize, job.records - sent);
      await promisify0((cb) => producer.beginTransaction(cb));
      for (let i = 0; i < n; i++) {
        const idx = (sent + i) & 4095;
        for (;;) {
          try {
            producer.produce(job.topic, null, values[idx]!, keys[idx]!, Date.now());
            break;
          } catch (err) {
            if ((err as { code?: number }).code !== -184) throw err;
            await new Promise((r) => setTimeout(r, 5));
          }
        }
      }
      producer.produce(job.offsetsTopic, null, Buffer.from(JSON.stringify({ lsn: String(sent + n) })), offsetKey, Date.now());
      await promisify0((cb) => producer.commitTransaction(60_000, cb));
      sent += n;
      meter.event(sent);
      if (meter.now() > job.timeoutMs) throw new Error(`timed out after ${sent} records`);
    }
  } finally {
    meter.markEnd();
    await promisify0((cb) => producer.disconnect(10_000, cb)).catch(() => undefined);
  }
  return meter.result(sent, { commits: Math.ceil(job.records / job.txSize), recordsPerCommit: job.txSize });
}

/** The Kafka sink class itself with already-encoded records: the sink's code on top of the plain producer. */
async function runKafkaSink(job: ProducerJob): Promise<JobResult> {
  const { KafkaSink } = await import('../src/sinks/kafka/kafka-sink.js');
  const { keys, values } = recordPool(job.keyBytes, job.valueBytes);
  const sink = new KafkaSink({
    bootstrapServers: job.bootstrapServers,
    connectorName: `bench-sink-${process.pid}`,
    topicPrefix: 'bench',
    offsetsTopic: job.offsetsTopic,
    logger,
  });
  await sink.open();
  const meter = new Meter();
  let sent = 0;
  try {
    while (sent < job.records) {
      const n = Math.min(job.txSize, job.records - sent);
      const recs: SerializedRecord[] = new Array<SerializedRecord>(n);
      for (let i = 0; i < n; i++) {
        const idx = (sent + i) & 4095;
        recs[i] = { topic: job.topic, key: keys[idx]!, value: values[idx]! };
      }
      await sink.commit(recs, { lsn: String(sent + n) });
      sent += n;
      meter.event(sent);
      if (meter.now() > job.timeoutMs) throw new Error(`timed out after ${sent} records`);
    }
  } finally {
    meter.markEnd();
    await sink.close();
  }
  return meter.result(sent, { commits: Math.ceil(job.records / job.txSize), recordsPerCommit: job.txSize });
}
