import { compileRegexList } from '../../config/regex-list.js';
import { ConfigError } from '../../errors.js';
import { parseMessageKeyColumns, type MessageKeyColumns } from '../../events/key-columns.js';
import { binlogTableTopic } from '../../events/topics.js';

/**
 * Which databases, tables and columns a MySQL/MariaDB connector captures, which columns form the message key, and
 * the topic of each table: Debezium's `database.include.list` / `database.exclude.list`,
 * `table.include.list` / `table.exclude.list` (regular expressions matched against the whole `db.table`, case
 * insensitively), `column.include.list` / `column.exclude.list` (against `db.table.column`) and
 * `message.key.columns` (`db.table-regex:col1,col2;other-regex:col`).
 */

/** Never captured: the server's own databases. */
export const SYSTEM_DATABASES = new Set(['mysql', 'sys', 'performance_schema', 'information_schema']);

const anyMatch = (res: RegExp[], text: string) => res.some((r) => r.test(text));

export interface FilterConfig {
  readonly 'database.include.list'?: readonly string[] | undefined;
  readonly 'database.exclude.list'?: readonly string[] | undefined;
  readonly 'table.include.list'?: readonly string[] | undefined;
  readonly 'table.exclude.list'?: readonly string[] | undefined;
  readonly 'column.include.list'?: readonly string[] | undefined;
  readonly 'column.exclude.list'?: readonly string[] | undefined;
  readonly 'message.key.columns'?: string | undefined;
}

export class CaptureFilter {
  private readonly dbInclude: RegExp[] | null;
  private readonly dbExclude: RegExp[] | null;
  private readonly tableInclude: RegExp[] | null;
  private readonly tableExclude: RegExp[] | null;
  private readonly columnInclude: RegExp[] | null;
  private readonly columnExclude: RegExp[] | null;
  private readonly keyColumns: MessageKeyColumns | null;

  constructor(config: FilterConfig) {
    this.dbInclude = compileRegexList(config['database.include.list'], 'database.include.list');
    this.dbExclude = compileRegexList(config['database.exclude.list'], 'database.exclude.list');
    this.tableInclude = compileRegexList(config['table.include.list'], 'table.include.list');
    this.tableExclude = compileRegexList(config['table.exclude.list'], 'table.exclude.list');
    this.columnInclude = compileRegexList(config['column.include.list'], 'column.include.list');
    this.columnExclude = compileRegexList(config['column.exclude.list'], 'column.exclude.list');
    if (this.dbInclude && this.dbExclude) {
      throw new ConfigError('database.include.list and database.exclude.list cannot both be set');
    }
    if (this.tableInclude && this.tableExclude) {
      throw new ConfigError('table.include.list and table.exclude.list cannot both be set');
    }
    if (this.columnInclude && this.columnExclude) {
      throw new ConfigError('column.include.list and column.exclude.list cannot both be set');
    }
    this.keyColumns = parseMessageKeyColumns(config['message.key.columns']);
  }

  includesDatabase(db: string): boolean {
    if (SYSTEM_DATABASES.has(db.toLowerCase())) return false;
    if (this.dbInclude) return anyMatch(this.dbInclude, db);
    if (this.dbExclude) return !anyMatch(this.dbExclude, db);
    return true;
  }

  includesTable(db: string, table: string): boolean {
    if (!this.includesDatabase(db)) return false;
    const id = `${db}.${table}`;
    if (this.tableInclude) return anyMatch(this.tableInclude, id);
    if (this.tableExclude) return !anyMatch(this.tableExclude, id);
    return true;
  }

  includesColumn(db: string, table: string, column: string): boolean {
    const id = `${db}.${table}.${column}`;
    if (this.columnInclude) return anyMatch(this.columnInclude, id);
    if (this.columnExclude) return !anyMatch(this.columnExclude, id);
    return true;
  }

  /** The `message.key.columns` override for a table (of the given columns), or null to use its primary key. */
  keyColumnsFor(db: string, table: string, columns: readonly string[]): readonly string[] | null {
    return this.keyColumns?.keyColumnsFor(`${db}.${table}`, columns) ?? null;
  }
}

/** `<prefix>.<db>.<table>`, sanitized as Debezium's topic naming strategy does. */
export function tableTopic(prefix: string, db: string, table: string): string {
  return binlogTableTopic(prefix, db, table);
}
