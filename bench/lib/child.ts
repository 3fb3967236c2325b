/** Runs one job in a fresh measured child process (bench/worker.ts) and returns its report. */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Job, JobResult, WorkerMessage } from './jobs.js';

const WORKER = fileURLToPath(new URL('../worker.ts', import.meta.url));

export interface ChildOptions {
  /** write a V8 CPU profile (node --cpu-prof) into this directory under this name */
  /** write V8 CPU profiles (node --cpu-prof) into this directory (one per thread; the main thread's is tid 0) */
  readonly cpuProfileDir?: string;
  /** Node/V8 flags for this child (after BENCH_NODE_OPTIONS) */
  readonly nodeFlags?: readonly string[];
  /** extra environment */
  readonly env?: Record<string, string>;
}

export interface RunningChild {
  readonly pid: number;
  /** asks a run without an expected count to stop (engine.stop / source.stop) */
  stop(): void;
  readonly result: Promise<JobResult>;
}

export function startChild(job: Job, options: ChildOptions = {}): RunningChild {
  // BENCH_NODE_OPTIONS (npm run bench -- --node-options "..."): V8/Node flags for every measured process, to try
  // e.g. a heap limit
  const extra = (process.env['BENCH_NODE_OPTIONS'] ?? '').split(/\s+/).filter(Boolean);
  const execArgv = [...extra, ...(options.nodeFlags ?? []), '--import', 'tsx'];
  if (options.cpuProfileDir) {
    mkdirSync(options.cpuProfileDir, { recursive: true });
    // tsx's loader runs in a worker thread, which writes its own profile: keep the default names (pid.tid)
    execArgv.unshift('--cpu-prof', `--cpu-prof-dir=${options.cpuProfileDir}`);
  }
  const child: ChildProcess = fork(WORKER, [], {
    execArgv,
    env: { ...process.env, SLUICE_LOG_LEVEL: process.env['SLUICE_LOG_LEVEL'] ?? 'warn', ...options.env },
    stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
  });
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (d: string) => {
    stderr += d;
    if (stderr.length > 200_000) stderr = stderr.slice(-100_000);
    if (process.env['BENCH_VERBOSE']) process.stderr.write(d);
  });
  const result = new Promise<JobResult>((resolve) => {
    let got: JobResult | null = null;
    child.on('message', (m: WorkerMessage) => {
      if (m.type === 'result') got = m.result;
    });
    child.on('exit', (code, signal) => {
      if (got) {
        const tail = got.ok ? '' : `\n${stderr.slice(-3000)}`;
        resolve(tail ? { ...got, error: `${got.error ?? ''}${tail}` } : got);
        return;
      }
      resolve({
        ok: false,
        error: `the worker exited (${signal ?? `code ${code}`}) without a result:\n${stderr.slice(-3000)}`,
        events: 0,
        wallMs: 0,
        firstEventMs: null,
        cpuUserMs: 0,
        cpuSystemMs: 0,
        maxRssMB: 0,
        sampledPeakRssMB: 0,
      });
    });
  });
  child.send({ type: 'job', job });
  return {
    pid: child.pid ?? -1,
    stop: () => {
      if (child.connected) child.send({ type: 'stop' });
    },
    result,
  };
}

export function runChild(job: Job, options: ChildOptions = {}): Promise<JobResult> {
  return startChild(job, options).result;
}

/** Kills a child that did not finish (by pid, after its own timeout failed). */
export function killChild(c: RunningChild): void {
  try {
    process.kill(c.pid, 'SIGKILL');
  } catch {
    // gone
  }
}
