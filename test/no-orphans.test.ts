/**
 * A test process that dies — even by SIGKILL, which runs no exit handler —
 * must not leave database servers or their temporary directories behind.
 *
 * A child node process (tsx) starts Postgres and MariaDB (and the Kafka test
 * broker when its helper exists), reports the services' process ids and
 * directories, and is then killed. Within ~10 s every process of every
 * service must be gone and every directory removed.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import path from 'node:path';
import { isProcessAlive } from './support/reaper.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const projectRoot = path.join(here, '..');
const kafkaHelper = path.join(here, 'support', 'kafka-broker.ts');
const withKafka = existsSync(kafkaHelper) && !process.env['KAFKA_BOOTSTRAP_SERVERS'];

interface Report {
  postgres: { pid: number; dir: string; port: number };
  mariadb: { pid: number; dir: string; port: number };
  kafka?: { ports: number[] };
}

/** The child: starts the services, prints one JSON line, then idles (or exits at once with EXIT_AFTER_START). */
const CHILD = String.raw`
const modules = JSON.parse(process.env.SLUICE_TEST_MODULES);
const { readFileSync } = await import('node:fs');
const path = await import('node:path');
const { default: pg } = await import('pg');
const { default: mysql } = await import('mysql2/promise');
const { startPostgres } = await import(modules.postgres);
const { startMariaDb } = await import(modules.mariadb);

const [postgres, mariadb, kafka] = await Promise.all([
  startPostgres({ flavor: 'embedded' }),
  startMariaDb(),
  modules.kafka ? import(modules.kafka).then((m) => m.startKafka()) : Promise.resolve(undefined),
]);

const client = new pg.Client({ host: postgres.host, port: postgres.port, user: postgres.user, password: postgres.password, database: postgres.database });
await client.connect();
const dataDirectory = (await client.query('SHOW data_directory')).rows[0].data_directory;
await client.end();
const postmasterPid = Number(readFileSync(path.join(dataDirectory, 'postmaster.pid'), 'utf8').split('\n')[0]);

const conn = await mysql.createConnection(mariadb.url);
const [rows] = await conn.query('SELECT @@pid_file AS pidFile');
await conn.end();
const mariadbPid = Number(readFileSync(rows[0].pidFile, 'utf8').trim());

const report = {
  postgres: { pid: postmasterPid, dir: path.dirname(dataDirectory), port: postgres.port },
  mariadb: { pid: mariadbPid, dir: path.dirname(mariadb.socketPath), port: mariadb.port },
};
if (kafka) report.kafka = { ports: kafka.bootstrapServers.split(',').map((s) => Number(s.split(':').pop())) };
console.log('REPORT ' + JSON.stringify(report));
if (process.env.EXIT_AFTER_START === '1') process.exit(0);
setInterval(() => {}, 60_000);
`;

function spawnChild(exitAfterStart: boolean): ChildProcess {
  const modules = {
    postgres: pathToFileURL(path.join(here, 'support', 'postgres.ts')).href,
    mariadb: pathToFileURL(path.join(here, 'support', 'mariadb.ts')).href,
    kafka: withKafka ? pathToFileURL(kafkaHelper).href : null,
  };
  const env: NodeJS.ProcessEnv = { ...process.env, SLUICE_TEST_MODULES: JSON.stringify(modules), EXIT_AFTER_START: exitAfterStart ? '1' : '0' };
  for (const name of ['POSTGRES_URL', 'MARIADB_URL', 'KAFKA_BOOTSTRAP_SERVERS', 'SCHEMA_REGISTRY_URL']) delete env[name];
  return spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '--eval', CHILD], {
    cwd: projectRoot,
    env,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
}

function waitForReport(child: ChildProcess): Promise<Report> {
  return new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => reject(new Error(`child did not report within 60 s\n${stdout}\n${stderr}`)), 60_000);
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    child.stdout?.on('data', (d: Buffer) => {
      stdout += d.toString('utf8');
      const line = stdout.split('\n').find((l) => l.startsWith('REPORT '));
      if (line !== undefined) {
        clearTimeout(timer);
        resolve(JSON.parse(line.slice('REPORT '.length)) as Report);
      }
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`child exited before reporting (code ${String(code)}, signal ${String(signal)})\n${stdout}\n${stderr}`));
    });
  });
}

/** Pids of all live processes (Linux /proc). */
function allPids(): number[] {
  return readdirSync('/proc')
    .filter((e) => /^\d+$/.test(e))
    .map(Number);
}

function statFields(pid: number): { state: string; ppid: number; pgrp: number } | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { state: rest[0] ?? '', ppid: Number(rest[1]), pgrp: Number(rest[2]) };
  } catch {
    return null;
  }
}

