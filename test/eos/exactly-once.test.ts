/**
 * The exactly-once proof, on real services: Postgres → Kafka (Avro, Schema Registry) and MariaDB → Kafka (JSON).
 *
 * A generator commits at least 20,000 row changes — inserts, updates (each bumps `ver`), deletes, transactions of
 * 1–10 rows, multi-row statements, primary-key changes and a transaction larger than a commit cycle — on a table
 * that already holds rows when the connector first starts (the snapshot), while `sluice run` runs as a child
 * process that is SIGKILLed again and again and started again each time: once in the middle of the snapshot, on
 * purpose while a Kafka transaction is open, between two commit cycles of the large source transaction, and the
 * other times at random moments. Meanwhile the broker moves partition leaders and loses a broker (the transaction
 * coordinator and a data partition's leader) for two seconds. At the end a `read_committed` reader must find every
 * change exactly once, in commit order per key, ending in the database's values; what the killed instances left in
 * open transactions is visible to `read_uncommitted` only.
 *
 * Needs the local Kafka test broker (fault injection); skipped when KAFKA_BOOTSTRAP_SERVERS names a real cluster.
 * Budget: about 2 minutes for the file on 2 cores. EOS_CHANGES / EOS_RATE / EOS_KILLS change the sizes; EOS_DEBUG=1
 * prints every kill.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { startKafka, type KafkaInstance } from '../support/kafka-broker.js';
import type { ReadRecord } from '../support/kafka-read.js';
import { startMariaDb } from '../support/mariadb.js';
import { startPostgres } from '../support/postgres.js';
import { startSchemaRegistry, type SchemaRegistryInstance } from '../support/schema-registry.js';
import {
  avroDecoder,
  checkExactlyOnce,
  jsonDecoder,
  kill9,
  killAllSluice,
  mysqlWorkloadDb,
  postgresWorkloadDb,
  readAll,
  sleep,
  startSluice,
  Watermarks,
  Workload,
  type CheckResult,
  type Decoder,
  type SluiceProcess,
  type WorkloadDb,
} from './support.js';

const CHANGES = Number(process.env['EOS_CHANGES'] ?? 20_000);
const RATE = Number(process.env['EOS_RATE'] ?? 500); // row changes per second
const MIN_KILLS = Number(process.env['EOS_KILLS'] ?? 10);
const DEBUG = Boolean(process.env['EOS_DEBUG']);
const INITIAL_ROWS = 5_000;
const PARTITIONS = 6; // the test broker keeps ~5 MB per partition; JSON records of 20,000+ changes need room
const OFFSETS_TOPIC = 'sluice-offsets';
const API_END_TXN = 26;
const ERR_CONCURRENT_TRANSACTIONS = 51;
const MAX_BATCH = 1000; // max.batch.size: events per commit cycle
const BULK_ROWS = 800; // a bulk transaction: 800 inserts + 800 updates = 1,600 changes, two commit cycles

let kafka: KafkaInstance;
let registry: SchemaRegistryInstance;
let dir = '';
const cleanups: Array<() => Promise<unknown>> = [];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sluice-eos-'));
  [kafka, registry] = await Promise.all([startKafka({ brokers: 3 }), startSchemaRegistry()]);
});

after(async () => {
  await killAllSluice();
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
  await kafka?.stop();
  await registry?.stop();
  await rm(dir, { recursive: true, force: true });
});

interface Scenario {
  readonly name: string;
  readonly connector: string;
  readonly dataTopic: string;
  readonly db: WorkloadDb;
  readonly connectorConfig: string;
  readonly avro: boolean;
  readonly decoder: Decoder;
  /** what the source logs once it streams */
  readonly streaming: string;
  /** whether a stored offset names a transaction partly delivered (Postgres events_in_tx, MySQL row_skip) */
  readonly partial: (offset: Record<string, unknown>) => boolean;
}

const random = (lo: number, hi: number) => lo + Math.random() * (hi - lo);

