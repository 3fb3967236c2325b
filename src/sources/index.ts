import type { ConnectorSpec } from '../config/index.js';
import type { ConnectorContext } from '../engine/index.js';
import type { Source } from './source.js';

/**
 * The source registry: a connector's kind → its database's source. Each database's code is imported only when a
 * connector of that kind starts, so a Postgres-only process never loads the binlog driver (and the reverse).
 */
export async function createSource(spec: ConnectorSpec, ctx: ConnectorContext): Promise<Source> {
  if (spec.kind === 'postgresql') {
    const { createPostgresSource } = await import('./postgres/postgres-source.js');
    return createPostgresSource(spec.config, { logger: ctx.logger });
  }
  const { createBinlogSource } = await import('./mysql/index.js');
  return createBinlogSource(spec.config, { logger: ctx.logger });
}

export type { Source, Problem } from './source.js';
