// The same tests against the machine's Debian Postgres (15 on this machine) instead of embedded 18.
import { availablePostgresFlavors } from '../support/postgres.js';

if (availablePostgresFlavors().includes('debian')) {
  process.env['SLUICE_PG_FLAVOR'] = 'debian';
  await import('../postgres/resume.test.js');
} else {
  const { test } = await import('node:test');
  test('Debian Postgres tests', { skip: 'no Debian PostgreSQL binaries on this machine (apt-get install postgresql)' }, () => {});
}