/** The last offset the connector committed to the offsets topic, parsed (null: none). */
async function storedOffset(connector: string): Promise<Record<string, unknown> | null> {
  let last: Record<string, unknown> | null = null;
  for (const r of await readAll(kafka.bootstrapServers, OFFSETS_TOPIC)) {
    if (r.key && (JSON.parse(r.key.toString()) as unknown[])[0] === connector) {
      last = r.value === null ? null : (JSON.parse(r.value.toString()) as Record<string, unknown>);
    }
  }
  return last;
}

function configYaml(s: Scenario): string {
  const converter = s.avro
    ? `      key.converter: io.confluent.connect.avro.AvroConverter
      key.converter.schema.registry.url: \${SCHEMA_REGISTRY_URL}
      value.converter: io.confluent.connect.avro.AvroConverter
      value.converter.schema.registry.url: \${SCHEMA_REGISTRY_URL}
`
    : `      key.converter: org.apache.kafka.connect.json.JsonConverter
      key.converter.schemas.enable: false
      value.converter: org.apache.kafka.connect.json.JsonConverter
      value.converter.schemas.enable: false
`;
  // small snapshot chunks and cycles, so that the snapshot takes several commits (and a kill can land inside it)
  return `connectors:
  - name: ${s.connector}
    config:
${s.connectorConfig}${converter}      snapshot.fetch.size: 500
      max.batch.size: ${MAX_BATCH}
      commit.interval.ms: 100
      retriable.restart.connector.wait.ms: 300
      restart.backoff.max.ms: 2000
      errors.max.retries: 10
sink:
  type: kafka
  bootstrap.servers: ${kafka.bootstrapServers}
  topic.creation.default.partitions: ${PARTITIONS}
  topic.creation.default.replication.factor: 3
  offsets.topic.replication.factor: 3
`;
}

