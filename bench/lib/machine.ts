/** What the figures were measured on: cores, memory, Node, load average, git commit. */
import { execFileSync } from 'node:child_process';
import { cpus, loadavg, totalmem, freemem, hostname, release } from 'node:os';

export interface MachineInfo {
  readonly hostname: string;
  readonly cores: number;
  readonly cpuModel: string;
  readonly memoryGiB: number;
  readonly freeMemoryGiB: number;
  readonly node: string;
  readonly kernel: string;
  readonly gitCommit: string;
  readonly gitDirty: boolean;
  readonly loadAverage: readonly [number, number, number];
}

function git(args: string[]): string {
  try {
    return execFileSync('git', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return '';
  }
}

export function loadAverage(): [number, number, number] {
  const [a = 0, b = 0, c = 0] = loadavg();
  return [round2(a), round2(b), round2(c)];
}

export function formatLoad(l: readonly number[] = loadAverage()): string {
  return l.map((x) => x.toFixed(2)).join(' ');
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

export function machineInfo(): MachineInfo {
  const c = cpus();
  return {
    hostname: hostname(),
    cores: c.length,
    cpuModel: c[0]?.model.trim() ?? 'unknown',
    memoryGiB: round2(totalmem() / 2 ** 30),
    freeMemoryGiB: round2(freemem() / 2 ** 30),
    node: process.version,
    kernel: release(),
    gitCommit: git(['rev-parse', 'HEAD']) || 'unknown',
    gitDirty: git(['status', '--porcelain', '--untracked-files=no']) !== '',
    loadAverage: loadAverage(),
  };
}
