import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { connectorConfigShape, PROPERTIES, checkProperties, lookupProperty } from '../../src/config/index.js';

const DOC = readFileSync(new URL('../../docs/debezium-properties.md', import.meta.url), 'utf8');

/** `| \`key\` | connectors | default | ...` rows of the doc, by key. */
function docRows(): Map<string, string[]> {
  const rows = new Map<string, string[]>();
  for (const line of DOC.split('\n')) {
    const m = /^\| `([^`]+)` \|(.*)\|\s*$/.exec(line);
    if (m) rows.set(m[1]!, m[2]!.split('|').map((c) => c.trim()));
  }
  return rows;
}

type Parser = { safeParse(v: unknown): { success: boolean; data?: unknown } };

test('every property Sluice supports is documented in docs/debezium-properties.md', () => {
  const rows = docRows();
  const missing = PROPERTIES.map((p) => p.key).filter((k) => !rows.has(k));
  assert.deepEqual(missing, [], 'add these keys to docs/debezium-properties.md');
  const unknown = [...rows.keys()].filter((k) => !PROPERTIES.some((p) => p.key === k));
  assert.deepEqual(unknown, [], 'the doc lists keys that are not in src/config/properties.ts');
});

test("the doc's status and Sluice default columns match the code", () => {
  const rows = docRows();
  const shape = connectorConfigShape as unknown as Record<string, Parser>;
  for (const p of PROPERTIES) {
    const [, sluiceDefault, , status] = rows.get(p.key) ?? [];
    assert.equal(status, p.status, `status of ${p.key}`);
    const schema = shape[p.key];
    if (!schema) continue;
    const r = schema.safeParse(undefined);
    const expected = !r.success ? '*(required)*' : r.data === undefined ? '—' : r.data === '' ? '`` (empty)' : `\`${String(r.data)}\``;
    assert.equal(sluiceDefault, expected, `Sluice default of ${p.key}`);
  }
});

test('every key of the connector config schema is in the property table', () => {
  const missing = Object.keys(connectorConfigShape).filter((k) => lookupProperty(k) === undefined);
  assert.deepEqual(missing, [], 'add these keys to PROPERTIES in src/config/properties.ts (and to the doc)');
});

test('prefix rows match keys under the prefix only', () => {
  assert.equal(lookupProperty('value.converter.basic.auth.user.info')?.key, 'value.converter.*');
  assert.equal(lookupProperty('schema.history.internal.store.only.captured.tables.ddl')?.key, 'schema.history.internal.*');
  assert.deepEqual(checkProperties(['transforms', 'value.converter.', 'slot.name'], 'mysql'), {
    unsupported: ['transforms', 'value.converter.'],
    notApplicable: ['slot.name'],
  });
});
