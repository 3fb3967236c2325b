/**
 * Topic names as Debezium's default topic naming strategies build them (AbstractTopicNamingStrategy,
 * DefaultTopicNamingStrategy for MySQL/MariaDB, SchemaTopicNamingStrategy for Postgres):
 *
 *   data changes     <topic.prefix>.<db>.<table>       (MySQL, MariaDB)
 *                    <topic.prefix>.<schema>.<table>   (Postgres)
 *   schema changes   <topic.prefix>                     (MySQL, MariaDB)
 *   transactions     <topic.prefix>.transaction         (topic.transaction renames the last part)
 *   heartbeats       __debezium-heartbeat.<topic.prefix> (topic.heartbeat.prefix renames the first part)
 *   messages         <topic.prefix>.message             (Postgres logical decoding messages)
 *
 * Data change topic names are sanitized: every character other than A-Z a-z 0-9 . _ - becomes '_', names longer
 * than 249 characters are cut, and '.' / '..' become '_' / '__'. Blank parts are left out.
 */

export const MAX_TOPIC_NAME_LENGTH = 249;
export const DEFAULT_TOPIC_DELIMITER = '.';
export const DEFAULT_HEARTBEAT_TOPIC_PREFIX = '__debezium-heartbeat';
export const DEFAULT_TRANSACTION_TOPIC = 'transaction';
export const MESSAGE_TOPIC_SUFFIX = '.message';

function isValidTopicChar(c: string): boolean {
  return /^[A-Za-z0-9._-]$/.test(c);
}

/** Debezium's sanitizedTopicName: invalid characters → '_', at most 249 characters, no bare '.' or '..'. */
export function sanitizeTopicName(name: string): string {
  let out = '';
  for (const c of name) out += isValidTopicChar(c) ? c : '_';
  if (out.length > MAX_TOPIC_NAME_LENGTH) out = out.slice(0, MAX_TOPIC_NAME_LENGTH);
  else if (out === '.') out = '_';
  else if (out === '..') out = '__';
  return out;
}

/**
 * A data change topic: the prefix and the table's parts (MySQL: db, table; Postgres: schema, table) joined by the
 * delimiter, blank parts left out, then sanitized.
 */
export function dataChangeTopic(prefix: string, parts: readonly (string | null | undefined)[], delimiter = DEFAULT_TOPIC_DELIMITER): string {
  const all = [prefix, ...parts].filter((p): p is string => typeof p === 'string' && p.trim().length > 0);
  return sanitizeTopicName(all.join(delimiter));
}

/** `<prefix>.<db>.<table>` (MySQL, MariaDB). */
export function binlogTableTopic(prefix: string, database: string, table: string): string {
  return dataChangeTopic(prefix, [database, table]);
}

/** `<prefix>.<schema>.<table>` (Postgres). */
export function postgresTableTopic(prefix: string, schema: string, table: string): string {
  return dataChangeTopic(prefix, [schema, table]);
}

/** The schema change topic: the prefix itself. */
export function schemaChangeTopic(prefix: string): string {
  return prefix;
}

export function transactionTopic(prefix: string, name = DEFAULT_TRANSACTION_TOPIC, delimiter = DEFAULT_TOPIC_DELIMITER): string {
  return `${prefix}${delimiter}${name}`;
}

/** `<heartbeatPrefix>.<prefix>`, or `fullName` when set (topic.heartbeat.name). */
export function heartbeatTopic(
  prefix: string,
  heartbeatPrefix = DEFAULT_HEARTBEAT_TOPIC_PREFIX,
  fullName?: string,
  delimiter = DEFAULT_TOPIC_DELIMITER,
): string {
  return fullName !== undefined && fullName.length > 0 ? fullName : `${heartbeatPrefix}${delimiter}${prefix}`;
}

export function messageTopic(prefix: string): string {
  return `${prefix}${MESSAGE_TOPIC_SUFFIX}`;
}
