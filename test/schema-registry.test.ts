/**
 * The test Schema Registry (test/support/schema-registry.ts): REST API,
 * schema identity, error codes, Avro compatibility levels, and a round trip
 * through @kafkajs/confluent-schema-registry.
 *
 * With SCHEMA_REGISTRY_URL set the same tests run against that server; they
 * use unique subject names and restore the global configuration they change.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { SchemaRegistry, SchemaType, COMPATIBILITY } from '@kafkajs/confluent-schema-registry';
import { checkReadCompatibility, startSchemaRegistry, type SchemaRegistryInstance } from './support/schema-registry.js';

let registry: SchemaRegistryInstance;
const run = randomBytes(4).toString('hex');
let subjectCounter = 0;
/** A subject name not used before in this run. */
const subject = (label: string): string => `${label}-${run}-${++subjectCounter}`;

interface Reply {
  status: number;
  contentType: string | null;
  body: any; // JSON of any shape
}

async function api(method: string, path: string, body?: unknown): Promise<Reply> {
  const res = await fetch(`${registry.url}${path}`, {
    method,
    headers: { 'Content-Type': 'application/vnd.schemaregistry.v1+json', Accept: 'application/vnd.schemaregistry.v1+json' },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: res.status, contentType: res.headers.get('content-type'), body: parsed };
}

const enc = encodeURIComponent;
const register = (s: string, schema: unknown): Promise<Reply> =>
  api('POST', `/subjects/${enc(s)}/versions`, { schema: typeof schema === 'string' ? schema : JSON.stringify(schema) });
const setLevel = (s: string, level: string): Promise<Reply> => api('PUT', `/config/${enc(s)}`, { compatibility: level });

function record(name: string, fields: unknown[], extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { type: 'record', name, namespace: 'sluice.test', fields, ...extra };
}

/** Registers `first` under a fresh subject with `level`, then tries `second`; returns the second reply. */
async function evolve(level: string, first: unknown, second: unknown): Promise<Reply> {
  const s = subject(level.toLowerCase());
  assert.equal((await setLevel(s, level)).status, 200);
  const r1 = await register(s, first);
  assert.equal(r1.status, 200, JSON.stringify(r1.body));
  return register(s, second);
}

async function assertCompatible(level: string, first: unknown, second: unknown): Promise<void> {
  const reply = await evolve(level, first, second);
  assert.equal(reply.status, 200, `expected ${level} to accept: ${JSON.stringify(reply.body)}`);
  assert.equal(typeof reply.body.id, 'number');
}

async function assertIncompatible(level: string, first: unknown, second: unknown): Promise<void> {
  const reply = await evolve(level, first, second);
  assert.equal(reply.status, 409, `expected ${level} to refuse: ${JSON.stringify(reply.body)}`);
  assert.equal(reply.body.error_code, 409);
  assert.equal(reply.contentType, 'application/vnd.schemaregistry.v1+json');
}

before(async () => {
  registry = await startSchemaRegistry();
});

after(async () => {
  await registry?.stop();
});

const user = record('User', [
  { name: 'id', type: 'long' },
  { name: 'name', type: 'string' },
]);

describe('registration and lookup', () => {
  it('gives the same id to the same schema, in any subject and any formatting', async () => {
    const s1 = subject('same');
    const s2 = subject('same');
    const first = await register(s1, user);
    assert.equal(first.status, 200);
    assert.equal(first.contentType, 'application/vnd.schemaregistry.v1+json');
    assert.ok(Number.isInteger(first.body.id) && first.body.id > 0);
    assert.deepEqual(Object.keys(first.body), ['id']);

    // Again in the same subject: same id, no new version.
    assert.deepEqual((await register(s1, user)).body, { id: first.body.id });
    // Same schema, other whitespace, key order and namespace spelling.
    const respelled = `{ "fields": [ {"type":"long","name":"id"}, {"name":"name","type":{"type":"string"}} ],
      "name": "sluice.test.User", "type": "record" }`;
    assert.deepEqual((await register(s1, respelled)).body, { id: first.body.id });
    assert.deepEqual((await api('GET', `/subjects/${enc(s1)}/versions`)).body, [1]);

    // Another subject: same id, version 1 there.
    assert.deepEqual((await register(s2, respelled)).body, { id: first.body.id });
    const versions = (await api('GET', `/schemas/ids/${first.body.id}/versions`)).body as { subject: string; version: number }[];
    assert.deepEqual(
      versions.filter((v) => v.subject === s1 || v.subject === s2).sort((a, b) => a.subject.localeCompare(b.subject)),
      [
        { subject: s1, version: 1 },
        { subject: s2, version: 1 },
      ],
    );

    // A different doc is a different schema.
    const documented = await register(s2, { ...user, doc: 'a user' });
    assert.equal(documented.status, 200);
    assert.notEqual(documented.body.id, first.body.id);
    assert.deepEqual((await api('GET', `/subjects/${enc(s2)}/versions`)).body, [1, 2]);
  });

  it('serves a canonical text that registers as the same schema again', async () => {
    const s = subject('canonical');
    await setLevel(s, 'NONE');
    const schemas: unknown[] = [
      {
        type: 'record',
        name: 'A',
        namespace: 'x.y',
        fields: [
          { name: 'b', type: { type: 'record', name: 'B', fields: [{ name: 'c', type: { type: 'enum', name: 'C', namespace: '', symbols: ['P'] } }] } },
          { name: 'b2', type: 'B' },
          { name: 'd', type: { type: 'int', logicalType: 'date' } },
          { name: 'e', type: { type: 'bytes', logicalType: 'decimal', precision: 10, scale: 2 } },
          { name: 'f', type: { type: 'fixed', name: 'F', namespace: 'other', size: 4 } },
          { name: 'g', type: 'other.F', doc: 'doc', default: 'abcd', order: 'descending', 'connect.x': 1 },
          { name: 'n', type: ['null', 'A'], default: null },
        ],
      },
      'string',
      ['null', 'string'],
      { type: 'map', values: { type: 'array', items: 'long' } },
    ];
    for (const schema of schemas) {
      const { body: reg } = await register(s, JSON.stringify(schema));
      const text = (await api('GET', `/schemas/ids/${reg.id}`)).body.schema as string;
      assert.deepEqual((await register(subject('canonical-again'), text)).body, { id: reg.id }, text);
    }
    // {"type": "string"} is "string".
    assert.deepEqual((await register(s, { type: 'string' })).body, (await register(s, '"string"')).body);
  });

  it('serves schemas by id, versions and subjects', async () => {
    const s = subject('read');
    const { body: reg } = await register(s, user);
    const byId = await api('GET', `/schemas/ids/${reg.id}`);
    assert.equal(byId.status, 200);
    assert.equal(typeof byId.body.schema, 'string');
    const parsed = JSON.parse(byId.body.schema);
    assert.equal(parsed.type, 'record');
    assert.deepEqual(
      parsed.fields.map((f: { name: string }) => f.name),
      ['id', 'name'],
    );

    const latest = await api('GET', `/subjects/${enc(s)}/versions/latest`);
    assert.deepEqual(latest.body, { subject: s, version: 1, id: reg.id, schema: byId.body.schema });
    assert.deepEqual((await api('GET', `/subjects/${enc(s)}/versions/1`)).body, latest.body);
    assert.deepEqual((await api('GET', `/subjects/${enc(s)}/versions/-1`)).body, latest.body);
    const raw = await api('GET', `/subjects/${enc(s)}/versions/1/schema`);
    assert.deepEqual(raw.body, parsed);

    const subjects = (await api('GET', '/subjects')).body as string[];
    assert.ok(subjects.includes(s));

    // Lookup: is this schema registered under the subject?
    const found = await api('POST', `/subjects/${enc(s)}`, { schema: JSON.stringify(user) });
    assert.equal(found.status, 200);
    assert.deepEqual(found.body, latest.body);
    const missing = await api('POST', `/subjects/${enc(s)}`, { schema: JSON.stringify(record('Other', [])) });
    assert.equal(missing.status, 404);
    assert.equal(missing.body.error_code, 40403);
  });

  it("answers with Confluent's 404 error codes", async () => {
    const s = subject('missing');
    const unknownSubject = await api('GET', `/subjects/${enc(s)}/versions`);
    assert.equal(unknownSubject.status, 404);
    assert.equal(unknownSubject.body.error_code, 40401);
    assert.equal(unknownSubject.contentType, 'application/vnd.schemaregistry.v1+json');
    assert.equal((await api('GET', `/subjects/${enc(s)}/versions/latest`)).body.error_code, 40401);
    assert.equal((await api('POST', `/subjects/${enc(s)}`, { schema: '"string"' })).body.error_code, 40401);

    await register(s, '"string"');
    const unknownVersion = await api('GET', `/subjects/${enc(s)}/versions/42`);
    assert.equal(unknownVersion.status, 404);
    assert.equal(unknownVersion.body.error_code, 40402);
    const badVersion = await api('GET', `/subjects/${enc(s)}/versions/abc`);
    assert.equal(badVersion.status, 422);
    assert.equal(badVersion.body.error_code, 42202);

    const unknownId = await api('GET', '/schemas/ids/987654321');
    assert.equal(unknownId.status, 404);
    assert.equal(unknownId.body.error_code, 40403);
  });

  it('refuses invalid schemas with 422 / 42201', async () => {
    const s = subject('invalid');
    const invalid: unknown[] = [
      '{"type": "record", "name": "X"', // not JSON
      '{"type": "nonsense"}',
      '"NoSuchType"',
      record('X', [{ name: 'a', type: 'int', default: 'not an int' }]),
      record('X', [{ name: 'a', type: ['null', 'string'], default: 'not null' }]),
      record('X', [
        { name: 'a', type: 'int' },
        { name: 'a', type: 'string' },
      ]),
      record('1X', [{ name: 'a', type: 'int' }]),
      { type: 'enum', name: 'E', symbols: ['A', 'A'] },
      { type: 'fixed', name: 'F' },
      { type: 'array' },
    ];
    for (const schema of invalid) {
      const reply = await register(s, schema);
      assert.equal(reply.status, 422, `expected 422 for ${JSON.stringify(schema)}: ${JSON.stringify(reply.body)}`);
      assert.equal(reply.body.error_code, 42201);
      assert.equal(typeof reply.body.message, 'string');
    }
    assert.equal((await api('POST', `/subjects/${enc(s)}/versions`, { schema: '{"type":"object"}', schemaType: 'JSON' })).status, 422);
    assert.equal((await api('GET', `/subjects/${enc(s)}/versions`)).status, 404, 'nothing was registered');
  });

  it('deletes subjects (soft, then permanently) and keeps numbering versions', async () => {
    const s = subject('delete');
    await register(s, record('D', [{ name: 'a', type: 'int' }]));
    await register(s, record('D', [{ name: 'a', type: 'int' }, { name: 'b', type: 'int', default: 0 }]));
    const deleted = await api('DELETE', `/subjects/${enc(s)}`);
    assert.equal(deleted.status, 200);
    assert.deepEqual(deleted.body, [1, 2]);
    assert.equal((await api('GET', `/subjects/${enc(s)}/versions`)).body.error_code, 40401);
    assert.ok(!((await api('GET', '/subjects')).body as string[]).includes(s));
    assert.ok(((await api('GET', '/subjects?deleted=true')).body as string[]).includes(s));

    const again = await register(s, record('D', [{ name: 'a', type: 'int' }]));
    assert.equal(again.status, 200);
    assert.deepEqual((await api('GET', `/subjects/${enc(s)}/versions`)).body, [3]);

    await api('DELETE', `/subjects/${enc(s)}`);
    assert.equal((await api('DELETE', `/subjects/${enc(s)}?permanent=true`)).status, 200);
    assert.equal((await api('GET', `/subjects/${enc(s)}/versions?deleted=true`)).body.error_code, 40401);
  });
});

describe('configuration', () => {
  it('has a global level (BACKWARD by default) and subject levels', async () => {
    const global = await api('GET', '/config');
    assert.equal(global.status, 200);
    if (!registry.external) assert.deepEqual(global.body, { compatibilityLevel: 'BACKWARD' });

    const s = subject('config');
    const none = await api('GET', `/config/${enc(s)}`);
    assert.equal(none.status, 404);
    assert.equal((await api('GET', `/config/${enc(s)}?defaultToGlobal=true`)).body.compatibilityLevel, global.body.compatibilityLevel);

    const put = await setLevel(s, 'FULL_TRANSITIVE');
    assert.equal(put.status, 200);
    assert.deepEqual(put.body, { compatibility: 'FULL_TRANSITIVE' });
    assert.deepEqual((await api('GET', `/config/${enc(s)}`)).body, { compatibilityLevel: 'FULL_TRANSITIVE' });

    const bad = await setLevel(s, 'SIDEWAYS');
    assert.equal(bad.status, 422);
    assert.equal(bad.body.error_code, 42203);

    const del = await api('DELETE', `/config/${enc(s)}`);
    assert.equal(del.status, 200);
    assert.equal(del.body.compatibilityLevel, 'FULL_TRANSITIVE');
    assert.equal((await api('GET', `/config/${enc(s)}`)).status, 404);
  });

  it('applies the global level to subjects without their own', { skip: Boolean(process.env['SCHEMA_REGISTRY_URL']) }, async () => {
    const previous = (await api('GET', '/config')).body.compatibilityLevel as string;
    try {
      assert.deepEqual((await api('PUT', '/config', { compatibility: 'NONE' })).body, { compatibility: 'NONE' });
      const s = subject('global');
      await register(s, record('G', [{ name: 'a', type: 'int' }]));
      assert.equal((await register(s, record('G', [{ name: 'a', type: 'string' }]))).status, 200);
    } finally {
      await api('PUT', '/config', { compatibility: previous });
    }
  });
});

describe('compatibility levels', () => {
  const v1 = record('Evolving', [
    { name: 'id', type: 'long' },
    { name: 'name', type: 'string' },
  ]);
  const addedWithDefault = record('Evolving', [
    { name: 'id', type: 'long' },
    { name: 'name', type: 'string' },
    { name: 'email', type: ['null', 'string'], default: null },
  ]);
  const addedWithoutDefault = record('Evolving', [
    { name: 'id', type: 'long' },
    { name: 'name', type: 'string' },
    { name: 'email', type: 'string' },
  ]);
  const removedName = record('Evolving', [{ name: 'id', type: 'long' }]);
  const v1WithNameDefault = record('Evolving', [
    { name: 'id', type: 'long' },
    { name: 'name', type: 'string', default: '' },
  ]);

  it('BACKWARD: new schema reads old data', async () => {
    await assertCompatible('BACKWARD', v1, addedWithDefault);
    await assertIncompatible('BACKWARD', v1, addedWithoutDefault);
    await assertCompatible('BACKWARD', v1, removedName);
  });

  it('FORWARD: old schema reads new data', async () => {
    await assertCompatible('FORWARD', v1, addedWithoutDefault);
    await assertCompatible('FORWARD', v1, addedWithDefault);
    await assertIncompatible('FORWARD', v1, removedName);
    await assertCompatible('FORWARD', v1WithNameDefault, removedName);
  });

  it('FULL: both directions', async () => {
    await assertCompatible('FULL', v1, addedWithDefault);
    await assertIncompatible('FULL', v1, addedWithoutDefault);
    await assertIncompatible('FULL', v1, removedName);
    await assertCompatible('FULL', v1WithNameDefault, removedName);
  });

  it('NONE: anything goes', async () => {
    await assertCompatible('NONE', v1, addedWithoutDefault);
    await assertCompatible('NONE', v1, record('Evolving', [{ name: 'id', type: 'string' }]));
    await assertCompatible('NONE', v1, '"string"');
  });

  it('_TRANSITIVE levels check every version, the others only the latest', async () => {
    const a = record('T', [{ name: 'x', type: 'int' }]);
    const b = record('T', []);
    const c = record('T', [{ name: 'x', type: 'string', default: '' }]);
    for (const [level, ok] of [
      ['BACKWARD', true],
      ['BACKWARD_TRANSITIVE', false],
    ] as const) {
      const s = subject(level.toLowerCase());
      await setLevel(s, level);
      assert.equal((await register(s, a)).status, 200);
      assert.equal((await register(s, b)).status, 200);
      assert.equal((await register(s, c)).status, ok ? 200 : 409, level);
    }
    // FORWARD_TRANSITIVE: every old schema must read the new data.
    const f1 = record('F', [{ name: 'x', type: 'int' }]);
    const f2 = record('F', [{ name: 'x', type: 'int', default: 0 }]);
    const f3 = record('F', []);
    for (const [level, ok] of [
      ['FORWARD', true],
      ['FORWARD_TRANSITIVE', false],
      ['FULL', true],
      ['FULL_TRANSITIVE', false],
    ] as const) {
      const s = subject(level.toLowerCase());
      await setLevel(s, level);
      assert.equal((await register(s, f1)).status, 200);
      assert.equal((await register(s, f2)).status, 200);
      assert.equal((await register(s, f3)).status, ok ? 200 : 409, level);
    }
  });

  it('type promotions: int→long→float→double, string↔bytes', async () => {
    const withType = (type: unknown): Record<string, unknown> => record('P', [{ name: 'v', type }]);
    for (const [from, to] of [
      ['int', 'long'],
      ['int', 'float'],
      ['int', 'double'],
      ['long', 'float'],
      ['long', 'double'],
      ['float', 'double'],
      ['string', 'bytes'],
      ['bytes', 'string'],
    ]) {
      await assertCompatible('BACKWARD', withType(from), withType(to));
    }
    for (const [from, to] of [
      ['long', 'int'],
      ['double', 'float'],
      ['float', 'long'],
      ['int', 'string'],
      ['boolean', 'int'],
      ['string', 'int'],
    ]) {
      await assertIncompatible('BACKWARD', withType(from), withType(to));
    }
    // A promotion is one-way: FULL refuses it.
    await assertIncompatible('FULL', withType('int'), withType('long'));
    await assertCompatible('FULL', withType('string'), withType('bytes'));
  });

  it('enums: added symbols, removed symbols, enum defaults', async () => {
    const e = (symbols: string[], extra: Record<string, unknown> = {}): Record<string, unknown> =>
      record('WithEnum', [{ name: 'e', type: { type: 'enum', name: 'Color', symbols, ...extra } }]);
    await assertCompatible('BACKWARD', e(['RED', 'GREEN']), e(['RED', 'GREEN', 'BLUE']));
    await assertIncompatible('FORWARD', e(['RED', 'GREEN']), e(['RED', 'GREEN', 'BLUE']));
    await assertCompatible('FORWARD', e(['RED', 'GREEN', 'OTHER'], { default: 'OTHER' }), e(['RED', 'GREEN', 'OTHER', 'BLUE']));
    await assertIncompatible('BACKWARD', e(['RED', 'GREEN']), e(['RED']));
    await assertCompatible('BACKWARD', e(['RED', 'GREEN']), e(['RED', 'UNKNOWN'], { default: 'UNKNOWN' }));
    // Renaming the enum breaks; an alias for the old name mends it.
    const renamed = record('WithEnum', [{ name: 'e', type: { type: 'enum', name: 'Colour', symbols: ['RED'] } }]);
    const aliased = record('WithEnum', [{ name: 'e', type: { type: 'enum', name: 'Colour', aliases: ['Color'], symbols: ['RED'] } }]);
    await assertIncompatible('BACKWARD', e(['RED']), renamed);
    await assertCompatible('BACKWARD', e(['RED']), aliased);
  });

  it('unions', async () => {
    const f = (type: unknown, extra: Record<string, unknown> = {}): Record<string, unknown> => record('U', [{ name: 'v', type, ...extra }]);
    await assertCompatible('BACKWARD', f('string'), f(['null', 'string']));
    await assertIncompatible('BACKWARD', f(['null', 'string']), f('string'));
    await assertCompatible('FORWARD', f(['null', 'string']), f('string'));
    await assertCompatible('BACKWARD', f(['null', 'int']), f(['null', 'long', 'string']));
    await assertIncompatible('BACKWARD', f(['null', 'int', 'string']), f(['null', 'int']));
    await assertCompatible('BACKWARD', f(['int', 'string']), f(['string', 'int']));
    // A new branch: the new schema reads old data, the old one cannot read the new branch.
    await assertCompatible('BACKWARD', f(['null', 'string'], { default: null }), f(['null', 'string', 'int'], { default: null }));
    await assertIncompatible('FULL', f(['null', 'string'], { default: null }), f(['null', 'string', 'int'], { default: null }));
    await assertCompatible('FULL', f(['null', 'string']), f(['string', 'null']));
    await assertIncompatible('FULL', f(['null', 'string'], { default: null }), f(['null', 'int'], { default: null }));
  });

  it('nested records, arrays, maps, fixed and named types', async () => {
    const address = (fields: unknown[]): Record<string, unknown> => ({ type: 'record', name: 'Address', fields });
    const person = (addressFields: unknown[]): Record<string, unknown> =>
      record('Person', [
        { name: 'home', type: address(addressFields) },
        { name: 'others', type: { type: 'array', items: 'Address' } },
        { name: 'byLabel', type: { type: 'map', values: 'Address' } },
      ]);
    await assertCompatible('BACKWARD', person([{ name: 'city', type: 'string' }]), person([{ name: 'city', type: 'string' }, { name: 'zip', type: 'string', default: '' }]));
    await assertIncompatible('BACKWARD', person([{ name: 'city', type: 'string' }]), person([{ name: 'city', type: 'string' }, { name: 'zip', type: 'string' }]));
    await assertIncompatible('BACKWARD', person([{ name: 'number', type: 'long' }]), person([{ name: 'number', type: 'int' }]));

    const arr = (items: unknown): Record<string, unknown> => record('A', [{ name: 'v', type: { type: 'array', items } }]);
    await assertCompatible('BACKWARD', arr('int'), arr('long'));
    await assertIncompatible('BACKWARD', arr('long'), arr('int'));
    await assertIncompatible('BACKWARD', arr('int'), record('A', [{ name: 'v', type: { type: 'map', values: 'int' } }]));

    const fixed = (size: number, name = 'Hash'): Record<string, unknown> => record('Fx', [{ name: 'v', type: { type: 'fixed', name, size } }]);
    await assertCompatible('FULL', fixed(16), fixed(16));
    await assertIncompatible('BACKWARD', fixed(16), fixed(32));
    await assertIncompatible('BACKWARD', fixed(16), fixed(16, 'Digest'));

    // Renamed top-level record: incompatible, unless the new one lists the old full name as an alias.
    await assertIncompatible('BACKWARD', record('Old', [{ name: 'a', type: 'int' }]), record('New', [{ name: 'a', type: 'int' }]));
    await assertCompatible('BACKWARD', record('Old', [{ name: 'a', type: 'int' }]), record('New', [{ name: 'a', type: 'int' }], { aliases: ['sluice.test.Old'] }));
    // Renamed field with an alias for the old name.
    await assertCompatible('BACKWARD', record('R', [{ name: 'a', type: 'int' }]), record('R', [{ name: 'b', type: 'int', aliases: ['a'] }]));
    await assertIncompatible('BACKWARD', record('R', [{ name: 'a', type: 'int' }]), record('R', [{ name: 'b', type: 'int' }]));
  });

  it('recursive types', async () => {
    const list = (extra: unknown[] = []): Record<string, unknown> =>
      record('Node', [{ name: 'value', type: 'int' }, { name: 'next', type: ['null', 'Node'], default: null }, ...extra]);
    await assertCompatible('FULL', list(), list([{ name: 'label', type: 'string', default: '' }]));
    await assertIncompatible('BACKWARD', list(), list([{ name: 'label', type: 'string' }]));
    const { compatible } = checkReadCompatibility(JSON.stringify(list()), JSON.stringify(list()));
    assert.equal(compatible, true);
  });

  it('the compatibility endpoint answers without registering', async () => {
    const s = subject('check');
    await register(s, v1);
    const ok = await api('POST', `/compatibility/subjects/${enc(s)}/versions/latest`, { schema: JSON.stringify(addedWithDefault) });
    assert.equal(ok.status, 200);
    assert.deepEqual(ok.body, { is_compatible: true });
    const no = await api('POST', `/compatibility/subjects/${enc(s)}/versions/1?verbose=true`, { schema: JSON.stringify(addedWithoutDefault) });
    assert.equal(no.status, 200);
    assert.equal(no.body.is_compatible, false);
    assert.ok(Array.isArray(no.body.messages) && no.body.messages.length > 0);
    assert.match(no.body.messages.join(' '), /email/);
    assert.deepEqual((await api('GET', `/subjects/${enc(s)}/versions`)).body, [1], 'nothing registered');
    assert.equal((await api('POST', `/compatibility/subjects/${enc(s)}/versions/7`, { schema: JSON.stringify(v1) })).body.error_code, 40402);
    assert.equal((await api('POST', `/compatibility/subjects/${enc(s)}/versions/latest`, { schema: '{' })).body.error_code, 42201);
  });
});

describe('@kafkajs/confluent-schema-registry round trip', () => {
  const valueSchema = {
    type: 'record' as const,
    name: 'Envelope',
    namespace: 'sluice.inventory.customers',
    fields: [
      { name: 'id', type: 'int' },
      { name: 'email', type: ['null', 'string'], default: null },
      { name: 'op', type: { type: 'enum', name: 'Op', symbols: ['c', 'u', 'd', 'r'] } },
      { name: 'ts_ms', type: { type: 'long', connect: 'kept' } },
    ],
  };

  it('registers, encodes and decodes', async () => {
    const client = new SchemaRegistry({ host: registry.url });
    const s = subject('inventory.customers-value');
    const { id } = await client.register({ type: SchemaType.AVRO, schema: JSON.stringify(valueSchema) }, { subject: s });
    assert.ok(Number.isInteger(id));
    // The client's first registration also set the subject's level (BACKWARD, its default).
    assert.deepEqual((await api('GET', `/config/${enc(s)}`)).body, { compatibilityLevel: COMPATIBILITY.BACKWARD });
    assert.equal(await client.getLatestSchemaId(s), id);
    assert.equal((await client.register({ type: SchemaType.AVRO, schema: JSON.stringify(valueSchema) }, { subject: s })).id, id);

    const payload = { id: 42, email: 'a@example.com', op: 'c', ts_ms: 1_700_000_000_000 };
    const encoded = await client.encode(id, payload);
    assert.equal(encoded[0], 0, 'magic byte');
    assert.equal(encoded.readInt32BE(1), id);

    // A fresh client (empty cache) has to fetch the writer schema by id.
    const reader = new SchemaRegistry({ host: registry.url });
    const decoded = (await reader.decode(encoded)) as Record<string, unknown>;
    assert.equal(decoded['id'], 42);
    assert.equal(decoded['op'], 'c');
    assert.equal(decoded['ts_ms'], 1_700_000_000_000);
    assert.ok(decoded['email'] === 'a@example.com' || (decoded['email'] as Record<string, unknown>)?.['string'] === 'a@example.com');

    // Evolve compatibly and read old data with the new schema.
    const v2 = { ...valueSchema, fields: [...valueSchema.fields, { name: 'source', type: 'string', default: 'mariadb' }] };
    const { id: id2 } = await client.register({ type: SchemaType.AVRO, schema: JSON.stringify(v2) }, { subject: s });
    assert.notEqual(id2, id);
    const upgraded = (await reader.decode(encoded, { [SchemaType.AVRO]: { readerSchema: v2 } })) as Record<string, unknown>;
    assert.equal(upgraded['source'], 'mariadb');
    assert.equal(upgraded['id'], 42);

    // An incompatible one is refused by the server.
    const v3 = { ...valueSchema, fields: [...valueSchema.fields, { name: 'required', type: 'string' }] };
    await assert.rejects(client.register({ type: SchemaType.AVRO, schema: JSON.stringify(v3) }, { subject: s }), /incompatible/i);
  });
});
