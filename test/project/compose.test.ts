// docker-compose.cdc.yml cannot run here (no Docker engine); this checks what can be checked without one:
// images, ports, the files it mounts, and that the Sluice config it mounts parses.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { parse } from 'yaml';

type Service = {
  image?: string;
  build?: { context: string; dockerfile: string };
  ports?: string[];
  command?: string[] | string;
  volumes?: string[];
  environment?: Record<string, string | number>;
};
const compose = parse(readFileSync('docker-compose.cdc.yml', 'utf8')) as { services: Record<string, Service> };
const services = compose.services;

test('compose runs the real stack: Kafka in KRaft mode, Schema Registry, MySQL 8.4, Postgres 17, Sluice', () => {
  assert.match(services.kafka?.image ?? '', /^apache\/kafka:/);
  assert.equal(services.kafka?.environment?.KAFKA_PROCESS_ROLES, 'broker,controller');
  assert.match(services['schema-registry']?.image ?? '', /^confluentinc\/cp-schema-registry:/);
  assert.equal(services.mysql?.image, 'mysql:8.4');
  assert.equal(services.postgres?.image, 'postgres:17');
  assert.equal(services.sluice?.build?.dockerfile, 'Dockerfile');
  assert.ok(existsSync('Dockerfile'));
});

test('databases are configured for CDC', () => {
  const mysqlArgs = services.mysql?.command as string[];
  for (const flag of ['--binlog-format=ROW', '--binlog-row-image=FULL', '--binlog-row-metadata=FULL', '--log-bin=mysql-bin']) {
    assert.ok(mysqlArgs.includes(flag), `mysql is missing ${flag}`);
  }
  assert.ok((services.postgres?.command as string[]).includes('wal_level=logical'));
});

test('ports are published and unique', () => {
  const published = Object.values(services).flatMap((s) => s.ports ?? []).map((p) => p.split(':')[0]);
  assert.deepEqual([...published].sort(), ['3306', '5432', '8081', '9092']);
});

test('every mounted file exists and the Sluice config names both connectors', () => {
  for (const [name, s] of Object.entries(services)) {
    for (const v of s.volumes ?? []) {
      const host = v.split(':')[0]!;
      assert.ok(existsSync(host), `${name} mounts ${host}, which does not exist`);
    }
  }
  const sluiceVolume = services.sluice?.volumes?.[0]?.split(':') ?? [];
  const configPath = sluiceVolume[0]!;
  assert.ok((services.sluice?.command as string[]).includes(sluiceVolume[1]!), 'sluice runs the config it mounts');
  const config = parse(readFileSync(configPath, 'utf8')) as {
    sink: { type: string; 'bootstrap.servers': string };
    connectors: { name: string; config: Record<string, string> }[];
  };
  assert.equal(config.sink.type, 'kafka');
  assert.equal(config.sink['bootstrap.servers'], 'kafka:9092');
  const classes = config.connectors.map((c) => c.config['connector.class']).sort();
  assert.deepEqual(classes, ['io.debezium.connector.mysql.MySqlConnector', 'io.debezium.connector.postgresql.PostgresConnector']);
  for (const c of config.connectors) {
    assert.equal(c.config['value.converter.schema.registry.url'], 'http://schema-registry:8081');
    assert.equal(c.config['database.hostname'], c.config['connector.class']!.includes('postgresql') ? 'postgres' : 'mysql');
  }
});
