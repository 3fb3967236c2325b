/**
 * Summarises a V8 CPU profile (`node --cpu-prof`) of an engine run: the share of time per pipeline stage and the
 * top functions by self time, so a shortfall names the stage (and the function) to work on.
 *
 * Stages come from where the code lives. A sample in a generic frame (Node internals, Buffer, a regexp...) is
 * charged to the nearest caller that belongs to a stage, so e.g. Buffer work done by the Avro encoder counts as
 * conversion.
 */
import { readFileSync, statSync } from 'node:fs';
import { TsxSourceMaps } from './sourcemap.js';

interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
  readonly columnNumber: number;
}

interface ProfileNode {
  readonly id: number;
  readonly callFrame: CallFrame;
  readonly children?: readonly number[];
}

interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly startTime: number;
  readonly endTime: number;
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

export type Stage =
  | 'source: Sluice decode + event building'
  | 'source: database driver (pg / mysql2 / zongji)'
  | 'conversion (Avro)'
  | 'produce/commit (Kafka sink + client)'
  | 'engine (queue, cycles)'
  | 'logging'
  | 'garbage collection'
  | 'idle (waiting on I/O)'
  | 'other (Node internals, loader, native)';

export interface FunctionShare {
  readonly fn: string;
  readonly where: string;
  readonly stage: Stage;
  readonly selfMs: number;
  readonly share: number;
}

export interface ProfileSummary {
  readonly file: string;
  readonly totalMs: number;
  /** busy time (total minus idle) */
  readonly busyMs: number;
  /** share of busy time per stage, largest first */
  readonly stages: ReadonlyArray<{ readonly stage: Stage; readonly ms: number; readonly share: number }>;
  readonly top: readonly FunctionShare[];
}

const GENERIC: Stage = 'other (Node internals, loader, native)';

function stageOf(frame: CallFrame): Stage | null {
  const url = frame.url;
  const fn = frame.functionName;
  if (fn === '(garbage collector)') return 'garbage collection';
  if (fn === '(idle)') return 'idle (waiting on I/O)';
  if (url === '') return null;
  if (/\/src\/sources\//.test(url) || /\/src\/events\//.test(url)) return 'source: Sluice decode + event building';
  if (/node_modules\/(pg|pg-protocol|pg-types|pgpass|postgres-[a-z]+|mysql2|@vlasky\/zongji|iconv-lite|sqlstring|long|denque|lru\.min|generate-function|named-placeholders|seq-queue)\//.test(url)) {
    return 'source: database driver (pg / mysql2 / zongji)';
  }
  if (/\/src\/converters\//.test(url) || /node_modules\/avsc\//.test(url)) return 'conversion (Avro)';
  if (/\/src\/sinks\//.test(url) || /node_modules\/@confluentinc\//.test(url)) return 'produce/commit (Kafka sink + client)';
  if (/\/src\/engine\//.test(url)) return 'engine (queue, cycles)';
  if (/node_modules\/(pino|pino-std-serializers|sonic-boom|thread-stream|fast-redact|quick-format-unescaped|atomic-sleep|on-exit-leak-free|safe-stable-stringify)\//.test(url)) {
    return 'logging';
  }
  return null;
}

function shortUrl(url: string): string {
  const i = url.indexOf('/src/');
  if (i >= 0) return url.slice(i + 1);
  const j = url.lastIndexOf('node_modules/');
  if (j >= 0) return url.slice(j + 'node_modules/'.length);
  return url.replace(/^file:\/\//, '');
}

export function summariseProfile(file: string, topN = 15): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const maps = new TsxSourceMaps(statSync(file).mtimeMs);
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const n of profile.nodes) {
    byId.set(n.id, n);
    for (const c of n.children ?? []) parent.set(c, n.id);
  }
  // stage of each node: its own, else its nearest staged ancestor's
  const stageMemo = new Map<number, Stage>();
  const stageFor = (id: number): Stage => {
    const known = stageMemo.get(id);
    if (known) return known;
    const chain: number[] = [];
    let cur: number | undefined = id;
    let found: Stage = GENERIC;
    while (cur !== undefined) {
      const memo = stageMemo.get(cur);
      if (memo) {
        found = memo;
        break;
      }
      chain.push(cur);
      const node = byId.get(cur);
      const s = node ? stageOf(node.callFrame) : null;
      if (s) {
        found = s;
        break;
      }
      cur = parent.get(cur);
    }
    for (const c of chain) stageMemo.set(c, found);
    return found;
  };

  const selfUs = new Map<number, number>();
  const { samples, timeDeltas } = profile;
  for (let i = 0; i < samples.length; i++) {
    // a sample's time is the delta to the next sample
    const id = samples[i]!;
    const dt = timeDeltas[i + 1] ?? 0;
    selfUs.set(id, (selfUs.get(id) ?? 0) + Math.max(0, dt));
  }

  const stageUs = new Map<Stage, number>();
  const fnUs = new Map<string, { fn: string; where: string; stage: Stage; us: number }>();
  let total = 0;
  for (const [id, us] of selfUs) {
    total += us;
    const node = byId.get(id);
    if (!node) continue;
    const stage = stageFor(id);
    stageUs.set(stage, (stageUs.get(stage) ?? 0) + us);
    const f = node.callFrame;
    const line = f.url.endsWith('.ts') ? (maps.originalLine(f.url, f.lineNumber, f.columnNumber) ?? f.lineNumber + 1) : f.lineNumber + 1;
    const where = f.url ? `${shortUrl(f.url)}:${line}` : '(native)';
    const key = `${f.functionName}@${where}`;
    const entry = fnUs.get(key) ?? { fn: f.functionName || '(anonymous)', where, stage, us: 0 };
    entry.us += us;
    fnUs.set(key, entry);
  }
  const idle = stageUs.get('idle (waiting on I/O)') ?? 0;
  const busy = Math.max(1, total - idle);
  const stages = [...stageUs.entries()]
    .filter(([s]) => s !== 'idle (waiting on I/O)')
    .map(([stage, us]) => ({ stage, ms: us / 1000, share: us / busy }))
    .sort((a, b) => b.ms - a.ms);
  const top = [...fnUs.values()]
    .filter((e) => e.fn !== '(idle)')
    .sort((a, b) => b.us - a.us)
    .slice(0, topN)
    .map((e) => ({ fn: e.fn, where: e.where, stage: e.stage, selfMs: e.us / 1000, share: e.us / busy }));
  return { file, totalMs: total / 1000, busyMs: busy / 1000, stages, top };
}
