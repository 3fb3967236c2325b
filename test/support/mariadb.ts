/**
 * Ephemeral MariaDB servers for tests, from the machine's Debian binaries.
 *
 * `mariadb-install-db` initialises a fresh temporary data directory, then
 * `mariadbd` runs with everything a CDC source needs: binary log in ROW format
 * with FULL row image and FULL row metadata, a server id, GTIDs (always on in
 * MariaDB; strict mode off, `log_slave_updates` on), on a free port on
 * 127.0.0.1 plus its own unix socket in the temporary directory. Durability is
 * relaxed for speed. Both programs get `--no-defaults`, so the machine's
 * /etc/mysql configuration (and its running server) are never involved.
 *
 * An `--init-file` (run before the server accepts connections, without writing
 * to the binary log) gives `root` a password, makes it reachable over TCP
 * (`root@'127.0.0.1'` and `root@'%'`, all privileges with grant option) and
 * creates the database `test`. The binary log therefore starts empty.
 *
 * `stop()` kills the server and deletes the directory; if this process dies
 * first, the reaper does both. `MARIADB_URL` replaces all this with an external
 * server.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chown, mkdtemp, open, readFile, rm, writeFile, appendFile } from 'node:fs/promises';
import { hostname, tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import mysql from 'mysql2/promise';
import { freePort } from './free-port.js';
import { startReaper, type Reaper } from './reaper.js';

export interface MariaDbInstance {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  readonly database: string;
  readonly url: string;
  readonly socketPath: string | null;
  /** `SELECT VERSION()`, e.g. "10.11.19-MariaDB-0+deb12u1". */
  readonly version: string;
  readonly external: boolean;
  stop(): Promise<void>;
}

export interface StartMariaDbOptions {
  /** `--server-id` (default 1). */
  readonly serverId?: number;
  /** Appended last to mariadbd's command line, so they override ours (e.g. `--binlog-format=STATEMENT`). */
  readonly extraArgs?: readonly string[];
}

const HOST = '127.0.0.1';
const USER = 'root';
const DATABASE = 'test';
const START_TIMEOUT_MS = 60_000;

function findBinary(candidates: readonly string[]): string {
  for (const c of candidates) if (existsSync(c)) return c;
  throw new Error(`MariaDB is not installed: none of ${candidates.join(', ')} exists`);
}

interface RunAs {
  readonly uid: number;
  readonly gid: number;
  readonly name: string;
}

/** As root, mariadbd is run as the `mysql` OS user when it exists (else `--user=root`). */
function mysqlOsUser(): RunAs | null {
  if (userInfo().uid !== 0) return null;
  try {
    const uid = Number.parseInt(execFileSync('id', ['-u', 'mysql'], { encoding: 'utf8' }).trim(), 10);
    const gid = Number.parseInt(execFileSync('id', ['-g', 'mysql'], { encoding: 'utf8' }).trim(), 10);
    return { uid, gid, name: 'mysql' };
  } catch {
    return { uid: 0, gid: 0, name: 'root' };
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function runToCompletion(file: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LC_ALL: 'C' } });
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

function sqlString(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

function urlFor(host: string, port: number, user: string, password: string, database: string): string {
  return `mysql://${encodeURIComponent(user)}:${encodeURIComponent(password)}@${host}:${port}/${encodeURIComponent(database)}`;
}

async function queryVersion(config: mysql.ConnectionOptions): Promise<string> {
  const conn = await mysql.createConnection(config);
  try {
    const [rows] = await conn.query<mysql.RowDataPacket[]>('SELECT VERSION() AS v');
    return String(rows[0]?.['v'] ?? '');
  } finally {
    await conn.end();
  }
}

async function externalMariaDb(url: string): Promise<MariaDbInstance> {
  const parsed = new URL(url);
  const host = parsed.hostname || 'localhost';
  const port = parsed.port ? Number.parseInt(parsed.port, 10) : 3306;
  const user = decodeURIComponent(parsed.username) || 'root';
  const password = decodeURIComponent(parsed.password);
  const database = decodeURIComponent(parsed.pathname.replace(/^\//, ''));
  const version = await queryVersion({ host, port, user, password, ...(database ? { database } : {}) });
  return {
    host,
    port,
    user,
    password,
    database,
    url,
    socketPath: null,
    version,
    external: true,
    stop: async () => {},
  };
}

/** Waits for "ready for connections" in the error log, or the server's exit. */
async function waitUntilReady(child: ChildProcess, logFile: string): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    const log = await readFile(logFile, 'utf8').catch(() => '');
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`mariadbd exited during start-up (code ${String(child.exitCode)}, signal ${String(child.signalCode)}):\n${log}`);
    }
    if (log.includes('ready for connections')) return;
    if (Date.now() > deadline) throw new Error(`mariadbd did not become ready within ${START_TIMEOUT_MS} ms:\n${log}`);
    await delay(25);
  }
}

async function stopServer(child: ChildProcess, baseDir: string, reaper: Reaper | undefined): Promise<void> {
  const pid = child.pid;
  if (pid !== undefined && child.exitCode === null && child.signalCode === null) {
    child.ref();
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    // The data is thrown away: no need for a clean shutdown.
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await exited;
  }
  await rm(baseDir, { recursive: true, force: true, maxRetries: 3 });
  reaper?.disarm();
}

