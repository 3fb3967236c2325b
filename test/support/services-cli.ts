/**
 * `npm run services`: starts the local stack the tests use — Postgres
 * (embedded 18 unless --postgres=debian), MariaDB, the Kafka test broker and
 * the Schema Registry test server — prints their connection strings and the
 * environment variables that point tests (or Sluice) at them, and stops
 * everything on Ctrl-C / SIGTERM / SIGHUP, or when its parent (tsx) or the
 * parent's parent (npm's shell) goes away. If this process is killed outright, the reaper watchdogs remove
 * the databases; the broker exits when its stdin closes.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { availablePostgresFlavors, startPostgres, type PostgresFlavor, type PostgresInstance } from './postgres.js';
import { startMariaDb, type MariaDbInstance } from './mariadb.js';
import { startKafka } from './kafka-broker.js';
import { startSchemaRegistry, type SchemaRegistryInstance } from './schema-registry.js';

const USAGE = `Usage: npm run services -- [--postgres=embedded|debian] [--brokers=N]

Starts Postgres, MariaDB, the Kafka test broker and the Schema Registry test
server, prints how to reach them, and stops them on Ctrl-C.
`;

interface Stoppable {
  stop(): Promise<void>;
}

/** [parent pid, grandparent pid (Linux only)]. */
function ancestry(): [number, number | undefined] {
  const parent = process.ppid;
  try {
    const stat = readFileSync(`/proc/${parent}/stat`, 'utf8');
    return [parent, Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])];
  } catch {
    return [parent, undefined];
  }
}

function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

async function timed<T>(promise: Promise<T>): Promise<{ value: T; ms: number }> {
  const started = Date.now();
  const value = await promise;
  return { value, ms: Date.now() - started };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      postgres: { type: 'string', default: 'embedded' },
      brokers: { type: 'string', default: '3' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return;
  }
  const flavor = values.postgres as PostgresFlavor;
  if (!(availablePostgresFlavors() as string[]).includes(flavor)) {
    throw new Error(`--postgres must be one of ${availablePostgresFlavors().join(', ')}`);
  }
  const brokers = Number.parseInt(values.brokers, 10);

  const running: Stoppable[] = [];
  let stopping: Promise<void> | undefined;
  const stopAll = (): Promise<void> => {
    stopping ??= Promise.allSettled(running.map((s) => s.stop())).then((results) => {
      for (const r of results) if (r.status === 'rejected') console.error('stop failed:', r.reason);
    });
    return stopping;
  };
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    signals++;
    if (signals > 1) {
      console.error(`\n${signal} again: exiting now (the watchdogs will clean up)`);
      process.exit(130);
    }
    console.error(`\n${signal}: stopping the services...`);
    void stopAll().then(() => {
      console.error('stopped.');
      process.exit(0);
    });
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);

  console.error('starting Postgres, MariaDB, Kafka test broker and Schema Registry...');
  const track = <T extends Stoppable>(p: Promise<{ value: T; ms: number }>): Promise<{ value: T; ms: number }> =>
    p.then((r) => {
      running.push(r.value);
      return r;
    });
  const results = await Promise.allSettled([
    track(timed(startPostgres({ flavor }))),
    track(timed(startMariaDb())),
    track(timed(startKafka({ brokers }))),
    track(timed(startSchemaRegistry())),
  ] as const);
  const failures = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failures.length > 0) {
    for (const f of failures) console.error('start failed:', f.reason);
    await stopAll();
    process.exitCode = 1;
    return;
  }
  const [pgResult, mariaResult, kafkaResult, srResult] = results as unknown as [
    PromiseFulfilledResult<{ value: PostgresInstance; ms: number }>,
    PromiseFulfilledResult<{ value: MariaDbInstance; ms: number }>,
    PromiseFulfilledResult<{ value: Awaited<ReturnType<typeof startKafka>>; ms: number }>,
    PromiseFulfilledResult<{ value: SchemaRegistryInstance; ms: number }>,
  ];
  const pg = pgResult.value.value;
  const maria = mariaResult.value.value;
  const kafka = kafkaResult.value.value;
  const registry = srResult.value.value;

  const rows: [string, string, string][] = [
    [`Postgres ${pg.version} (${pg.flavor})`, pg.url, `${pgResult.value.ms} ms`],
    [`MariaDB ${maria.version}`, maria.url + (maria.socketPath ? `  (socket ${maria.socketPath})` : ''), `${mariaResult.value.ms} ms`],
    [`Kafka${kafka.external ? ' (external)' : ` test broker (${kafka.brokerIds.length} brokers)`}`, kafka.bootstrapServers, `${kafkaResult.value.ms} ms`],
    [`Schema Registry${registry.external ? ' (external)' : ''}`, registry.url, `${srResult.value.ms} ms`],
  ];
  const width = Math.max(...rows.map((r) => r[0].length));
  const lines = [
    '',
    'Sluice test services are running. Ctrl-C stops them.',
    '',
    ...rows.map(([name, where, ms]) => `  ${name.padEnd(width)}  ${where}  [started in ${ms}]`),
    '',
    '# in another shell:',
    `export POSTGRES_URL=${shellQuote(pg.url)}`,
    `export MARIADB_URL=${shellQuote(maria.url)}`,
    `export KAFKA_BOOTSTRAP_SERVERS=${shellQuote(kafka.bootstrapServers)}`,
    `export SCHEMA_REGISTRY_URL=${shellQuote(registry.url)}`,
    '',
  ];
  process.stdout.write(lines.join('\n'));

  // The services' handles do not keep node alive; this does, until a signal.
  // It also stops everything when the launcher dies without passing a signal
  // on: `npm run` signals only its `sh -c`, which dies and leaves tsx (our
  // parent) orphaned. So we watch our parent and our parent's parent.
  const launchers = ancestry();
  setInterval(() => {
    if (signals > 0) return;
    const now = ancestry();
    if (now[0] !== launchers[0] || (launchers[1] !== undefined && now[1] !== launchers[1])) onSignal('SIGHUP');
  }, 1_000);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