async function runScenario(s: Scenario): Promise<void> {
  const started = Date.now();
  const config = join(dir, `${s.connector}.yaml`);
  await writeFile(config, configYaml(s));
  const workload = new Workload(s.db, { table: 'items', initialRows: INITIAL_ROWS });
  await workload.seed();
  // Created up front (as the sink would: same partitions and replication) so that the fault injection and the
  // watermark probes know it from the first moment. The transaction coordinator of the connector is broker 2,
  // the broker that goes down later.
  await kafka.control(`create-topic ${s.dataTopic} ${PARTITIONS} 3`);
  await kafka.control(`coordinator transaction sluice-${s.connector} ${kafka.brokerIds[1]}`);

  const counts = { spawned: 0, kills: 0, midSnapshotKills: 0, targetedKills: 0, openTxnKills: 0, bulkKills: 0, faults: 0, engineRestarts: 0 };
  const faultLog: string[] = [];
  const watermarks = await Watermarks.open(kafka.bootstrapServers);
  cleanups.push(() => watermarks.close());
  const processes: SluiceProcess[] = [];
  const spawnSluice = () => {
    const p = startSluice(config, { SCHEMA_REGISTRY_URL: registry.url });
    counts.spawned++;
    processes.push(p);
    return p;
  };
  const marks = async () => {
    const out = [];
    for (let p = 0; p < PARTITIONS; p++) out.push(await watermarks.of(s.dataTopic, p).catch(() => null));
    return out;
  };
  /** some data partition has an open transaction: its last stable offset is below its high watermark */
  const openTransaction = async () => (await marks()).some((w) => w !== null && w.stable < w.high);

  let generating = true;
  let failure: unknown = null;
  const fail = (err: unknown) => {
    failure ??= err;
    generating = false;
  };
  // the killer can pause the generator and have it run a bulk transaction (between two of its transactions)
  let pause: { paused: () => void; resume: Promise<void> } | null = null;
  const pauseGenerator = async (): Promise<(() => void) | null> => {
    let resume!: () => void;
    const resumed = new Promise<void>((r) => (resume = r));
    const paused = await Promise.race([
      new Promise<boolean>((ok) => (pause = { paused: () => ok(true), resume: resumed })),
      sleep(5000).then(() => false), // the generator has finished
    ]);
    const release = () => {
      pause = null;
      resume();
    };
    if (!paused) release();
    return paused ? release : null;
  };
  /** the data partitions have been quiet (nothing open, nothing new) for a while: the engine is caught up */
  const quiet = async (ms: number, timeoutMs: number): Promise<boolean> => {
    const deadline = Date.now() + timeoutMs;
    let last = '';
    let since = Date.now();
    while (Date.now() < deadline) {
      const now = await marks();
      const key = JSON.stringify(now);
      if (now.some((w) => w === null || w.stable < w.high) || key !== last) {
        last = key;
        since = Date.now();
      } else if (Date.now() - since >= ms) return true;
      await sleep(50);
    }
    return false;
  };

  // --- the killer: SIGKILL, start again, until the generator is done and there were at least MIN_KILLS kills
  const killer = (async () => {
    for (let n = 1; generating || counts.kills < MIN_KILLS; n++) {
      const p = spawnSluice();
      let kind = 'random';
      let targeted = false;
      let bulkPartial = false;
      if (n === 1) {
        // in the middle of the snapshot: as soon as its first rows are committed
        kind = 'snapshot';
        const deadline = Date.now() + 30_000;
        while (Date.now() < deadline && p.child.exitCode === null) {
          if ((await marks()).some((w) => w !== null && w.stable > 0)) break;
          await sleep(2);
        }
      } else if (n % 3 === 0 && counts.openTxnKills < 2) {
        // Inside an open transaction, on purpose: once the instance streams, the broker answers the next EndTxn
        // requests with CONCURRENT_TRANSACTIONS (retriable: the client retries them), so the transaction stays open
        // with its records on the broker; as soon as a data partition shows that (LSO < HWM), kill.
        kind = 'open transaction';
        targeted = true;
        await p.waitForLog('the connector to run', (l) => l.msg === 'connector running', 30_000);
        await sleep(random(300, 1000));
        await kafka.pushRequestErrors(API_END_TXN, Array<number>(30).fill(ERR_CONCURRENT_TRANSACTIONS));
        const deadline = Date.now() + 5000;
        while (Date.now() < deadline && !(await openTransaction())) await sleep(5);
        counts.targetedKills++;
      } else if ((n === 4 || n === 8 || n === 12) && counts.bulkKills === 0 && generating) {
        // In the middle of a source transaction larger than a commit cycle: once the engine is caught up, the broker
        // lets the next EndTxn through and stalls the ones after; the bulk transaction's first cycle commits (its
        // offset names the transaction as partly delivered), the second stays open; kill there. The next instance
        // must skip exactly the events of the first cycle.
        kind = 'bulk transaction';
        targeted = true;
        await p.waitForLog('the stream', (l) => l.msg === s.streaming, 30_000);
        const resume = (await pauseGenerator()) ?? (() => {});
        try {
          const isQuiet = generating && (await quiet(600, 10_000));
          if (isQuiet) {
            await kafka.pushRequestErrors(API_END_TXN, [0, ...Array<number>(40).fill(ERR_CONCURRENT_TRANSACTIONS)]);
            await workload.bulk(BULK_ROWS);
            for (const deadline = Date.now() + 10_000; Date.now() < deadline; await sleep(100)) {
              const o = await storedOffset(s.connector);
              if (o !== null && s.partial(o)) {
                bulkPartial = true;
                break;
              }
            }
          } else {
            await sleep(100);
          }
        } finally {
          resume();
        }
      } else {
        await sleep(random(1500, 3000));
      }
      if (p.child.exitCode !== null) throw new Error(`sluice exited by itself (${p.child.exitCode}):\n${p.stderr().slice(-4000)}`);
      await kill9(p);
      counts.kills++;
      // the instance is dead: a transaction open now stays open until the next instance fences it (and aborts it)
      const leftOpen = await openTransaction();
      if (leftOpen) counts.openTxnKills++;
      if (bulkPartial) {
        // EndTxn stalls, so nothing was committed after the partial offset: the next instance starts from it
        const o = await storedOffset(s.connector);
        if (o !== null && s.partial(o)) counts.bulkKills++;
      }
      if (targeted) await kafka.control(`clear-errors ${API_END_TXN}`);
      if (n === 1) {
        const o = await storedOffset(s.connector);
        if (o !== null && o['snapshot'] !== undefined && o['snapshot'] !== null) counts.midSnapshotKills++;
      }
      if (DEBUG) {
        const resumed = p.logs().find((l) => l.msg === 'resuming from the stored offset' || l.msg === 'starting with no stored offset');
        console.log(
          `[${s.name}] kill ${counts.kills} (${kind}) after ${Date.now() - p.startedAt} ms, ` +
            `started ${resumed ? `${Number(resumed['time']) - p.startedAt} ms` : 'not yet'}, left a transaction open: ${leftOpen}`,
        );
      }
    }
  })().catch(fail);

  // --- broker faults, at points of the generator's progress (in the background: the generator goes on)
  const faultPlan: Array<{ at: number; run: () => Promise<string> }> = [
    {
      at: 0.25,
      run: async () => {
        for (let p = 0; p < PARTITIONS; p++) await kafka.setPartitionLeader(s.dataTopic, p, kafka.brokerIds[(p + 1) % kafka.brokerIds.length]!);
        return `moved the leaders of ${s.dataTopic}'s ${PARTITIONS} partitions`;
      },
    },
    {
      at: 0.5,
      run: async () => {
        const b = kafka.brokerIds[1]!; // the transaction coordinator, and since the move the leader of partition 0
        await kafka.brokerDown(b);
        await sleep(2000);
        await kafka.brokerUp(b);
        return `broker ${b} (transaction coordinator, leader of ${s.dataTopic}/0) down for 2 s`;
      },
    },
    {
      at: 0.75,
      run: async () => {
        await kafka.setPartitionLeader(OFFSETS_TOPIC, 0, kafka.brokerIds[2]!);
        await kafka.setPartitionLeader(s.dataTopic, 0, kafka.brokerIds[0]!);
        return `moved the leaders of ${OFFSETS_TOPIC}/0 and ${s.dataTopic}/0`;
      },
    },
  ];
  const faultTasks: Promise<void>[] = [];

  // --- the generator: no deletes or key changes until the snapshot is committed (see checkExactlyOnce)
  try {
    let lastPoll = 0;
    const done = () => workload.stats.changes - workload.stats.pkChanges;
    const start = Date.now();
    let pausedFor = 0;
    while (done() < CHANGES && failure === null) {
      const p = pause as { paused: () => void; resume: Promise<void> } | null;
      if (p) {
        const t = Date.now();
        p.paused();
        await p.resume;
        pausedFor += Date.now() - t;
        continue;
      }
      await workload.transaction();
      if (!workload.destructive && Date.now() - lastPoll > 500) {
        lastPoll = Date.now();
        const o = await storedOffset(s.connector);
        if (o !== null && (o['snapshot'] === undefined || o['snapshot'] === null)) {
          workload.destructive = true;
          if (DEBUG) console.log(`[${s.name}] the snapshot was committed after ${done()} changes; deletes and key changes from now on`);
        }
      }
      while (workload.destructive && faultPlan.length > 0 && done() / CHANGES >= faultPlan[0]!.at) {
        const fault = faultPlan.shift()!;
        faultTasks.push(
          fault.run().then((what) => {
            faultLog.push(what);
            counts.faults++;
          }, fail),
        );
      }
      const due = start + pausedFor + (done() / RATE) * 1000;
      if (due > Date.now()) await sleep(due - Date.now());
    }
  } catch (err) {
    fail(err);
  } finally {
    generating = false;
  }
  await Promise.all(faultTasks);
  await killer;
  if (failure) throw failure;
  assert.ok(workload.destructive, 'the snapshot was committed while the generator ran');
  const generatedAt = Date.now();

  // --- the last instance: let it catch up, then stop it gracefully
  const last = spawnSluice();
  const lastChange = workload.committed.at(-1)!.at(-1)!;
  const deadline = Date.now() + 90_000;
  for (;;) {
    await sleep(1000);
    if (last.child.exitCode !== null) throw new Error(`the last sluice exited (${last.child.exitCode}):\n${last.stderr().slice(-4000)}`);
    const decoded = await s.decoder(await readAll(kafka.bootstrapServers, s.dataTopic));
    const ver = (r: (typeof decoded)[number]) => Number((r.value?.after ?? r.value?.before)?.['ver']);
    if (decoded.some((r) => String(r.key?.['id']) === String(lastChange.id) && r.value !== null && ver(r) === lastChange.ver)) break;
    if (Date.now() > deadline) throw new Error(`the last change did not arrive in time (${decoded.length} records):\n${last.stderr().slice(-4000)}`);
  }
  const caughtUpMs = Date.now() - generatedAt;
  await sleep(1500); // anything late (a duplicate) would land now
  last.child.kill('SIGTERM');
  const exit = await last.exit;
  assert.equal(exit.code, 0, `the last instance stops cleanly on SIGTERM:\n${last.stderr().slice(-4000)}`);

  // --- the proof
  const committed: ReadRecord[] = await readAll(kafka.bootstrapServers, s.dataTopic, { isolation: 'read_committed' });
  const uncommitted: ReadRecord[] = await readAll(kafka.bootstrapServers, s.dataTopic, { isolation: 'read_uncommitted' });
  const final = await workload.select();
  for (const p of processes) {
    counts.engineRestarts += p.logs().filter((l) => typeof l.msg === 'string' && l.msg.startsWith('retriable failure; restarting')).length;
  }
  const bytes = new Map<number, number>();
  for (const r of uncommitted) bytes.set(r.partition, (bytes.get(r.partition) ?? 0) + (r.key?.length ?? 0) + (r.value?.length ?? 0));
  const largest = Math.max(...bytes.values()) / 1024 / 1024;
  const abortedOnly = uncommitted.length - committed.length;

  // the broker kept every record (the test broker drops the oldest batches beyond ~5 MB per partition)
  for (let p = 0; p < PARTITIONS; p++) {
    const w = await watermarks.of(s.dataTopic, p);
    assert.equal(w.low, 0, `${s.dataTopic}/${p}: the broker kept the whole log (low watermark 0)`);
    assert.equal(w.stable, w.high, `${s.dataTopic}/${p}: no transaction left open after the clean stop`);
  }
  let result: CheckResult | null = null;
  try {
    result = checkExactlyOnce({ records: await s.decoder(committed), workload, initialRows: INITIAL_ROWS, final });
  } finally {
    const w = workload.stats;
    console.log(
      [
        `[${s.name}] generated ${w.changes - w.pkChanges} row changes on top of ${INITIAL_ROWS} snapshot rows: ${w.inserts} inserts, ` +
          `${w.updates} updates, ${w.deletes} deletes, ${w.pkChanges} primary-key changes, in ${w.transactions} transactions ` +
          `(${w.multiRowTx} of several rows, ${w.bulkTransactions} of them of ${2 * BULK_ROWS} changes; ${w.multiRowStatements} multi-row statements)`,
        `[${s.name}] read_committed: ${committed.length} records` +
          (result
            ? ` (${result.snapshotRecords} snapshot reads) for ${result.keys} keys = the ${result.expectedRecords} expected: every change exactly once, in commit order per key, last values = the database's`
            : ' — CHECK FAILED (below)'),
        `[${s.name}] read_uncommitted: ${uncommitted.length} records, ${abortedOnly} of them from aborted transactions, invisible to read_committed; largest partition ${largest.toFixed(2)} MB`,
        `[${s.name}] sluice started ${counts.spawned} times, SIGKILLed ${counts.kills} times (${counts.midSnapshotKills} in the middle of the snapshot, ` +
          `${counts.targetedKills} aimed at an open transaction, ${counts.bulkKills} in the middle of a ${2 * BULK_ROWS}-change source transaction ` +
          `after its first commit cycle; ${counts.openTxnKills} kills left a Kafka transaction open), ` +
          `${counts.engineRestarts} restarts by the engine itself`,
        `[${s.name}] ${counts.faults} broker faults: ${faultLog.join('; ')}`,
        `[${s.name}] caught up ${(caughtUpMs / 1000).toFixed(1)} s after the generator stopped; ${((Date.now() - started) / 1000).toFixed(1)} s in all`,
      ].join('\n'),
    );
  }

  // nothing of an aborted transaction is visible: read_committed's records are among read_uncommitted's, and those
  // only read_uncommitted sees are the aborted ones (had they been visible, checkExactlyOnce would have found
  // duplicates: the next instance replays what an aborted transaction held)
  const uncommittedAt = new Set(uncommitted.map((r) => `${r.partition}/${r.offset}`));
  for (const r of committed) assert.ok(uncommittedAt.has(`${r.partition}/${r.offset}`), `${r.partition}/${r.offset} is read_committed only`);
  assert.ok(counts.openTxnKills >= 1, 'at least one SIGKILL left a Kafka transaction open');
  assert.ok(abortedOnly > 0, 'the transactions the SIGKILLs left open were aborted, and read_uncommitted sees their records');
  assert.ok(counts.kills >= MIN_KILLS, `SIGKILLed ${counts.kills} times`);
  assert.ok(counts.bulkKills >= 1, 'a SIGKILL landed between two commit cycles of one source transaction');
  assert.equal(counts.faults, 3, 'every broker fault was injected');
  assert.ok(result !== null && result.changes >= CHANGES, `generated ${result?.changes} changes`);
}

