import { TableEnvelope } from '../../events/envelope.js';
import type { ConnectSchema, StructValue } from '../../events/schema.js';
import { DecodeError } from '../../errors.js';
import { mapColumn, type ColumnDef, type ColumnMapping, type MappingOptions } from './columns.js';
import type { CaptureFilter } from './filters.js';
import { tableTopic } from './filters.js';
import { binlogSignature, columnFromBinlog, sameLayout, tableId, type BinlogColumnInfo, type TableDef } from './table-defs.js';

/**
 * The schema history of a MySQL/MariaDB connector, kept in memory:
 *
 * - the *current* definition of every captured table, read from information_schema at start-up (and at the
 *   snapshot), and re-read after every DDL the binlog carries;
 * - every column definition ever read, so a binlog TABLE_MAP can be matched to the richest known description of
 *   its columns;
 * - one *table version* (Connect schemas, envelope, converters) per distinct column layout, built on demand.
 *
 * Rows are decoded with the metadata of their own TABLE_MAP event (`binlog_row_metadata=FULL`). When that layout
 * equals the current definition, the current version is used. When it does not (events written before a later
 * ALTER TABLE, replayed after a restart), the version is built from the TABLE_MAP itself, taking each column's
 * definition from information_schema where a column of the same name and binlog type is known, and from the
 * binlog metadata otherwise. Nothing needs to be persisted: a restart rebuilds the history from
 * information_schema plus the binlog.
 */
export interface TableVersion {
  readonly def: TableDef;
  readonly topic: string;
  readonly envelope: TableEnvelope;
  /** captured columns, in table order, with their mapping */
  readonly columns: readonly { readonly def: ColumnDef; readonly mapping: ColumnMapping }[];
  readonly keyColumns: readonly string[];
  /** Turns a raw row (column name → value from either read path) into the value struct. */
  rowValue(raw: Readonly<Record<string, unknown>>): StructValue;
}

export interface SchemaHistoryOptions {
  readonly topicPrefix: string;
  readonly filter: CaptureFilter;
  readonly mapping: MappingOptions;
  readonly sourceSchema: ConnectSchema;
  readonly tombstonesOnDelete: boolean;
  /** include.unknown.datatypes: false leaves columns of unknown types out (Debezium's behaviour) */
  readonly includeUnknownTypes?: boolean;
}

function defSignature(def: TableDef): string {
  return JSON.stringify([
    def.primaryKey,
    def.columns.map((c) => [
      c.name,
      c.dataType,
      c.columnType,
      c.unsigned,
      c.nullable,
      c.charset,
      c.length,
      c.precision,
      c.scale,
      c.fsp,
      c.members,
      c.json,
    ]),
  ]);
}

export class SchemaHistory {
  private readonly current = new Map<string, TableDef>();
  /** table id → `${column name}\0${binlog signature}` → richest definition seen */
  private readonly known = new Map<string, Map<string, ColumnDef>>();
  private readonly versions = new Map<string, TableVersion>();

  constructor(private readonly options: SchemaHistoryOptions) {}

  get(db: string, table: string): TableDef | undefined {
    return this.current.get(tableId(db, table));
  }

  tables(): TableDef[] {
    return [...this.current.values()];
  }

  set(def: TableDef): void {
    const id = tableId(def.db, def.table);
    this.current.set(id, def);
    let known = this.known.get(id);
    if (!known) {
      known = new Map();
      this.known.set(id, known);
    }
    for (const c of def.columns) known.set(`${c.name}\u0000${binlogSignature(c)}`, c);
  }

  remove(db: string, table: string): TableDef | undefined {
    const id = tableId(db, table);
    const def = this.current.get(id);
    this.current.delete(id);
    return def;
  }

  /** The version (schemas, converters) of a table definition; one per distinct layout. */
  version(def: TableDef): TableVersion {
    const key = `${tableId(def.db, def.table)}\u0000${defSignature(def)}`;
    const cached = this.versions.get(key);
    if (cached) return cached;
    const v = this.build(def);
    this.versions.set(key, v);
    return v;
  }

  /**
   * The version rows of a TABLE_MAP event decode with: the current definition when the layout matches it, else
   * a definition assembled from the event's metadata and the known column definitions.
   */
  fromTableMap(db: string, table: string, columns: readonly BinlogColumnInfo[], primaryKey?: readonly number[]): TableVersion {
    const current = this.get(db, table);
    const keyNames = new Set((primaryKey ?? []).map((i) => columns[i]?.name).filter((n): n is string => !!n));
    const known = this.known.get(tableId(db, table));
    const resolved = columns.map((info, i) => {
      const synthetic = columnFromBinlog(info, i + 1, keyNames.has(info.name));
      const sig = binlogSignature(synthetic);
      const fromCurrent = current?.columns.find((c) => c.name === info.name && binlogSignature(c) === sig);
      const match = fromCurrent ?? known?.get(`${info.name}\u0000${sig}`);
      return match ? { ...match, position: i + 1 } : synthetic;
    });
    if (current && sameLayout(resolved, current.columns)) return this.version(current);
    const names = new Set(resolved.map((c) => c.name));
    const pk = primaryKey && primaryKey.length > 0 ? [...keyNames] : (current?.primaryKey ?? []).filter((n) => names.has(n));
    return this.version({
      db,
      table,
      columns: resolved,
      primaryKey: pk,
      defaultCharset: current?.defaultCharset ?? null,
      comment: current?.comment ?? null,
      fromBinlog: true,
    });
  }

  private build(def: TableDef): TableVersion {
    const o = this.options;
    const warned = new Set<string>();
    const columns = def.columns
      .filter((c) => o.filter.includesColumn(def.db, def.table, c.name))
      .map((c) => ({
        def: c,
        mapping: mapColumn(c, {
          ...o.mapping,
          warn: (message, context) => {
            if (warned.has(c.name)) return;
            warned.add(c.name);
            o.mapping.warn?.(message, { ...context, db: def.db, table: def.table });
          },
        }),
      }))
      .filter((c) => o.includeUnknownTypes !== false || !c.mapping.fallback);
    const included = new Set(columns.map((c) => c.def.name));
    const override = o.filter.keyColumnsFor(def.db, def.table, columns.map((c) => c.def.name));
    const keyColumns = (override ?? def.primaryKey).filter((n) => included.has(n));
    const topic = tableTopic(o.topicPrefix, def.db, def.table);
    const envelope = new TableEnvelope({
      topic,
      columns: columns.map((c) => ({ name: c.def.name, schema: c.mapping.schema })),
      keyColumns,
      sourceSchema: o.sourceSchema,
      tombstonesOnDelete: o.tombstonesOnDelete,
    });
    return {
      def,
      topic,
      envelope,
      columns,
      keyColumns,
      rowValue(raw) {
        const out: StructValue = {};
        for (const c of columns) {
          try {
            out[c.def.name] = c.mapping.convert(raw[c.def.name]);
          } catch (cause) {
            throw new DecodeError(
              `cannot convert column ${c.def.name} (${c.def.columnType}) of ${def.db}.${def.table}: ${(cause as Error).message}`,
              { context: { table: `${def.db}.${def.table}`, column: c.def.name }, cause },
            );
          }
        }
        return out;
      },
    };
  }
}
