import type { Logger } from 'pino';
import pg from 'pg';
import { PipelineFailure, SluiceError } from '../../runtime/errors.js';
import type { Change } from './change.js';
import { loadColumns, type ColumnInfo } from './column-info.js';
import { ColumnRemovalWatch, REMOVED_AFTER_ROWS } from './column-removal-watch.js';
import { quoteIdentifier } from './quote-identifier.js';
import { hasFieldNames } from './has-field-names.js';
import type { TableName } from './table-name.js';
import { TombstoneTable } from './tombstone-table.js';
import { hasUniqueKey } from './unique-key.js';
import type { TablePlan } from './table-writer.js';
import { inferType, mergeTypes } from './type-inference.js';
import { widenedType } from './type-widening.js';

/** What to do with a field that has no column: add it, log and drop it, stop the pipeline, or drop it silently. */
export type SchemaDriftPolicy = 'auto' | 'warn' | 'fail' | 'ignore';

/** How the sink's config shapes its tables. */
export interface SchemaPolicy {
  readonly mode: 'append' | 'upsert';
  readonly versionColumn: string | null;
  readonly softDelete: { readonly flag: string; readonly at: string } | null;
  readonly createTable: boolean;
  readonly drift: SchemaDriftPolicy;
  /** Explicit types for new columns (config `columns`). */
  readonly columnTypes: Readonly<Record<string, string>>;
  /** Keep the versions of deleted rows (see {@link TombstoneTable}); the tombstone table is created when absent. */
  readonly tombstones: boolean;
}

/** A type name the sink may put into DDL: words, an optional `(p)` or `(p,s)` modifier, array brackets. */
export const COLUMN_TYPE = /^[A-Za-z_][A-Za-z0-9_ ]*(\(\s*\d+\s*(,\s*\d+\s*)?\))?( *\[\])*$/;

const WIDTH: Record<string, number> = { bigint: 1, 'double precision': 1, numeric: 2 };

/**
 * Knows the columns of the sink's tables and brings each table in line with a batch before it is written:
 * creates it when absent (`create_table`), and under `schema_drift: auto` adds new fields as nullable columns and
 * widens integer and real columns that cannot hold a value; columns the stream stops sending go through the drift
 * policy too. Columns are cached per table and read again when a
 * batch carries a field the cache does not know (another writer may have added it). DDL runs one at a time.
 */
export class SchemaManager {
  readonly #pool: pg.Pool;
  readonly #policy: SchemaPolicy;
  readonly #logger: Logger;
  readonly #cache = new Map<string, Map<string, ColumnInfo>>();
  /** `table\0field` pairs known to have no column after a fresh read (warn and ignore drop them). */
  readonly #absent = new Set<string>();
  readonly #removals = new ColumnRemovalWatch();
  /** `table\0key columns` known to have a unique key (see {@link #uniqueKey}). */
  readonly #uniqueKeys = new Set<string>();
  /** Per schema, the creation (or the check) of its tombstone table. */
  readonly #tombstoneSchemas = new Map<string, Promise<void>>();
  #lock: Promise<unknown> = Promise.resolve();
  #droppedFields = 0;

  constructor(pool: pg.Pool, policy: SchemaPolicy, logger: Logger) {
    this.#pool = pool;
    this.#policy = policy;
    this.#logger = logger;
  }

  /** Field values left out of writes because their column did not exist (drift `warn` or `ignore`). */
  get droppedFields(): number {
    return this.#droppedFields;
  }

