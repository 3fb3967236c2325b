/**
 * The services a benchmark run needs, from the test support (test/support): an embedded Postgres 18, a MariaDB
 * from the machine's binaries, the Kafka test broker (librdkafka's mock cluster with the transactions patch) with
 * one broker, and the Schema Registry test server. The same environment variables as the tests replace each with a
 * real one (POSTGRES_URL, MARIADB_URL, KAFKA_BOOTSTRAP_SERVERS, SCHEMA_REGISTRY_URL).
 */
import { startKafka, type KafkaInstance } from '../../test/support/kafka-broker.js';
import { startMariaDb, type MariaDbInstance } from '../../test/support/mariadb.js';
import { startPostgres, type PostgresInstance } from '../../test/support/postgres.js';
import { startSchemaRegistry, type SchemaRegistryInstance } from '../../test/support/schema-registry.js';

export interface Services {
  readonly postgres: PostgresInstance | null;
  readonly mariadb: MariaDbInstance | null;
  readonly kafka: KafkaInstance;
  readonly registry: SchemaRegistryInstance;
  stop(): Promise<void>;
}

export async function startServices(need: { postgres: boolean; mariadb: boolean }): Promise<Services> {
  const started: Array<{ stop(): Promise<void> }> = [];
  const stop = async () => {
    await Promise.allSettled(started.reverse().map((s) => s.stop()));
  };
  try {
    const kafka = await startKafka({ brokers: 1 });
    started.push(kafka);
    const registry = await startSchemaRegistry();
    started.push(registry);
    const [postgres, mariadb] = await Promise.all([
      need.postgres ? startPostgres() : Promise.resolve(null),
      need.mariadb ? startMariaDb() : Promise.resolve(null),
    ]);
    if (postgres) started.push(postgres);
    if (mariadb) started.push(mariadb);
    return { postgres, mariadb, kafka, registry, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
