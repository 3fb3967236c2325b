/**
 * One captured table version: its columns mapped to Connect schemas, its key, its envelope; and the conversion of
 * pgoutput tuples (or snapshot rows, both text) into row structs.
 */
import type { Logger } from 'pino';
import { TableEnvelope } from '../../events/envelope.js';
import type { MessageKeyColumns } from '../../events/key-columns.js';
import { Schema, type ConnectSchema, type StructValue } from '../../events/schema.js';
import { POSTGRES_SOURCE_SCHEMA } from '../../events/source-info.js';
import { postgresTableTopic } from '../../events/topics.js';
import type { TableFilter } from './filters.js';
import { UNCHANGED_TOAST, type TupleData } from './pgoutput-decoder.js';
import { mapColumnType, type ColumnMapping, type MappingOptions, type TypeLookup } from './type-mapping.js';

export interface ColumnDefinition {
  readonly name: string;
  readonly typeOid: number;
  readonly typeMod: number;
  /** false when unknown (columns of a Relation message whose table is gone from the catalog) */
  readonly notNull: boolean;
  readonly collation?: string | null;
}

export interface ModelColumn {
  readonly name: string;
  readonly index: number;
  readonly included: boolean;
  readonly optional: boolean;
  readonly mapping: ColumnMapping;
  readonly schema: ConnectSchema;
  readonly typeOid: number;
  readonly typeMod: number;
  readonly collation: string | null;
}

export interface TableModel {
  readonly relationId: number;
  readonly schema: string;
  readonly name: string;
  /** `schema.table` */
  readonly id: string;
  readonly topic: string;
  /** every column of the relation, in order; `included` says whether it is captured */
  readonly columns: readonly ModelColumn[];
  readonly keyColumns: readonly string[];
  /** key columns as model columns, in key order */
  readonly keyModelColumns: readonly ModelColumn[];
  readonly envelope: TableEnvelope;
  /** d default, n nothing, f full, i index */
  readonly replicaIdentity: string;
}

export interface ModelContext {
  readonly topicPrefix: string;
  readonly types: TypeLookup;
  readonly mapping: MappingOptions;
  readonly filter: TableFilter;
  readonly tombstonesOnDelete: boolean;
  readonly messageKeyColumns: MessageKeyColumns | null;
  readonly logger: Logger;
  /** `schema.table.column` already warned about (unknown types: one warning per column) */
  readonly warned: Set<string>;
}

export function buildTableModel(
  ctx: ModelContext,
  relationId: number,
  schema: string,
  name: string,
  columns: readonly ColumnDefinition[],
  primaryKey: readonly string[],
  replicaIdentity: string,
): TableModel {
  const id = `${schema}.${name}`;
  const topic = postgresTableTopic(ctx.topicPrefix, schema, name);
  const model: ModelColumn[] = columns.map((c, index) => {
    const where = `${id}.${c.name}`;
    const mapping = mapColumnType(c.typeOid, c.typeMod, ctx.types, ctx.mapping, where);
    const included = ctx.filter.includesColumn(schema, name, c.name);
    if (included && !mapping.known && !ctx.warned.has(where)) {
      ctx.warned.add(where);
      ctx.logger.warn(
        { table: id, column: c.name, type: mapping.typeName },
        `column ${where} has type ${mapping.typeName}, which Sluice does not know; its values are captured as their text form (string)`,
      );
    }
    const optional = !c.notNull;
    const columnSchema = optional ? Schema.optional(mapping.schema) : Schema.required(mapping.schema);
    return {
      name: c.name,
      index,
      included,
      optional,
      mapping: optional ? { ...mapping, fallback: null } : mapping,
      schema: columnSchema,
      typeOid: c.typeOid,
      typeMod: c.typeMod,
      collation: c.collation ?? null,
    };
  });
  const includedNames = model.filter((c) => c.included).map((c) => c.name);
  let keyColumns = primaryKey.filter((k) => includedNames.includes(k));
  const custom = ctx.messageKeyColumns?.keyColumnsFor(id, includedNames) ?? null;
  if (custom !== null) keyColumns = custom;
  const byName = new Map(model.map((c) => [c.name, c] as const));
  const envelopeColumns = model.filter((c) => c.included).map((c) => ({ name: c.name, schema: c.schema }));
  const envelope = new TableEnvelope({
    topic,
    columns: envelopeColumns,
    keyColumns,
    sourceSchema: POSTGRES_SOURCE_SCHEMA,
    tombstonesOnDelete: ctx.tombstonesOnDelete,
  });
  return {
    relationId,
    schema,
    name,
    id,
    topic,
    columns: model,
    keyColumns,
    keyModelColumns: keyColumns.map((k) => byName.get(k) as ModelColumn),
    envelope,
    replicaIdentity,
  };
}

/**
 * Converts a tuple to the row struct. `previous` (the old row of a REPLICA IDENTITY FULL update) fills unchanged
 * TOASTed columns; otherwise they get the `unavailable.value.placeholder`. Absent values of required columns (the
 * non-key columns of a key-only old tuple) get Debezium's fallback (the type's zero value).
 */
export function rowFromTuple(model: TableModel, tuple: TupleData, previous: TupleData | null, logger?: Logger): StructValue {
  const row: StructValue = {};
  for (const c of model.columns) {
    if (!c.included) continue;
    let v = tuple[c.index];
    if (v === UNCHANGED_TOAST && previous) {
      const p = previous[c.index];
      if (p !== undefined && p !== UNCHANGED_TOAST) v = p;
    }
    if (v === UNCHANGED_TOAST) {
      const ph = c.mapping.toastPlaceholder;
      if (ph === undefined) {
        logger?.warn({ table: model.id, column: c.name }, `unchanged TOASTed value of ${model.id}.${c.name} has no placeholder for its type; set REPLICA IDENTITY FULL on the table`);
        row[c.name] = c.optional ? null : c.mapping.fallback;
      } else {
        row[c.name] = ph;
      }
    } else if (v === null || v === undefined) {
      row[c.name] = c.optional ? null : c.mapping.fallback;
    } else if (typeof v === 'string') {
      row[c.name] = c.mapping.convert(v);
    } else {
      row[c.name] = c.mapping.convert(v.toString('utf8'));
    }
  }
  return row;
}

/** Converts a snapshot row (column name → text or null) to the row struct. */
export function rowFromText(model: TableModel, values: readonly (string | null)[]): StructValue {
  const row: StructValue = {};
  let i = 0;
  for (const c of model.columns) {
    if (!c.included) continue;
    const v = values[i++];
    row[c.name] = v === null || v === undefined ? (c.optional ? null : c.mapping.fallback) : c.mapping.convert(v);
  }
  return row;
}
