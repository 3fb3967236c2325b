import { ConfigError } from '../errors.js';

/**
 * `message.key.columns`: which columns form the message key of tables that have no primary key (or whose key
 * should differ). Format, as Debezium's: `<table regex>:<column>[,<column>...]` entries separated by ';', e.g.
 * `inventory.customers:pk1,pk2;(.*).purchaseorders:pk3,pk4`.
 *
 * Semantics follow Debezium's Key.CustomKeyMapper: every entry becomes one regular expression per column,
 * `<table regex>.<column>`, matched case-insensitively against the whole `<table id>.<column name>` string, where the
 * table id is `<db>.<table>` for MySQL/MariaDB and `<schema>.<table>` for Postgres. The dots are not escaped, so they
 * match any character, as in Debezium. The key is every column any expression matches, grouped by expression in
 * the order the expressions are written and by column order within one (a column matched twice counts once);
 * when nothing matches, the table's primary
 * key is used. Whitespace around entries, table parts and column names is ignored.
 */

/** Debezium's validation pattern for one entry. */
export const MESSAGE_KEY_COLUMNS_PATTERN = /^\s*([^:]+):([^:,]+(,[^:,]+)*)\s*$/;

export interface MessageKeyColumns {
  /** The key columns for a table, or null to use its primary key. */
  keyColumnsFor(tableId: string, columns: readonly string[]): string[] | null;
  /** The expressions, for messages and tests. */
  readonly patterns: readonly RegExp[];
}

/** Problems with a `message.key.columns` value, one message per bad entry (empty list when it is fine). */
export function validateMessageKeyColumns(spec: string): string[] {
  if (spec.length === 0) return ['message.key.columns must not be empty'];
  const problems: string[] = [];
  for (const entry of spec.split(';')) {
    if (!MESSAGE_KEY_COLUMNS_PATTERN.test(entry)) {
      problems.push(
        `message.key.columns entry ${JSON.stringify(entry)} has an invalid format: expected ` +
          `'<fully-qualified table regex>:<column>[,<column>...]', e.g. 'inventory.orders:order_id,line_no'`,
      );
    }
  }
  return problems;
}

/** Parses `message.key.columns`; a malformed value or a bad regular expression throws a ConfigError. */
export function parseMessageKeyColumns(spec: string | undefined | null): MessageKeyColumns | null {
  if (spec === undefined || spec === null) return null;
  const problems = validateMessageKeyColumns(spec);
  if (problems.length > 0) throw new ConfigError(problems.join('; '), { context: { key: 'message.key.columns' } });
  const patterns: RegExp[] = [];
  for (const entry of spec.split(';')) {
    const colon = entry.indexOf(':');
    const table = entry.slice(0, colon).trim();
    for (const column of entry.slice(colon + 1).split(',')) {
      const source = `${table}.${column.trim()}`;
      try {
        patterns.push(new RegExp(`^(?:${source})$`, 'i'));
      } catch (cause) {
        throw new ConfigError(`message.key.columns: ${JSON.stringify(source)} is not a valid regular expression`, {
          context: { key: 'message.key.columns' },
          cause,
        });
      }
    }
  }
  return {
    patterns,
    keyColumnsFor(tableId: string, columns: readonly string[]): string[] | null {
      const chosen: string[] = [];
      for (const pattern of patterns) {
        for (const column of columns) {
          if (!chosen.includes(column) && pattern.test(`${tableId}.${column}`)) chosen.push(column);
        }
      }
      return chosen.length === 0 ? null : chosen;
    },
  };
}
