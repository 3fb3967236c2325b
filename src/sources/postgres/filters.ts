import { compileRegexList } from '../../config/regex-list.js';
/**
 * Debezium's table and column selection: comma-separated regular expressions, each matched against the whole
 * identifier (anchored, case-insensitive): `schema` for schema lists, `schema.table` for table lists,
 * `schema.table.column` for column lists. An include list, when set, wins; otherwise the exclude list removes.
 */
import { ConfigError } from '../../errors.js';

export interface FilterLists {
  readonly schemaInclude?: readonly string[] | undefined;
  readonly schemaExclude?: readonly string[] | undefined;
  readonly tableInclude?: readonly string[] | undefined;
  readonly tableExclude?: readonly string[] | undefined;
  readonly columnInclude?: readonly string[] | undefined;
  readonly columnExclude?: readonly string[] | undefined;
}


const SYSTEM_SCHEMAS = new Set(['pg_catalog', 'information_schema']);

export class TableFilter {
  private readonly schemaIn: RegExp[] | null;
  private readonly schemaEx: RegExp[] | null;
  private readonly tableIn: RegExp[] | null;
  private readonly tableEx: RegExp[] | null;
  private readonly columnIn: RegExp[] | null;
  private readonly columnEx: RegExp[] | null;

  constructor(lists: FilterLists) {
    this.schemaIn = compileRegexList(lists.schemaInclude, 'schema.include.list');
    this.schemaEx = compileRegexList(lists.schemaExclude, 'schema.exclude.list');
    this.tableIn = compileRegexList(lists.tableInclude, 'table.include.list');
    this.tableEx = compileRegexList(lists.tableExclude, 'table.exclude.list');
    this.columnIn = compileRegexList(lists.columnInclude, 'column.include.list');
    this.columnEx = compileRegexList(lists.columnExclude, 'column.exclude.list');
  }

  /** Whether `schema.table` is captured. */
  includesTable(schema: string, table: string): boolean {
    if (SYSTEM_SCHEMAS.has(schema) || schema.startsWith('pg_toast') || schema.startsWith('pg_temp')) return false;
    if (this.schemaIn && !this.schemaIn.some((r) => r.test(schema))) return false;
    if (!this.schemaIn && this.schemaEx && this.schemaEx.some((r) => r.test(schema))) return false;
    const id = `${schema}.${table}`;
    if (this.tableIn) return this.tableIn.some((r) => r.test(id));
    if (this.tableEx) return !this.tableEx.some((r) => r.test(id));
    return true;
  }

  /** Whether column `schema.table.column` is captured (of a captured table). */
  includesColumn(schema: string, table: string, column: string): boolean {
    const id = `${schema}.${table}.${column}`;
    if (this.columnIn) return this.columnIn.some((r) => r.test(id));
    if (this.columnEx) return !this.columnEx.some((r) => r.test(id));
    return true;
  }

  /** True when no table list, schema list or column list narrows the capture. */
  get capturesEverything(): boolean {
    return !this.schemaIn && !this.schemaEx && !this.tableIn && !this.tableEx;
  }
}

/**
 * `replica.identity.autoset.values`: `schema.table:FULL,schema.other:DEFAULT,...`; the table part is a regular
 * expression. INDEX takes an index name: `public.t:INDEX t_unique_idx`.
 */
export interface ReplicaIdentityRule {
  readonly table: RegExp;
  readonly identity: 'FULL' | 'DEFAULT' | 'NOTHING' | 'INDEX';
  readonly index: string | null;
}

export function parseReplicaIdentityRules(value: string | undefined): ReplicaIdentityRule[] {
  if (!value || value.trim() === '') return [];
  return value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map((entry) => {
      const idx = entry.lastIndexOf(':');
      if (idx <= 0) throw new ConfigError(`replica.identity.autoset.values: ${JSON.stringify(entry)} must look like schema.table:FULL`);
      const pattern = entry.slice(0, idx).trim();
      const spec = entry.slice(idx + 1).trim();
      const m = /^(FULL|DEFAULT|NOTHING|INDEX)(?:\s+(\S+))?$/i.exec(spec);
      if (!m) {
        throw new ConfigError(
          `replica.identity.autoset.values: ${JSON.stringify(spec)} for ${pattern} must be FULL, DEFAULT, NOTHING or INDEX <index name>`,
        );
      }
      const identity = (m[1] as string).toUpperCase() as ReplicaIdentityRule['identity'];
      if (identity === 'INDEX' && !m[2]) throw new ConfigError(`replica.identity.autoset.values: INDEX for ${pattern} needs an index name`);
      let table: RegExp;
      try {
        table = new RegExp(`^(?:${pattern})$`, 'i');
      } catch (err) {
        throw new ConfigError(`replica.identity.autoset.values: ${JSON.stringify(pattern)} is not a valid regular expression`, { cause: err });
      }
      return { table, identity, index: m[2] ?? null };
    });
}
