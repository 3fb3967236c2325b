import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  AVRO_CONVERTER_CLASS,
  ConfigProblemsError,
  loadConfigFiles,
  parseConfigSources,
  type SluiceConfig,
} from '../../src/config/index.js';
import { ConfigError } from '../../src/errors.js';
import { captureLogger } from '../engine/support/capture-logger.js';

const FIXTURES = new URL('../../fixtures/config/', import.meta.url).pathname;

function parse(text: string, file = 'sluice.yaml', env: Record<string, string> = {}, logger = captureLogger().logger): SluiceConfig {
  return parseConfigSources([{ file, text, dir: '/etc/sluice' }], { env, logger });
}

function problemsOf(fn: () => unknown): readonly string[] {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigProblemsError, `expected ConfigProblemsError, got ${String(err)}`);
    assert.ok(err instanceof ConfigError);
    return err.problems;
  }
  assert.fail('expected a ConfigError');
}

const PG_YAML = `
connectors:
  - name: orders-pg
    config:
      connector.class: io.debezium.connector.postgresql.PostgresConnector
      topic.prefix: shop
      database:
        hostname: db.internal
        port: 5433
        user: replicator
        password: hunter2
        dbname: inventory
      table.include.list: public.orders, public.customers
      snapshot:
        mode: no_data
sink:
  type: file
  path: out/changes.jsonl
`;

describe('Sluice config files', () => {
  test('YAML: nested maps flatten to Debezium dotted keys, strings and defaults are typed', () => {
    const config = parse(PG_YAML);
    assert.equal(config.connectors.length, 1);
    const c = config.connectors[0]!;
    assert.equal(c.name, 'orders-pg');
    assert.equal(c.kind, 'postgresql');
    assert.equal(c.config['database.hostname'], 'db.internal');
    assert.equal(c.config['database.port'], 5433);
    assert.equal(c.config['database.dbname'], 'inventory');
    assert.equal(c.config['snapshot.mode'], 'no_data');
    assert.deepEqual(c.config['table.include.list'], ['public.orders', 'public.customers']);
    assert.equal(c.config['max.batch.size'], 10000);
    assert.equal(c.config['commit.interval.ms'], 100);
    // relative paths resolve against the config file's directory; the file sink's offsets default beside it
    assert.deepEqual(config.sink, { type: 'file', path: '/etc/sluice/out/changes.jsonl' });
    assert.equal(config.offsets.file, '/etc/sluice/out/changes.jsonl.offsets.json');
    // default converters: Kafka Connect's JsonConverter with schemas
    assert.equal(c.converters.value.format, 'json');
    assert.equal(c.converters.value.schemasEnable, true);
  });

  test('JSON Sluice config with a stdout sink and an offsets file', () => {
    const config = parse(
      JSON.stringify({
        connectors: [
          {
            name: 'inv',
            config: {
              'connector.class': 'mysql',
              'topic.prefix': 'dbserver1',
              'database.hostname': 'h',
              'database.user': 'u',
              'database.server.id': '5400',
            },
          },
        ],
        sink: { type: 'stdout' },
        offsets: { file: '/var/lib/sluice/offsets.json' },
      }),
      'sluice.json',
    );
    assert.equal(config.connectors[0]!.kind, 'mysql');
    assert.equal(config.connectors[0]!.config['database.server.id'], 5400);
    assert.deepEqual(config.sink, { type: 'stdout' });
    assert.equal(config.offsets.file, '/var/lib/sluice/offsets.json');
  });

  test('the example configs in fixtures/config load', async () => {
    const env = { PGPASSWORD: 'x', MYSQL_PASSWORD: 'y' };
    const pg = await loadConfigFiles([join(FIXTURES, 'postgres.yaml')], { env, logger: captureLogger().logger });
    assert.equal(pg.connectors[0]!.converters.value.format, 'avro');
    assert.equal(pg.sink.type, 'kafka');
    const my = await loadConfigFiles([join(FIXTURES, 'mysql.yaml')], { env, logger: captureLogger().logger });
    assert.equal(my.connectors[0]!.converters.value.schemasEnable, false);
    assert.equal(my.offsets.file, join(FIXTURES, 'sluice-offsets.json'));
  });
});