  /**
   * Reads `table`'s columns into the cache ahead of the first batch (a missing table is left for the first batch
   * to create or report), so that batch does not wait for the catalog.
   */
  async preload(table: TableName): Promise<void> {
    const columns = await loadColumns(this.#pool, table);
    if (columns !== null) this.#cache.set(table.toString(), columns);
  }

  /** Forgets every table's columns (after Postgres said a column or a table is not what the cache says). */
  invalidate(): void {
    this.#cache.clear();
    this.#uniqueKeys.clear();
    this.#tombstoneSchemas.clear();
  }

  /**
   * The plan for writing `changes` to `table` with the given key, after any DDL the policy allows. Rejects with
   * code `TABLE_MISSING` (absent table without `create_table`) or `SCHEMA_DRIFT` (policy `fail`, or a key, version
   * or soft-delete column missing while the policy is not `auto`), both non-retriable.
   */
  async plan(
    table: TableName,
    changes: readonly Change[],
    keyColumns: readonly string[],
  ): Promise<TablePlan> {
    const cached = this.#cache.get(table.toString());
    const columns =
      cached && this.#fits(table, cached, changes, keyColumns)
        ? cached
        : await this.#serialized(() => this.#reconcile(table, changes, keyColumns));
    const removed = this.#removals.observe(table.toString(), changes);
    if (removed.length > 0) this.#columnsRemoved(table, removed);
    if (this.#policy.mode === 'upsert' && keyColumns.length > 0) await this.#uniqueKey(table, keyColumns);
    if (this.#policy.tombstones) await this.#tombstoneTable(table.schema);
    return this.#finish(table, columns, changes, keyColumns);
  }

  /**
   * Applies the drift policy to columns the stream stopped sending (see {@link ColumnRemovalWatch}): `fail` stops the
   * pipeline (code `SCHEMA_DRIFT`) before this batch is written, `warn` and `auto` log it (the column stays: new
   * rows get its default or null, updated rows keep their value), `ignore` says nothing.
   */
  #columnsRemoved(table: TableName, names: readonly string[]): void {
    const drift = this.#policy.drift;
    const what =
      `column(s) ${names.join(', ')} of table ${table.toString()} no longer arrive: the last ${REMOVED_AFTER_ROWS} ` +
      'inserted rows lacked them (dropped upstream?)';
    if (drift === 'fail')
      throw new PipelineFailure(
        'SCHEMA_DRIFT',
        `${what} (schema_drift: fail); with schema_drift: warn or auto the sink goes on, new rows getting the column's default or null and updated rows keeping their value`,
      );
    if (drift === 'ignore') return;
    this.#logger[drift === 'warn' ? 'warn' : 'info'](
      { table: table.toString(), columns: names },
      `${what}; the table keeps the column(s): new rows get their default or null (schema_drift: ${drift})`,
    );
  }

  /**
   * Makes sure `table` has a primary key or unique index on `keyColumns`, once per table and key (again after
   * {@link invalidate}): without one an upsert fails, or a COPY of new rows duplicates keys. Rejects with code
   * `UPSERT_KEY_NOT_UNIQUE`, naming the DDL that fixes it.
   */
  async #uniqueKey(table: TableName, keyColumns: readonly string[]): Promise<void> {
    const id = `${table.toString()}\0${keyColumns.join('\0')}`;
    if (this.#uniqueKeys.has(id)) return;
    if (!(await hasUniqueKey(this.#pool, table, keyColumns))) {
      const columns = keyColumns.map(quoteIdentifier).join(', ');
      throw new PipelineFailure(
        'UPSERT_KEY_NOT_UNIQUE',
        `table ${table.toString()} has no primary key or unique index on exactly (${keyColumns.join(', ')}), which mode: upsert needs to find each row; add one (ALTER TABLE ${table.sql} ADD PRIMARY KEY (${columns}), or CREATE UNIQUE INDEX ON ${table.sql} (${columns})) or use mode: append`,
      );
    }
    this.#uniqueKeys.add(id);
  }

  /**
   * Makes sure `schema` has its tombstone table, once per schema (again after {@link invalidate}). Rejects with
   * code `TOMBSTONES_UNAVAILABLE` when it is absent and the user may not create it.
   */
  #tombstoneTable(schema: string): Promise<void> {
    let ready = this.#tombstoneSchemas.get(schema);
    if (ready === undefined) {
      ready = this.#serialized(() => this.#createTombstoneTable(schema));
      this.#tombstoneSchemas.set(schema, ready);
      ready.catch(() => this.#tombstoneSchemas.delete(schema));
    }
    return ready;
  }

  async #createTombstoneTable(schema: string): Promise<void> {
    const name = TombstoneTable.nameIn(schema);
    const found = await this.#pool.query<{ exists: boolean }>(
      'SELECT to_regclass($1) IS NOT NULL AS exists',
      [name.sql],
    );
    if (found.rows[0]?.exists) return;
    try {
      await this.#pool.query(TombstoneTable.ddl(schema));
    } catch (error) {
      if (!(error instanceof pg.DatabaseError) || error.code !== '42501') throw error;
      throw new PipelineFailure(
        'TOMBSTONES_UNAVAILABLE',
        `the sink keeps the versions of deleted rows in ${name.toString()}, which does not exist and may not be created by this user (${error.message}); create it with: ${TombstoneTable.ddl(schema)}; or set tombstones: false`,
        { cause: error },
      );
    }
    this.#logger.info({ table: name.toString() }, `created tombstone table ${name.toString()}`);
  }

  #serialized<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#lock.then(task, task);
    this.#lock = run.catch(() => undefined);
    return run;
  }