test('exactly once: Postgres → Kafka (Avro), SIGKILLs and broker faults', { timeout: 170_000 }, async (t) => {
  if (kafka.external) return t.skip('needs the local Kafka test broker (fault injection)');
  const pgi = await startPostgres({ flavor: 'embedded' });
  const client = new pg.Client({ connectionString: pgi.url });
  const stop = async () => {
    await killAllSluice();
    await client.end().catch(() => undefined);
    await pgi.stop();
  };
  cleanups.push(stop);
  await client.connect();
  await client.query('CREATE TABLE public.items (id BIGINT PRIMARY KEY, ver INT NOT NULL, val VARCHAR(40))');
  // deletes carry the whole old row (its ver), as MariaDB's FULL row image does
  await client.query('ALTER TABLE public.items REPLICA IDENTITY FULL');
  await runScenario({
    name: 'postgres',
    connector: 'eos-pg',
    dataTopic: 'eospg.public.items',
    db: postgresWorkloadDb(client),
    decoder: avroDecoder(registry.url),
    avro: true,
    streaming: 'streaming from the replication slot',
    partial: (o) => Number(o['events_in_tx'] ?? 0) > 0,
    connectorConfig: `      connector.class: io.debezium.connector.postgresql.PostgresConnector
      topic.prefix: eospg
      database.hostname: ${pgi.host}
      database.port: ${pgi.port}
      database.user: ${pgi.user}
      database.password: ${pgi.password}
      database.dbname: ${pgi.database}
      table.include.list: public.items
      slot.name: sluice_eos
      publication.name: sluice_eos
`,
  });
  await stop(); // its CPU is the next test's
});