describe('Debezium connector configs run unchanged', () => {
  test('the JSON posted to Kafka Connect: strings typed, converters honoured, Kafka from KAFKA_BOOTSTRAP_SERVERS', async () => {
    const config = await loadConfigFiles([join(FIXTURES, 'debezium-postgres.json')], {
      env: { KAFKA_BOOTSTRAP_SERVERS: 'broker-1:9092,broker-2:9092' },
      logger: captureLogger().logger,
    });
    const c = config.connectors[0]!;
    assert.equal(c.name, 'inventory-connector');
    assert.equal(c.kind, 'postgresql');
    assert.equal(c.config['database.port'], 5432);
    assert.equal(c.config['tombstones.on.delete'], true);
    assert.deepEqual(c.config['schema.include.list'], ['inventory']);
    assert.equal(c.converters.key.className, 'org.apache.kafka.connect.json.JsonConverter');
    assert.equal(c.converters.value.schemasEnable, true);
    assert.deepEqual(config.sink, { type: 'kafka', 'bootstrap.servers': 'broker-1:9092,broker-2:9092', 'offsets.topic': 'sluice-offsets' });
  });

  test('without KAFKA_BOOTSTRAP_SERVERS the missing sink is a problem that says what to do', async () => {
    await assert.rejects(loadConfigFiles([join(FIXTURES, 'debezium-postgres.json')], { env: {} }), (err: unknown) => {
      assert.ok(err instanceof ConfigProblemsError);
      assert.match(err.problems.join('\n'), /sink: is not set: set KAFKA_BOOTSTRAP_SERVERS/);
      return true;
    });
  });

  test('a sink file beside a Debezium config supplies the sink', () => {
    const connector = JSON.stringify({
      name: 'c1',
      config: { 'connector.class': 'io.debezium.connector.mariadb.MariaDbConnector', 'topic.prefix': 'm', 'database.hostname': 'h', 'database.user': 'u' },
    });
    const config = parseConfigSources(
      [
        { file: 'c1.json', text: connector, dir: '/cfg' },
        { file: 'sink.yaml', text: 'sink:\n  type: stdout\n', dir: '/cfg' },
      ],
      { env: {} },
    );
    assert.equal(config.connectors[0]!.kind, 'mariadb');
    assert.equal(config.sink.type, 'stdout');
  });

  test('an array of Debezium configs, and the flat config of PUT /connectors/<name>/config', () => {
    const base = { 'connector.class': 'mysql', 'topic.prefix': 'p', 'database.hostname': 'h', 'database.user': 'u' };
    const env = { KAFKA_BOOTSTRAP_SERVERS: 'k:9092' };
    const arr = parse(JSON.stringify([{ name: 'a', config: base }, { name: 'b', config: base, tasks: [], type: 'source' }]), 'all.json', env);
    assert.deepEqual(arr.connectors.map((c) => c.name), ['a', 'b']);
    const flat = parse(JSON.stringify(base), 'orders-connector.json', env);
    assert.equal(flat.connectors[0]!.name, 'orders-connector');
  });

  test('database.server.name (Debezium 1.x) stands in for topic.prefix', () => {
    const config = parse(
      JSON.stringify({ name: 'old', config: { 'connector.class': 'mysql', 'database.server.name': 'legacy', 'database.hostname': 'h', 'database.user': 'u' } }),
      'old.json',
      { KAFKA_BOOTSTRAP_SERVERS: 'k:9092' },
    );
    assert.equal(config.connectors[0]!.config['topic.prefix'], 'legacy');
  });

  test('Avro converters need a Schema Registry; SCHEMA_REGISTRY_URL overrides the file', () => {
    const cfg = (extra: Record<string, string>) =>
      JSON.stringify({
        name: 'a',
        config: { 'connector.class': 'mysql', 'topic.prefix': 'p', 'database.hostname': 'h', 'database.user': 'u', 'value.converter': AVRO_CONVERTER_CLASS, ...extra },
      });
    const problems = problemsOf(() => parse(cfg({}), 'a.json', { KAFKA_BOOTSTRAP_SERVERS: 'k:1' }));
    assert.deepEqual(problems, ['a.json: config.value.converter.schema.registry.url: is required by the Avro converter (or set SCHEMA_REGISTRY_URL)']);

    const fromFile = parse(cfg({ 'value.converter.schema.registry.url': 'http://sr:8081', 'value.converter.basic.auth.user.info': 'u:p' }), 'a.json', {
      KAFKA_BOOTSTRAP_SERVERS: 'k:1',
    });
    assert.equal(fromFile.connectors[0]!.converters.value.schemaRegistryUrl, 'http://sr:8081');
    assert.equal(fromFile.connectors[0]!.converters.value.properties['basic.auth.user.info'], 'u:p');
    assert.equal(fromFile.connectors[0]!.converters.key.format, 'json');

    const overridden = parse(cfg({ 'value.converter.schema.registry.url': 'http://sr:8081' }), 'a.json', {
      KAFKA_BOOTSTRAP_SERVERS: 'k:1',
      SCHEMA_REGISTRY_URL: 'http://test-sr:1234',
    });
    assert.equal(overridden.connectors[0]!.converters.value.schemaRegistryUrl, 'http://test-sr:1234');
  });

  test('KAFKA_BOOTSTRAP_SERVERS overrides the sink file; other Kafka sink keys pass through', () => {
    const text = `${PG_YAML.split('sink:')[0]}sink:\n  type: kafka\n  bootstrap.servers: prod:9092\n  security:\n    protocol: SASL_SSL\n`;
    const config = parse(text, 's.yaml', { KAFKA_BOOTSTRAP_SERVERS: 'test:9092' });
    assert.equal(config.sink.type, 'kafka');
    if (config.sink.type === 'kafka') {
      assert.equal(config.sink['bootstrap.servers'], 'test:9092');
      assert.equal(config.sink['security.protocol'], 'SASL_SSL');
      assert.equal(config.sink['offsets.topic'], 'sluice-offsets');
    }
  });
});