  /** True when the cached columns need no read and no DDL for these changes. */
  #fits(
    table: TableName,
    columns: ReadonlyMap<string, ColumnInfo>,
    changes: readonly Change[],
    keyColumns: readonly string[],
  ): boolean {
    if (this.#systemColumns(keyColumns).some((name) => !columns.has(name))) return false;
    const widening = this.#policy.drift === 'auto';
    // Changes of one record shape share their field names: each new list of names is checked once.
    let known: readonly string[] = [];
    for (const change of changes) {
      if (!hasFieldNames(change.fields, known)) {
        const names = Object.keys(change.fields);
        for (const name of names)
          if (!columns.has(name) && !this.#absent.has(`${table.toString()}\0${name}`)) return false;
        known = names;
      }
      if (!widening) continue;
      for (const name of known) {
        const column = columns.get(name);
        if (column && widenedType(column.type, change.fields[name]!) !== null) return false;
      }
    }
    return true;
  }

  /** Counts (and under `warn`, logs once per column) the fields that have no column, and builds the plan. */
  #finish(
    table: TableName,
    columns: ReadonlyMap<string, ColumnInfo>,
    changes: readonly Change[],
    keyColumns: readonly string[],
  ): TablePlan {
    let known: readonly string[] = [];
    let dropped = 0;
    for (const change of changes) {
      if (!hasFieldNames(change.fields, known)) {
        known = Object.keys(change.fields);
        dropped = known.filter((name) => !columns.has(name)).length;
      }
      this.#droppedFields += dropped;
    }
    const { mode, versionColumn, softDelete, tombstones } = this.#policy;
    return {
      table,
      columns,
      mode,
      keyColumns,
      versionColumn,
      softDelete,
      tombstones: tombstones ? new TombstoneTable(table) : null,
    };
  }

  #systemColumns(keyColumns: readonly string[]): string[] {
    const { mode, versionColumn, softDelete } = this.#policy;
    return [
      ...(mode === 'upsert' ? keyColumns : []),
      ...(versionColumn === null ? [] : [versionColumn]),
      ...(softDelete && mode === 'upsert' ? [softDelete.flag, softDelete.at] : []),
    ];
  }

  async #reconcile(
    table: TableName,
    changes: readonly Change[],
    keyColumns: readonly string[],
  ): Promise<Map<string, ColumnInfo>> {
    const found = await loadColumns(this.#pool, table);
    let columns: Map<string, ColumnInfo>;
    if (found !== null) columns = found;
    else {
      if (!this.#policy.createTable) {
        throw new SluiceError(
          'TABLE_MISSING',
          `table ${table.toString()} does not exist; create it or set create_table: true`,
        );
      }
      await this.#create(table, changes, keyColumns);
      columns = await this.#reload(table);
    }
    const known = columns;
    const system = this.#systemColumns(keyColumns).filter((name) => !known.has(name));
    const unknown = [...new Set(changes.flatMap((change) => Object.keys(change.fields)))].filter(
      (name) => !known.has(name) && !system.includes(name),
    );
    const widen =
      this.#policy.drift === 'auto' ? this.#widenings(columns, changes) : new Map<string, string>();
    if (this.#policy.drift !== 'auto' && system.length > 0) {
      throw new PipelineFailure(
        'SCHEMA_DRIFT',
        `table ${table.toString()} lacks the column(s) ${system.join(', ')} the sink needs (key, version or soft-delete); add them or set schema_drift: auto`,
      );
    }
    if (this.#policy.drift === 'fail' && unknown.length > 0) {
      const record = changes.find((change) => unknown.some((name) => name in change.fields))!.record;
      throw new PipelineFailure(
        'SCHEMA_DRIFT',
        `table ${table.toString()} has no column(s) ${unknown.join(', ')}, carried by the record from ${record.source.name} at ${record.source.position} (schema_drift: fail)`,
      );
    }
    if (this.#policy.drift === 'warn' || this.#policy.drift === 'ignore') {
      for (const name of unknown) {
        const key = `${table.toString()}\0${name}`;
        if (this.#policy.drift === 'warn' && !this.#absent.has(key)) {
          this.#logger.warn(
            { table: table.toString(), column: name },
            `table ${table.toString()} has no column ${JSON.stringify(name)}: the field is dropped from writes (schema_drift: warn)`,
          );
        }
        this.#absent.add(key);
      }
    }
    const actions: string[] = [];
    const added = this.#policy.drift === 'auto' ? [...system, ...unknown] : [];
    for (const name of added)
      actions.push(`ADD COLUMN IF NOT EXISTS ${quoteIdentifier(name)} ${this.#typeFor(name, changes)}`);
    for (const [name, type] of widen) actions.push(`ALTER COLUMN ${quoteIdentifier(name)} TYPE ${type}`);
    if (actions.length > 0) {
      await this.#pool.query(`ALTER TABLE ${table.sql} ${actions.join(', ')}`);
      this.#logger.info(
        { table: table.toString(), added, widened: Object.fromEntries(widen) },
        `altered table ${table.toString()} for schema drift`,
      );
      for (const name of added) this.#absent.delete(`${table.toString()}\0${name}`);
      columns = await this.#reload(table);
    }
    this.#cache.set(table.toString(), columns);
    return columns;
  }

  async #reload(table: TableName): Promise<Map<string, ColumnInfo>> {
    const columns = await loadColumns(this.#pool, table);
    if (columns === null)
      throw new SluiceError(
        'TABLE_MISSING',
        `table ${table.toString()} disappeared while the sink was changing it`,
        { retriable: true },
      );
    return columns;
  }

  async #create(table: TableName, changes: readonly Change[], keyColumns: readonly string[]): Promise<void> {
    const { mode, versionColumn, softDelete } = this.#policy;
    const names = new Set<string>(mode === 'upsert' ? keyColumns : []);
    for (const change of changes) for (const name of Object.keys(change.fields)) names.add(name);
    if (versionColumn !== null) names.add(versionColumn);
    if (softDelete && mode === 'upsert') names.add(softDelete.flag).add(softDelete.at);
    const definitions = [...names].map((name) => `${quoteIdentifier(name)} ${this.#typeFor(name, changes)}`);
    if (mode === 'upsert' && keyColumns.length > 0)
      definitions.push(`PRIMARY KEY (${keyColumns.map(quoteIdentifier).join(', ')})`);
    const exists = await this.#pool.query<{ exists: boolean }>(
      'SELECT to_regnamespace($1) IS NOT NULL AS exists',
      [quoteIdentifier(table.schema)],
    );
    if (!exists.rows[0]?.exists)
      await this.#pool.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdentifier(table.schema)}`);
    await this.#pool.query(`CREATE TABLE IF NOT EXISTS ${table.sql} (${definitions.join(', ')})`);
    this.#logger.info({ table: table.toString(), columns: [...names] }, `created table ${table.toString()}`);
  }

  /** A new column's type: the config's, the version/soft-delete column's, or one inferred from the batch's values. */
  #typeFor(name: string, changes: readonly Change[]): string {
    const explicit = this.#policy.columnTypes[name];
    if (explicit !== undefined) {
      if (!COLUMN_TYPE.test(explicit))
        throw new SluiceError(
          'CONFIG_INVALID',
          `columns.${name}: expected a Postgres type name such as numeric(12,2), got ${JSON.stringify(explicit)}`,
        );
      return explicit;
    }
    const { versionColumn, softDelete } = this.#policy;
    if (name === versionColumn) return 'numeric';
    if (softDelete && name === softDelete.flag) return 'boolean';
    if (softDelete && name === softDelete.at) return 'timestamp with time zone';
    let type: string | null = null;
    for (const change of changes) {
      const value = change.fields[name];
      if (value !== undefined) type = mergeTypes(type, inferType(value));
    }
    return type ?? 'text';
  }

  /** Columns that must become wider to hold the batch's values, with their new types. */
  #widenings(columns: ReadonlyMap<string, ColumnInfo>, changes: readonly Change[]): Map<string, string> {
    const widen = new Map<string, string>();
    for (const change of changes) {
      for (const [name, value] of Object.entries(change.fields)) {
        const column = columns.get(name);
        const wider = column ? widenedType(column.type, value) : null;
        if (wider === null) continue;
        const current = widen.get(name);
        if (current === undefined || (WIDTH[wider] ?? 0) > (WIDTH[current] ?? 0)) widen.set(name, wider);
      }
    }
    return widen;
  }
}
