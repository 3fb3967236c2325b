/**
 * What the parent (bench/run.ts) asks a measured child process (bench/worker.ts) to do, and what it reports back.
 * Every measured run is its own process, so its CPU time and peak RSS are the run's alone.
 */
import type { SourceOffset } from '../../src/events/change-event.js';

/** A Sluice config as an object (`connectors` + `sink`), as `sluice run` would read it from a JSON file. */
export type SluiceConfigObject = Record<string, unknown>;

export interface EngineJob {
  readonly kind: 'engine';
  readonly config: SluiceConfigObject;
  /** Returned by the sink's open() instead of what the offsets topic holds (start exactly at a captured position). */
  readonly startOffset: SourceOffset | null;
  /** Only records for this topic are counted as row events (schema changes, heartbeats are not). */
  readonly countTopic: string;
  /** Stop after this many row events are committed; null: until the engine ends by itself or the parent says stop. */
  readonly expected: number | null;
  readonly timeoutMs: number;
}

export interface ReaderJob {
  readonly kind: 'reader';
  readonly config: SluiceConfigObject;
  readonly startOffset: SourceOffset | null;
  readonly countTopic: string;
  /** null: until the source's stream ends (snapshot with initial_only) */
  readonly expected: number | null;
  readonly timeoutMs: number;
}

/** The sink's ceiling: already-encoded records of the given sizes, in transactions of `txSize` records. */
export interface ProducerJob {
  readonly kind: 'producer' | 'kafka-sink';
  readonly bootstrapServers: string;
  readonly topic: string;
  readonly offsetsTopic: string;
  readonly records: number;
  readonly txSize: number;
  readonly keyBytes: number;
  readonly valueBytes: number;
  readonly timeoutMs: number;
}

export type Job = EngineJob | ReaderJob | ProducerJob;

/**
 * Where the wall time of the engine's commit loop went. Rough: the source's pull loop runs on the same thread and
 * its work lands inside the converter's awaits, so "converting" is inflated; the CPU profile is the evidence.
 */
export interface StageTimes {
  /** the commit loop converting events to Avro (converter calls) */
  readonly convertMs: number;
  /** the commit loop in sink.commit (produce + commit of the Kafka transaction) */
  readonly sinkCommitMs: number;
  /** the rest: the commit loop waiting for the source (or for commit.interval.ms) */
  readonly waitingForSourceMs: number;
}

export interface JobResult {
  readonly ok: boolean;
  readonly error?: string;
  /** row events counted (records to countTopic) */
  readonly events: number;
  /** job start (after the child's imports) → the last counted event committed / read */
  readonly wallMs: number;
  /** job start → the first counted event */
  readonly firstEventMs: number | null;
  readonly cpuUserMs: number;
  readonly cpuSystemMs: number;
  /** events after the first one(s) (the steady part of the run: no start-up) */
  readonly steadyEvents?: number;
  /** CPU time (user + system) from the first event to the end */
  readonly steadyCpuMs?: number;
  /** peak resident set size of the process (getrusage maxrss) */
  readonly maxRssMB: number;
  /** highest RSS sampled every 100 ms (after start-up) */
  readonly sampledPeakRssMB: number;
  /** process.memoryUsage() at the highest RSS sample: what the RSS was made of (the rest is native: librdkafka, code) */
  readonly peakMemoryMB?: { readonly heapUsed: number; readonly heapTotal: number; readonly external: number; readonly arrayBuffers: number };
  readonly commits?: number;
  readonly recordsPerCommit?: number;
  readonly avgKeyBytes?: number;
  readonly avgValueBytes?: number;
  readonly stages?: StageTimes;
  /** Postgres: the most replication frames the source had queued (diagnostics; see worker.ts QueueProbe) */
  readonly maxQueuedFrames?: number;
  /** the engine's final connector state */
  readonly state?: string;
}

export interface WorkerMessage {
  readonly type: 'result';
  readonly result: JobResult;
}