describe('environment substitution', () => {
  const yaml = (password: string, host = 'db') => `
connectors:
  - name: c
    config:
      connector.class: postgres
      topic.prefix: p
      database.hostname: ${host}
      database.user: u
      database.password: "${password}"
      database.dbname: d
sink: { type: stdout }
`;

  test('${VAR}, ${VAR:-default}, ${env:VAR} and the $${...} escape', () => {
    const c1 = parse(yaml('${DB_PASSWORD}', '${DB_HOST:-localhost}'), 's.yaml', { DB_PASSWORD: 'pw1' }).connectors[0]!;
    assert.equal(c1.config['database.password'], 'pw1');
    assert.equal(c1.config['database.hostname'], 'localhost');
    const c2 = parse(yaml('${env:DB_PASSWORD}', '${DB_HOST:-localhost}'), 's.yaml', { DB_PASSWORD: 'pw2', DB_HOST: 'db2' }).connectors[0]!;
    assert.equal(c2.config['database.password'], 'pw2');
    assert.equal(c2.config['database.hostname'], 'db2');
    const c3 = parse(yaml('a$${NOT_A_VAR}b'), 's.yaml', {}).connectors[0]!;
    assert.equal(c3.config['database.password'], 'a${NOT_A_VAR}b');
  });

  test('a missing variable is a ConfigError naming it and the field', () => {
    const problems = problemsOf(() => parse(yaml('${DB_PASSWORD}', '${DB_HOST}'), 's.yaml', {}));
    assert.deepEqual(problems, [
      's.yaml: connectors[0].config.database.hostname: environment variable DB_HOST is not set',
      's.yaml: connectors[0].config.database.password: environment variable DB_PASSWORD is not set',
    ]);
  });

  test("Kafka Connect's ${file:...} config provider is refused clearly", () => {
    const problems = problemsOf(() => parse(yaml('${file:/opt/secrets.properties:password}'), 's.yaml', {}));
    assert.equal(problems.length, 1);
    assert.match(problems[0]!, /database\.password: uses Kafka Connect's \$\{file:\.\.\.\} config provider, which Sluice does not support; use \$\{ENV_VAR\}/);
  });
});

describe('errors name the field and the allowed values, all at once', () => {
  test('every problem of a file is listed in one ConfigError, with full dotted paths', () => {
    const text = `
connectors:
  - name: ok-name
    config:
      connector.class: io.debezium.connector.postgresql.PostgresConnector
      topic.prefix: shop
      database.hostname: h
      database.user: u
      snapshot:
        mode: sometimes
      tombstones.on.delete: maybe
      max.batch.size: "-5"
  - name: "bad name!"
    config:
      connector.class: io.debezium.connector.oracle.OracleConnector
      topic.prefix: x
      database.hostname: h
      database.user: u
sink:
  type: kafak
`;
    const problems = problemsOf(() => parse(text, 'bad.yaml'));
    assert.deepEqual(problems, [
      'bad.yaml: connectors[0].config.snapshot.mode: must be one of: initial, initial_only, no_data, never, when_needed, always, recovery, schema_only, schema_only_recovery (got "sometimes")',
      'bad.yaml: connectors[0].config.tombstones.on.delete: must be true or false (got "maybe")',
      'bad.yaml: connectors[0].config.max.batch.size: must be at least 1 (got -5)',
      'bad.yaml: connectors[0].config.database.dbname: is required for a Postgres connector (the database to capture)',
      'bad.yaml: connectors[1].name: may hold only letters, digits, ".", "_" and "-" (it names offsets and transactional ids)',
      'bad.yaml: connectors[1].config.connector.class: must be one of: io.debezium.connector.postgresql.PostgresConnector, io.debezium.connector.mysql.MySqlConnector, io.debezium.connector.mariadb.MariaDbConnector, postgres, postgresql, mysql, mariadb (got "io.debezium.connector.oracle.OracleConnector")',
      'bad.yaml: sink.type: must be one of: kafka, stdout, file (got "kafak")',
    ]);
  });

  test('missing required fields, unknown top-level keys, duplicates and bad YAML', () => {
    const missing = problemsOf(() => parse('connectors:\n  - name: c\n    config:\n      connector.class: mysql\nsink: {type: stdout}\nconector: 1\n'));
    assert.deepEqual(missing, [
      'sluice.yaml: conector: is not a known key; allowed: connectors, sink, offsets',
      'sluice.yaml: connectors[0].config.topic.prefix: is required',
      'sluice.yaml: connectors[0].config.database.hostname: is required',
      'sluice.yaml: connectors[0].config.database.user: is required',
    ]);
    const entry = '  - name: c\n    config: {connector.class: mysql, topic.prefix: p, database.hostname: h, database.user: u}\n';
    const dup = problemsOf(() => parse(`connectors:\n${entry}${entry}sink: {type: stdout}\n`));
    assert.equal(dup.length, 1);
    assert.match(dup[0]!, /connectors\[1\]\.name: "c" is already used by sluice\.yaml: connectors\[0\]/);
    const twice = problemsOf(() =>
      parse('connectors:\n  - name: c\n    config: {connector.class: mysql, topic.prefix: p, database.hostname: h, database.user: u, snapshot.mode: initial, snapshot: {mode: never}}\nsink: {type: stdout}\n'),
    );
    assert.deepEqual(twice, ['sluice.yaml: connectors[0].config.snapshot.mode: is set twice (once as a dotted key, once nested); keep one']);
    const yaml = problemsOf(() => parse('connectors: [\n'));
    assert.equal(yaml.length, 1);
    assert.match(yaml[0]!, /^sluice\.yaml: is not valid YAML/);
    const sinkKey = problemsOf(() => parse(`connectors:\n${entry}sink: {type: file}\n`));
    assert.deepEqual(sinkKey, ['sluice.yaml: sink.path: is required (the file records are appended to)']);
  });

  test('a missing file is reported by name', async () => {
    await assert.rejects(loadConfigFiles(['/nonexistent/sluice.yaml']), /\/nonexistent\/sluice\.yaml: file not found/);
  });
});

describe('unsupported properties and secrets', () => {
  test('unsupported Debezium properties are listed in ONE warning', async () => {
    const captured = captureLogger('warn');
    const config = await loadConfigFiles([join(FIXTURES, 'debezium-mysql.json')], {
      env: { KAFKA_BOOTSTRAP_SERVERS: 'k:9092' },
      logger: captured.logger,
    });
    const warnings = captured.records().filter((r) => r.level === 40);
    assert.equal(warnings.length, 1);
    assert.match(String(warnings[0]!.msg), /inventory-connector: transforms, transforms\.unwrap\.type/);
    // schema.history.internal.* is accepted for compatibility (documented as ignored), so it is not in the warning
    assert.doesNotMatch(String(warnings[0]!.msg), /schema\.history/);
    assert.deepEqual(config.warnings, [warnings[0]!.msg]);
  });

  test('a property of another connector type is reported in the same warning', () => {
    const captured = captureLogger('warn');
    const text = `connectors:
  - {name: a, config: {connector.class: mysql, topic.prefix: p, database.hostname: h, database.user: u, slot.name: s, max.queue.size.in.bytes: 10}}
  - {name: b, config: {connector.class: postgres, topic.prefix: p, database.hostname: h, database.user: u, database.dbname: d, snapshot.isolation.mode: serializable}}
sink: {type: stdout}
`;
    parse(text, 's.yaml', {}, captured.logger);
    const warnings = captured.records().filter((r) => r.level === 40);
    assert.equal(warnings.length, 1);
    assert.match(String(warnings[0]!.msg), /a: max\.queue\.size\.in\.bytes, slot\.name \(not for mysql\); b: snapshot\.isolation\.mode/);
  });

  test('secrets never reach the logs or the error messages', () => {
    const secret = 'Sup3r-s3cret-pw';
    const captured = captureLogger('trace');
    const text = `connectors:
  - name: c
    config:
      connector.class: postgres
      topic.prefix: p
      database.hostname: h
      database.user: u
      database.password: \${DB_PASSWORD}
      database.dbname: d
      value.converter: avro
      value.converter.schema.registry.url: http://sr
      value.converter.basic.auth.user.info: \${SR_AUTH}
      some.unsupported.key: 1
sink: {type: stdout}
`;
    parse(text, 's.yaml', { DB_PASSWORD: secret, SR_AUTH: `user:${secret}` }, captured.logger);
    const logged = captured.text();
    assert.ok(logged.length > 0, 'the loader logged something');
    assert.match(logged, /"database\.password":"\*\*\*"/);
    assert.ok(!logged.includes(secret), 'a secret reached the log');

    // a bad value in a secret field is not echoed in the error
    const bad = text.replace('database.dbname: d', 'database.dbname: d\n      database.password.bogus: 1').replace('database.password: ${DB_PASSWORD}', 'database.password: [1, 2]');
    const problems = problemsOf(() => parse(bad, 's.yaml', { SR_AUTH: secret }));
    assert.ok(problems.some((p) => /database\.password: must be a string/.test(p)));
    assert.ok(!problems.join('\n').includes(secret));
  });
});

describe('files on disk', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sluice-config-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('several files merge; conflicting sinks are refused', async () => {
    const a = join(dir, 'a.yaml');
    const b = join(dir, 'b.yaml');
    const c = join(dir, 'c.yaml');
    await writeFile(a, 'connectors:\n  - {name: a, config: {connector.class: mysql, topic.prefix: p, database.hostname: h, database.user: u}}\nsink: {type: stdout}\n');
    await writeFile(b, 'connectors:\n  - {name: b, config: {connector.class: mysql, topic.prefix: q, database.hostname: h, database.user: u}}\nsink: {type: stdout}\n');
    await writeFile(c, 'sink: {type: file, path: x.jsonl}\n');
    const ok = await loadConfigFiles([a, b], { env: {} });
    assert.deepEqual(ok.connectors.map((x) => x.name), ['a', 'b']);
    await assert.rejects(loadConfigFiles([a, c], { env: {} }), (err: unknown) => {
      assert.ok(err instanceof ConfigProblemsError);
      assert.deepEqual(err.problems, [`${c}: sink: differs from the sink defined in ${a}; define the sink in one file only`]);
      return true;
    });
  });
});