/** `root`, every live process in its process group, and all their live descendants. */
function processTree(root: number): number[] {
  const table = allPids()
    .map((pid) => ({ pid, stat: statFields(pid) }))
    .filter((p) => p.stat !== null && p.stat.state !== 'Z');
  const found = new Set<number>([root]);
  for (const p of table) if (p.stat?.pgrp === root) found.add(p.pid);
  for (let grew = true; grew; ) {
    grew = false;
    for (const p of table) {
      if (!found.has(p.pid) && p.stat !== null && found.has(p.stat.ppid)) {
        found.add(p.pid);
        grew = true;
      }
    }
  }
  return [...found];
}

/** Pids of the processes listening on TCP `port` (IPv4 or IPv6), from /proc/net/tcp* and /proc/<pid>/fd. */
function listenersOn(port: number): number[] {
  const inodes = new Set<string>();
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      const local = cols[1];
      // state 0A = LISTEN; column 9 = inode
      if (local !== undefined && cols[3] === '0A' && Number.parseInt(local.split(':')[1] ?? '', 16) === port && cols[9]) inodes.add(cols[9]);
    }
  }
  const pids: number[] = [];
  for (const pid of allPids()) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        const target = readlinkSync(`/proc/${pid}/fd/${fd}`);
        const m = /^socket:\[(\d+)\]$/.exec(target);
        if (m?.[1] !== undefined && inodes.has(m[1])) {
          pids.push(pid);
          break;
        }
      } catch {
        // fd closed meanwhile
      }
    }
  }
  return pids;
}

/** Watchdog shells whose parent is `pid` (they carry REAPER_PARENT in their environment). */
function reapersOf(pid: number): number[] {
  return allPids().filter((p) => {
    try {
      if (!readFileSync(`/proc/${p}/cmdline`, 'utf8').includes('sluice-reaper')) return false;
      return readFileSync(`/proc/${p}/environ`, 'utf8').split('\0').includes(`REAPER_PARENT=${pid}`);
    } catch {
      return false;
    }
  });
}

async function aliveAmong(pids: readonly number[]): Promise<number[]> {
  const alive: number[] = [];
  for (const pid of pids) if (await isProcessAlive(pid)) alive.push(pid);
  return alive;
}

async function eventually(what: string, check: () => Promise<string | null>, timeoutMs = 10_000): Promise<number> {
  const started = Date.now();
  for (;;) {
    const problem = await check();
    if (problem === null) return Date.now() - started;
    if (Date.now() - started > timeoutMs) assert.fail(`${what} after ${timeoutMs} ms: ${problem}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function scenario(kill: boolean): Promise<void> {
  const child = spawnChild(!kill);
  const childPid = child.pid;
  assert.ok(childPid !== undefined);
  try {
    const report = await waitForReport(child);
    const servicePids = new Set<number>([report.postgres.pid, report.mariadb.pid]);
    for (const port of report.kafka?.ports ?? []) for (const pid of listenersOn(port)) servicePids.add(pid);
    for (const pid of listenersOn(report.postgres.port)) servicePids.add(pid);
    for (const pid of listenersOn(report.mariadb.port)) servicePids.add(pid);
    // The postmaster's children (checkpointer, walwriter, backends, ...) each lead their own session.
    for (const pid of processTree(report.postgres.pid)) servicePids.add(pid);
    for (const pid of processTree(report.mariadb.pid)) servicePids.add(pid);
    if (kill) assert.ok(servicePids.size >= 5, `the postmaster's children are found (${servicePids.size} processes)`);
    const pids = [...servicePids];
    const dirs = [report.postgres.dir, report.mariadb.dir];
    const reapers = reapersOf(childPid);

    if (kill) {
      assert.deepEqual(await aliveAmong(pids), pids, 'services are running before the kill');
      assert.ok(dirs.every((d) => existsSync(d)));
      assert.ok(reapers.length >= 2, `a watchdog per service (found ${reapers.length})`);
      assert.ok(report.postgres.pid !== childPid && report.mariadb.pid !== childPid);
      child.kill('SIGKILL');
    }

    const took = await eventually('service processes still alive', async () => {
      const alive = await aliveAmong(pids);
      return alive.length === 0 ? null : `pids ${alive.join(', ')}`;
    });
    await eventually('temporary directories still present', async () => {
      const left = dirs.filter((d) => existsSync(d));
      return left.length === 0 ? null : left.join(', ');
    });
    await eventually('watchdogs still running', async () => {
      const alive = await aliveAmong(reapers);
      return alive.length === 0 ? null : `pids ${alive.join(', ')}`;
    });
    console.log(`# ${kill ? 'SIGKILL' : 'exit without stop()'}: ${pids.length} service processes gone ${took} ms later`);
  } finally {
    child.kill('SIGKILL');
  }
}

describe('no orphaned services', () => {
  it(`SIGKILL of the test process leaves no servers or directories behind (Postgres, MariaDB${withKafka ? ', Kafka broker' : ''})`, async () => {
    await scenario(true);
  });

  it('a test process that exits without calling stop() leaves nothing behind either', async () => {
    await scenario(false);
  });
});
