import type { ChangeEvent } from '../../events/change-event.js';
import type { ConnectSchema, StructValue } from '../../events/schema.js';
import { SchemaChangeEnvelope, quotedTableId, type TableDescription } from '../../events/schema-change.js';
import type { ColumnDef } from './columns.js';
import type { TableDef } from './table-defs.js';

/**
 * Debezium's schema change events for MySQL/MariaDB (topic `<topic.prefix>`, `SchemaChangeKey` / `SchemaChangeValue`
 * built by events/schema-change.ts): this module describes a table definition the way Debezium's MySQL DDL parser
 * would (java.sql.Types code, type name, length, scale...) for the `tableChanges` of each event.
 */

/** java.sql.Types codes as Debezium's MySQL DDL parser assigns them. */
const JDBC = {
  BIT: -7,
  SMALLINT: 5,
  INTEGER: 4,
  BIGINT: -5,
  REAL: 7,
  FLOAT: 6,
  DOUBLE: 8,
  DECIMAL: 3,
  NUMERIC: 2,
  CHAR: 1,
  VARCHAR: 12,
  BINARY: -2,
  VARBINARY: -3,
  BLOB: 2004,
  DATE: 91,
  TIME: 92,
  TIMESTAMP: 93,
  TIMESTAMP_WITH_TIMEZONE: 2014,
  BOOLEAN: 16,
  OTHER: 1111,
} as const;

export function jdbcTypeOf(col: ColumnDef): number {
  switch (col.dataType) {
    case 'bit':
      return JDBC.BIT;
    case 'bool':
    case 'boolean':
      return JDBC.BOOLEAN;
    case 'tinyint':
    case 'smallint':
      return JDBC.SMALLINT;
    case 'mediumint':
    case 'int':
    case 'integer':
    case 'year':
      return JDBC.INTEGER;
    case 'bigint':
      return JDBC.BIGINT;
    case 'float':
      return JDBC.FLOAT;
    case 'double':
      return JDBC.DOUBLE;
    case 'real':
      return JDBC.REAL;
    case 'decimal':
      return JDBC.DECIMAL;
    case 'numeric':
      return JDBC.NUMERIC;
    case 'char':
    case 'enum':
    case 'set':
      return JDBC.CHAR;
    case 'varchar':
    case 'tinytext':
    case 'text':
    case 'mediumtext':
    case 'longtext':
      return col.json ? JDBC.OTHER : JDBC.VARCHAR;
    case 'binary':
      return JDBC.BINARY;
    case 'varbinary':
      return JDBC.VARBINARY;
    case 'tinyblob':
    case 'blob':
    case 'mediumblob':
    case 'longblob':
      return JDBC.BLOB;
    case 'date':
      return JDBC.DATE;
    case 'time':
      return JDBC.TIME;
    case 'datetime':
      return JDBC.TIMESTAMP;
    case 'timestamp':
      return JDBC.TIMESTAMP_WITH_TIMEZONE;
    default:
      return JDBC.OTHER;
  }
}

function typeName(col: ColumnDef): string {
  const base = col.json && col.dataType !== 'json' ? 'JSON' : col.dataType.toUpperCase();
  return col.unsigned ? `${base} UNSIGNED` : base;
}

function lengthOf(col: ColumnDef): number | null {
  switch (col.dataType) {
    case 'decimal':
    case 'numeric':
    case 'bit':
      return col.precision;
    case 'time':
    case 'datetime':
    case 'timestamp':
      return col.fsp && col.fsp > 0 ? col.fsp : null;
    default: {
      if (col.length === null) return null;
      return col.length > 0x7fffffff ? null : col.length;
    }
  }
}

export function tableDescription(def: TableDef): TableDescription {
  return {
    defaultCharsetName: def.defaultCharset,
    primaryKeyColumnNames: [...def.primaryKey],
    columns: def.columns.map((c) => ({
      name: c.name,
      jdbcType: jdbcTypeOf(c),
      nativeType: null,
      typeName: typeName(c),
      typeExpression: typeName(c),
      charsetName: c.charset,
      length: lengthOf(c),
      scale: c.dataType === 'decimal' || c.dataType === 'numeric' ? c.scale : null,
      position: c.position,
      optional: c.nullable,
      autoIncremented: c.autoIncrement,
      generated: c.generated,
      comment: c.comment,
      defaultValueExpression: c.defaultExpression,
      enumValues: c.members ? [...c.members] : null,
    })),
    comment: def.comment,
  };
}

export interface TableChange {
  readonly type: 'CREATE' | 'ALTER' | 'DROP';
  readonly db: string;
  readonly table: string;
  /** the definition after the change (for DROP: null) */
  readonly def: TableDef | null;
}

export interface SchemaChangeInput {
  readonly source: StructValue;
  readonly tsMs: bigint;
  readonly databaseName: string;
  readonly ddl: string;
  readonly changes: readonly TableChange[];
}

/** Builds the schema change events of one connector. */
export class SchemaChanges {
  private readonly envelope: SchemaChangeEnvelope;

  constructor(options: { connector: 'mysql' | 'mariadb'; topicPrefix: string; sourceSchema: ConnectSchema }) {
    this.envelope = new SchemaChangeEnvelope(options);
  }

  event(input: SchemaChangeInput): ChangeEvent {
    return this.envelope.event({
      source: input.source,
      tsMs: input.tsMs,
      databaseName: input.databaseName,
      schemaName: null,
      ddl: input.ddl,
      tableChanges: input.changes.map((c) => ({
        type: c.type,
        id: quotedTableId(c.db, c.table),
        table: c.type === 'DROP' || !c.def ? null : tableDescription(c.def),
      })),
    });
  }
}
