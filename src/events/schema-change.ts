import type { ChangeEvent } from './change-event.js';
import { Schema, type ConnectSchema, type StructValue } from './schema.js';
import { schemaChangeTopic } from './topics.js';

/**
 * Schema change events (`include.schema.changes=true`, MySQL/MariaDB), as Debezium's EventDispatcher,
 * ConnectTableChangeSerializer and SchemaFactory build them (3.6.1.Final):
 *
 *   topic  `<topic.prefix>`, partition 0
 *   key    io.debezium.connector.<connector>.SchemaChangeKey v1 { databaseName: string }
 *   value  io.debezium.connector.<connector>.SchemaChangeValue v1
 *          { source, ts_ms: int64, databaseName: optional string, schemaName: optional string, ddl: optional string,
 *            tableChanges: array of io.debezium.connector.schema.Change v1 }
 *   Change v1   { type: string (CREATE|ALTER|DROP), id: string ("db"."table"), table: optional Table }
 *   Table v1    { defaultCharsetName: optional string, primaryKeyColumnNames: optional array<string>,
 *                 columns: array<Column>, comment: optional string }
 *   Column v1   { name, jdbcType: int32, nativeType: optional int32, typeName, typeExpression?, charsetName?,
 *                 length: optional int32, scale: optional int32, position: int32, optional: optional boolean,
 *                 autoIncremented?, generated?, comment?, defaultValueExpression?, enumValues: optional array<string> }
 */

export const SCHEMA_HISTORY_COLUMN_SCHEMA: ConnectSchema = Schema.struct(
  'io.debezium.connector.schema.Column',
  [
    Schema.field('name', Schema.string()),
    Schema.field('jdbcType', Schema.int32()),
    Schema.field('nativeType', Schema.optional(Schema.int32())),
    Schema.field('typeName', Schema.string()),
    Schema.field('typeExpression', Schema.optional(Schema.string())),
    Schema.field('charsetName', Schema.optional(Schema.string())),
    Schema.field('length', Schema.optional(Schema.int32())),
    Schema.field('scale', Schema.optional(Schema.int32())),
    Schema.field('position', Schema.int32()),
    Schema.field('optional', Schema.optional(Schema.boolean())),
    Schema.field('autoIncremented', Schema.optional(Schema.boolean())),
    Schema.field('generated', Schema.optional(Schema.boolean())),
    Schema.field('comment', Schema.optional(Schema.string())),
    Schema.field('defaultValueExpression', Schema.optional(Schema.string())),
    Schema.field('enumValues', Schema.optional(Schema.array(Schema.string()))),
  ],
  { version: 1 },
);

export const SCHEMA_HISTORY_TABLE_SCHEMA: ConnectSchema = Schema.optional(
  Schema.struct(
    'io.debezium.connector.schema.Table',
    [
      Schema.field('defaultCharsetName', Schema.optional(Schema.string())),
      Schema.field('primaryKeyColumnNames', Schema.optional(Schema.array(Schema.string()))),
      Schema.field('columns', Schema.array(SCHEMA_HISTORY_COLUMN_SCHEMA)),
      Schema.field('comment', Schema.optional(Schema.string())),
    ],
    { version: 1 },
  ),
);

export const SCHEMA_HISTORY_CHANGE_SCHEMA: ConnectSchema = Schema.struct(
  'io.debezium.connector.schema.Change',
  [
    Schema.field('type', Schema.string()),
    Schema.field('id', Schema.string()),
    Schema.field('table', SCHEMA_HISTORY_TABLE_SCHEMA),
  ],
  { version: 1 },
);

export function schemaChangeKeySchema(connector: string): ConnectSchema {
  return Schema.struct(`io.debezium.connector.${connector}.SchemaChangeKey`, [Schema.field('databaseName', Schema.string())], {
    version: 1,
  });
}

export function schemaChangeValueSchema(connector: string, sourceSchema: ConnectSchema): ConnectSchema {
  return Schema.struct(
    `io.debezium.connector.${connector}.SchemaChangeValue`,
    [
      Schema.field('source', sourceSchema),
      Schema.field('ts_ms', Schema.int64()),
      Schema.field('databaseName', Schema.optional(Schema.string())),
      Schema.field('schemaName', Schema.optional(Schema.string())),
      Schema.field('ddl', Schema.optional(Schema.string())),
      Schema.field('tableChanges', Schema.array(SCHEMA_HISTORY_CHANGE_SCHEMA)),
    ],
    { version: 1 },
  );
}