test('exactly once: MariaDB → Kafka (JSON), SIGKILLs and broker faults', { timeout: 170_000 }, async (t) => {
  if (kafka.external) return t.skip('needs the local Kafka test broker (fault injection)');
  const db = await startMariaDb();
  const conn = await mysql.createConnection({ host: db.host, port: db.port, user: db.user, password: db.password, database: db.database });
  cleanups.push(async () => {
    await killAllSluice();
    await conn.end().catch(() => undefined);
    await db.stop();
  });
  await conn.query('CREATE TABLE items (id BIGINT PRIMARY KEY, ver INT NOT NULL, val VARCHAR(40))');
  await runScenario({
    name: 'mariadb',
    connector: 'eos-maria',
    dataTopic: `eosmaria.${db.database}.items`,
    db: mysqlWorkloadDb(conn),
    decoder: jsonDecoder,
    avro: false,
    streaming: 'streaming the binlog',
    partial: (o) => Number(o['row_skip'] ?? 0) > 0,
    connectorConfig: `      connector.class: io.debezium.connector.mariadb.MariaDbConnector
      topic.prefix: eosmaria
      database.hostname: ${db.host}
      database.port: ${db.port}
      database.user: ${db.user}
      database.password: ${db.password}
      database.server.id: 5501
      database.include.list: ${db.database}
      table.include.list: ${db.database}.items
`,
  });
});
