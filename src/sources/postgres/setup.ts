/**
 * Prerequisite checks (`validate`: report every problem, change nothing) and the start-up changes the connector is
 * configured to make (publication autocreate, replica.identity.autoset.values).
 */
import type { Logger } from 'pino';
import { PrerequisiteError } from '../../errors.js';
import type { Problem } from '../source.js';
import { listTables, publicationInfo, serverInfo, slotInfo, type Queryable, type ServerInfo, type TableInfo } from './catalog.js';
import { quoteIdent } from './replication-connection.js';
import type { PgSettings } from './settings.js';

export function qualified(t: { schema: string; name: string }): string {
  return `${quoteIdent(t.schema)}.${quoteIdent(t.name)}`;
}

export function capturedTables(settings: PgSettings, tables: readonly TableInfo[]): TableInfo[] {
  return tables.filter((t) => settings.filter.includesTable(t.schema, t.name));
}

/** The CREATE PUBLICATION statement the configured mode implies. */
export function publicationStatement(settings: PgSettings, captured: readonly TableInfo[]): string {
  const name = quoteIdent(settings.publicationName);
  if (settings.publicationMode === 'filtered' || settings.publicationMode === 'disabled') {
    if (captured.length === 0) return `CREATE PUBLICATION ${name}`;
    if (settings.publicationMode === 'disabled' && settings.filter.capturesEverything) return `CREATE PUBLICATION ${name} FOR ALL TABLES`;
    return `CREATE PUBLICATION ${name} FOR TABLE ${captured.map(qualified).join(', ')}`;
  }
  if (settings.publicationMode === 'no_tables') return `CREATE PUBLICATION ${name}`;
  return `CREATE PUBLICATION ${name} FOR ALL TABLES`;
}

function walLevelProblem(info: ServerInfo): Problem | null {
  if (info.walLevel === 'logical') return null;
  return {
    severity: 'error',
    message:
      `wal_level is '${info.walLevel}', but logical decoding needs 'logical': set wal_level = logical in postgresql.conf ` +
      `(or ALTER SYSTEM SET wal_level = logical) and restart the Postgres server`,
  };
}

function replicationProblem(info: ServerInfo): Problem | null {
  if (info.replication || info.superuser) return null;
  return {
    severity: 'error',
    message: `user "${info.user}" lacks the REPLICATION privilege: run ALTER ROLE ${quoteIdent(info.user)} REPLICATION; (as a superuser)`,
  };
}

/** A captured table whose updates and deletes cannot carry a key: warn, naming the fix. */
export function keylessProblems(captured: readonly TableInfo[]): Problem[] {
  const out: Problem[] = [];
  for (const t of captured) {
    const noKey = t.primaryKey.length === 0;
    if (t.replicaIdentity === 'n' || (t.replicaIdentity === 'd' && noKey)) {
      out.push({
        severity: 'warning',
        message:
          `table ${t.schema}.${t.name} has ${noKey ? 'no primary key and ' : ''}REPLICA IDENTITY ${t.replicaIdentity === 'n' ? 'NOTHING' : 'DEFAULT'}: ` +
          `its change events have no key and, once it is in a publication that publishes updates and deletes, Postgres rejects ` +
          `UPDATE and DELETE on it. Run ALTER TABLE ${qualified(t)} REPLICA IDENTITY FULL; (or add a primary key)`,
      });
    } else if (t.replicaIdentity === 'i' && !noKey && !t.primaryKey.every((k) => t.replicaIndexColumns.includes(k))) {
      out.push({
        severity: 'warning',
        message:
          `table ${t.schema}.${t.name} has REPLICA IDENTITY USING INDEX on (${t.replicaIndexColumns.join(', ')}), which does not hold its primary key: ` +
          `delete events cannot carry the deleted row's key. Run ALTER TABLE ${qualified(t)} REPLICA IDENTITY FULL; (or DEFAULT)`,
      });
    } else if (noKey) {
      out.push({
        severity: 'warning',
        message: `table ${t.schema}.${t.name} has no primary key: its change events have a null key (set message.key.columns to choose one)`,
      });
    }
  }
  return out;
}