/** A column as Debezium's schema history describes it. Absent optional fields are written as null. */
export interface ColumnDescription {
  readonly name: string;
  /** java.sql.Types code (e.g. 4 INTEGER, 12 VARCHAR, 3 DECIMAL, 93 TIMESTAMP) */
  readonly jdbcType: number;
  readonly nativeType?: number | null;
  readonly typeName: string;
  readonly typeExpression?: string | null;
  readonly charsetName?: string | null;
  readonly length?: number | null;
  readonly scale?: number | null;
  /** 1-based */
  readonly position: number;
  readonly optional?: boolean | null;
  readonly autoIncremented?: boolean | null;
  readonly generated?: boolean | null;
  readonly comment?: string | null;
  readonly defaultValueExpression?: string | null;
  readonly enumValues?: readonly string[] | null;
}

export interface TableDescription {
  readonly defaultCharsetName?: string | null;
  readonly primaryKeyColumnNames: readonly string[];
  readonly columns: readonly ColumnDescription[];
  readonly comment?: string | null;
}

export interface TableChange {
  readonly type: 'CREATE' | 'ALTER' | 'DROP';
  /** Debezium's TableId.toDoubleQuotedString(), e.g. `"inventory"."customers"`; see quotedTableId */
  readonly id: string;
  /** null for DROP */
  readonly table: TableDescription | null;
}

function quotePart(part: string): string {
  if (part.length === 0) return '""';
  if (part.startsWith('"') || part.endsWith('"')) return part;
  return `"${part.replaceAll('"', '""')}"`;
}

/** TableId.toDoubleQuotedString(): each non-empty part in double quotes, joined by '.'. */
export function quotedTableId(...parts: readonly (string | null | undefined)[]): string {
  return parts.filter((p): p is string => typeof p === 'string' && p.length > 0).map(quotePart).join('.');
}

function columnStruct(c: ColumnDescription): StructValue {
  return {
    name: c.name,
    jdbcType: c.jdbcType,
    nativeType: c.nativeType ?? null,
    typeName: c.typeName,
    typeExpression: c.typeExpression ?? null,
    charsetName: c.charsetName ?? null,
    length: c.length ?? null,
    scale: c.scale ?? null,
    position: c.position,
    optional: c.optional ?? null,
    autoIncremented: c.autoIncremented ?? null,
    generated: c.generated ?? null,
    comment: c.comment ?? null,
    defaultValueExpression: c.defaultValueExpression ?? null,
    enumValues: c.enumValues && c.enumValues.length > 0 ? [...c.enumValues] : null,
  };
}

export function tableChangeStruct(change: TableChange): StructValue {
  return {
    type: change.type,
    id: change.id,
    table:
      change.table === null
        ? null
        : {
            defaultCharsetName: change.table.defaultCharsetName ?? null,
            primaryKeyColumnNames: [...change.table.primaryKeyColumnNames],
            columns: change.table.columns.map(columnStruct),
            comment: change.table.comment ?? null,
          },
  };
}

export interface SchemaChange {
  readonly source: StructValue;
  readonly tsMs: bigint;
  readonly databaseName: string;
  readonly schemaName?: string | null;
  readonly ddl: string | null;
  readonly tableChanges: readonly TableChange[];
}

/** Builds schema change records for one connector; schemas are built once. */
export class SchemaChangeEnvelope {
  readonly topic: string;
  readonly keySchema: ConnectSchema;
  readonly valueSchema: ConnectSchema;

  constructor(options: { connector: 'mysql' | 'mariadb' | 'postgresql'; topicPrefix: string; sourceSchema: ConnectSchema }) {
    this.topic = schemaChangeTopic(options.topicPrefix);
    this.keySchema = schemaChangeKeySchema(options.connector);
    this.valueSchema = schemaChangeValueSchema(options.connector, options.sourceSchema);
  }

  event(change: SchemaChange): ChangeEvent {
    return {
      topic: this.topic,
      keySchema: this.keySchema,
      key: { databaseName: change.databaseName },
      valueSchema: this.valueSchema,
      value: {
        source: change.source,
        ts_ms: change.tsMs,
        databaseName: change.databaseName,
        schemaName: change.schemaName ?? null,
        ddl: change.ddl,
        tableChanges: change.tableChanges.map(tableChangeStruct),
      },
      partition: 0,
    };
  }
}