async function startLocal(options: StartMariaDbOptions): Promise<MariaDbInstance> {
  const installDb = findBinary(['/usr/bin/mariadb-install-db', '/usr/bin/mysql_install_db']);
  const mariadbd = findBinary(['/usr/sbin/mariadbd', '/usr/sbin/mysqld']);
  const serverId = options.serverId ?? 1;
  const runAs = mysqlOsUser();
  const password = `pw-${randomBytes(9).toString('base64url')}`;

  const baseDir = await mkdtemp(path.join(tmpdir(), 'sluice-mariadb-'));
  let child: ChildProcess | undefined;
  let reaper: Reaper | undefined;
  try {
    if (runAs !== null) await chown(baseDir, runAs.uid, runAs.gid);
    const dataDir = path.join(baseDir, 'data');
    const socketPath = path.join(baseDir, 'mysqld.sock');
    const logFile = path.join(baseDir, 'error.log');
    const initFile = path.join(baseDir, 'init.sql');
    const common = ['--innodb-log-file-size=16M', '--innodb-buffer-pool-size=64M'];

    await runToCompletion(installDb, [
      '--no-defaults',
      `--datadir=${dataDir}`,
      ...(runAs !== null ? [`--user=${runAs.name}`] : []),
      '--auth-root-authentication-method=normal',
      '--skip-test-db',
      '--skip-name-resolve',
      ...common,
    ]);

    const pw = sqlString(password);
    await writeFile(
      initFile,
      [
        'SET SESSION sql_log_bin = 0;',
        `ALTER USER 'root'@'localhost' IDENTIFIED BY ${pw};`,
        // mariadb-install-db may already have created some of these (and root@<hostname>, useless here).
        `DROP USER IF EXISTS 'root'@${sqlString(hostname())};`,
        ...['127.0.0.1', '::1', '%'].flatMap((h) => [
          `CREATE USER IF NOT EXISTS 'root'@'${h}';`,
          `ALTER USER 'root'@'${h}' IDENTIFIED BY ${pw};`,
          `GRANT ALL PRIVILEGES ON *.* TO 'root'@'${h}' WITH GRANT OPTION;`,
        ]),
        `CREATE DATABASE ${DATABASE};`,
        'FLUSH PRIVILEGES;',
        '',
      ].join('\n'),
      { mode: 0o600 },
    );
    if (runAs !== null) await chown(initFile, runAs.uid, runAs.gid);

    let port = 0;
    for (let attempt = 1; ; attempt++) {
      port = await freePort(HOST);
      const args = [
        '--no-defaults',
        `--datadir=${dataDir}`,
        `--tmpdir=${baseDir}`,
        `--socket=${socketPath}`,
        `--pid-file=${path.join(baseDir, 'mysqld.pid')}`,
        `--log-error=${logFile}`,
        `--port=${port}`,
        `--bind-address=${HOST}`,
        ...(runAs !== null ? [`--user=${runAs.name}`] : []),
        `--init-file=${initFile}`,
        `--server-id=${serverId}`,
        '--log-bin=mysql-bin',
        '--binlog-format=ROW',
        '--binlog-row-image=FULL',
        '--binlog-row-metadata=FULL',
        '--gtid-strict-mode=0',
        '--log-slave-updates',
        '--sync-binlog=0',
        '--innodb-flush-log-at-trx-commit=2',
        '--innodb-doublewrite=0',
        ...common,
        '--skip-name-resolve',
        '--performance-schema=OFF',
        '--max-connections=200',
        '--character-set-server=utf8mb4',
        '--collation-server=utf8mb4_general_ci',
        '--default-time-zone=+00:00',
        ...(options.extraArgs ?? []),
      ];
      const log = await open(logFile, 'a');
      if (runAs !== null) await chown(logFile, runAs.uid, runAs.gid);
      try {
        child = spawn(mariadbd, args, { detached: true, stdio: ['ignore', log.fd, log.fd], env: { ...process.env, LC_ALL: 'C' } });
      } finally {
        await log.close();
      }
      const pid = child.pid;
      if (pid === undefined) throw new Error('could not spawn mariadbd');
      child.unref();
      child.on('error', () => {});
      reaper = startReaper({ processGroups: [pid], paths: [baseDir] });
      try {
        await waitUntilReady(child, logFile);
        break;
      } catch (err) {
        const inUse = err instanceof Error && /Address already in use|Bind on TCP\/IP port/i.test(err.message);
        if (!inUse || attempt >= 3) throw err;
        reaper.disarm();
        reaper = undefined;
        await appendFile(logFile, '\n--- retrying on another port ---\n');
      }
    }

    let version: string;
    try {
      version = await queryVersion({ host: HOST, port, user: USER, password, database: DATABASE });
    } catch (err) {
      const log = await readFile(logFile, 'utf8').catch(() => '');
      throw new Error(`cannot connect to the new MariaDB server: ${String(err)}\n${log}`, { cause: err });
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
      socketPath,
      version,
      external: false,
      stop() {
        stopping ??= stopServer(server, baseDir, watchdog);
        return stopping;
      },
    };
  } catch (err) {
    if (child !== undefined) await stopServer(child, baseDir, reaper);
    else await rm(baseDir, { recursive: true, force: true });
    throw err;
  }
}

export function startMariaDb(options?: StartMariaDbOptions): Promise<MariaDbInstance> {
  const external = process.env['MARIADB_URL'];
  if (external !== undefined && external !== '') return externalMariaDb(external);
  return startLocal(options ?? {});
}