/** Everything `validate()` checks, read-only. */
export async function checkPrerequisites(db: Queryable, settings: PgSettings): Promise<{ problems: Problem[]; info: ServerInfo; captured: TableInfo[] }> {
  const problems: Problem[] = [];
  const info = await serverInfo(db);
  if (info.version < 10) problems.push({ severity: 'error', message: `Postgres ${info.version} is too old: logical replication with pgoutput needs Postgres 10 or later` });
  const wl = walLevelProblem(info);
  if (wl) problems.push(wl);
  const rp = replicationProblem(info);
  if (rp) problems.push(rp);

  const tables = await listTables(db);
  const captured = capturedTables(settings, tables);
  if (captured.length === 0) {
    problems.push({ severity: 'warning', message: `no table of database ${info.database} matches the table/schema include and exclude lists` });
  }
  problems.push(...keylessProblems(captured));

  const pub = await publicationInfo(db, settings.publicationName);
  if (!pub) {
    if (settings.publicationMode === 'disabled') {
      problems.push({
        severity: 'error',
        message:
          `publication "${settings.publicationName}" does not exist and publication.autocreate.mode is disabled: ` +
          `create it with: ${publicationStatement(settings, captured)};`,
      });
    } else if (!info.superuser && publicationStatement(settings, captured).endsWith('FOR ALL TABLES')) {
      problems.push({
        severity: 'error',
        message:
          `publication "${settings.publicationName}" does not exist and only a superuser may create a FOR ALL TABLES publication: ` +
          `run as a superuser: ${publicationStatement(settings, captured)}; or set publication.autocreate.mode=filtered (needs ownership of the captured tables)`,
      });
    } else if (!info.superuser) {
      const createPriv = await db.query<{ ok: boolean }>(`SELECT has_database_privilege(current_user, current_database(), 'CREATE') AS ok`);
      if (!createPriv.rows[0]?.ok) {
        problems.push({
          severity: 'error',
          message:
            `publication "${settings.publicationName}" does not exist and user "${info.user}" may not create it: ` +
            `GRANT CREATE ON DATABASE ${quoteIdent(info.database)} TO ${quoteIdent(info.user)}; or create it yourself: ${publicationStatement(settings, captured)};`,
        });
      }
    }
  } else if (!pub.allTables) {
    const missing = captured.filter((t) => !pub.tables.includes(`${t.schema}.${t.name}`));
    if (missing.length > 0 && settings.publicationMode !== 'filtered') {
      problems.push({
        severity: 'warning',
        message:
          `publication "${settings.publicationName}" does not publish ${missing.map((t) => `${t.schema}.${t.name}`).join(', ')}: ` +
          `their changes will not be streamed. Run ALTER PUBLICATION ${quoteIdent(settings.publicationName)} ADD TABLE ${missing.map(qualified).join(', ')};`,
      });
    }
  }

  const slot = await slotInfo(db, settings.slotName);
  if (slot) {
    if (slot.active) {
      problems.push({
        severity: 'error',
        message:
          `replication slot "${settings.slotName}" is active for process ${slot.activePid ?? '?'}: another client is streaming from it. ` +
          `Stop that client (SELECT pg_terminate_backend(${slot.activePid ?? 'pid'});) or set slot.name to another slot`,
        transient: true,
      });
    }
    if (slot.walStatus === 'lost') {
      problems.push({
        severity: 'error',
        message:
          `replication slot "${settings.slotName}" has lost WAL it needed (wal_status = lost) and cannot be streamed from: ` +
          `drop it (SELECT pg_drop_replication_slot('${settings.slotName}');) and restart with snapshot.mode=when_needed`,
      });
    }
    if (slot.plugin !== null && slot.plugin !== 'pgoutput') {
      problems.push({ severity: 'error', message: `replication slot "${settings.slotName}" uses plugin ${slot.plugin}; Sluice reads only pgoutput. Drop it or choose another slot.name` });
    }
    if (slot.database !== null && slot.database !== info.database) {
      problems.push({ severity: 'error', message: `replication slot "${settings.slotName}" belongs to database ${slot.database}, not ${info.database}` });
    }
  } else if (info.maxReplicationSlots === 0) {
    problems.push({ severity: 'error', message: 'max_replication_slots is 0: set it (e.g. to 10) in postgresql.conf and restart Postgres' });
  }
  return { problems, info, captured };
}

/**
 * Creates or updates the publication per `publication.autocreate.mode`: all_tables → FOR ALL TABLES if missing;
 * filtered → exactly the captured tables (created or altered to match); no_tables → an empty publication if
 * missing; disabled → nothing (a missing publication is an error reported by validate and start).
 */
export async function ensurePublication(db: Queryable, settings: PgSettings, captured: readonly TableInfo[], logger: Logger): Promise<void> {
  const pub = await publicationInfo(db, settings.publicationName);
  const name = quoteIdent(settings.publicationName);
  if (settings.publicationMode === 'disabled') return;
  if (!pub) {
    const sql = publicationStatement(settings, captured);
    logger.info({ publication: settings.publicationName }, `creating publication: ${sql}`);
    try {
      await db.query(sql);
    } catch (err) {
      throw new PrerequisiteError(`could not create publication "${settings.publicationName}" (${(err as Error).message}): run as a privileged user: ${sql};`, {
        cause: err,
      });
    }
    return;
  }
  if (settings.publicationMode === 'filtered' && !pub.allTables) {
    const want = captured.map((t) => `${t.schema}.${t.name}`).sort();
    const have = [...pub.tables].sort();
    if (want.join(',') !== have.join(',')) {
      const sql = captured.length > 0 ? `ALTER PUBLICATION ${name} SET TABLE ${captured.map(qualified).join(', ')}` : null;
      if (sql) {
        logger.info({ publication: settings.publicationName }, `updating publication: ${sql}`);
        await db.query(sql);
      }
    }
  }
}

/** Applies replica.identity.autoset.values to the captured tables whose identity differs. */
export async function applyReplicaIdentities(db: Queryable, settings: PgSettings, captured: readonly TableInfo[], logger: Logger): Promise<boolean> {
  let changed = false;
  for (const t of captured) {
    const rule = settings.replicaIdentityRules.find((r) => r.table.test(`${t.schema}.${t.name}`));
    if (!rule) continue;
    const want = rule.identity === 'FULL' ? 'f' : rule.identity === 'DEFAULT' ? 'd' : rule.identity === 'NOTHING' ? 'n' : 'i';
    if (t.replicaIdentity === want && rule.identity !== 'INDEX') continue;
    const clause = rule.identity === 'INDEX' ? `USING INDEX ${quoteIdent(rule.index as string)}` : rule.identity;
    const sql = `ALTER TABLE ${qualified(t)} REPLICA IDENTITY ${clause}`;
    logger.info({ table: `${t.schema}.${t.name}` }, `replica.identity.autoset.values: ${sql}`);
    await db.query(sql);
    changed = true;
  }
  return changed;
}
