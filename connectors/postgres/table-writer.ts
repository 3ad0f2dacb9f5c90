import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { Row, Value } from '../../runtime/record.js';
import { binaryCopyWriters, encodeBinaryCopy } from './binary-copy.js';
import { encodeValues, type Change, type ChangeShape, type EncodedChange } from './change.js';
import type { ColumnInfo } from './column-info.js';
import { errorKind } from './error-kind.js';
import { hasFieldNames } from './has-field-names.js';
import { quoteIdentifier } from './quote-identifier.js';
import type { TableName } from './table-name.js';
import { isBuried, type TombstoneTable } from './tombstone-table.js';
import { encodeValue } from './value-encoding.js';
import { encodeVersion } from './version.js';

/**
 * Upsert groups of at least this many rows that COPY-first did not insert (see {@link CopyFirstState}) are written
 * by `COPY` into a temporary table and merged with one `INSERT ... SELECT ... ON CONFLICT`; smaller groups by one
 * `INSERT ... SELECT FROM unnest($1::text[], ...)`.
 * Measured through this sink (tmp script, not kept) on the shared 2-core machine under a load average of 4 to 8,
 * PostgreSQL 18 embedded, upsert with a version check, 6 columns (bigint, text, numeric, timestamptz, jsonb,
 * boolean) plus the version; rows/s, median of 5 interleaved rounds:
 *   rows per batch   unnest    COPY + merge
 *   100              18.7k     10.6k
 *   1 000            31.2k     24.7k
 *   2 000            33.6k     31.2k
 *   5 000            31.4k     28.5k to 39.7k (two runs)
 *   20 000           33.1k     37.0k
 * COPY pays for a temporary table per batch and only catches up from about 5 000 rows.
 */
export const COPY_THRESHOLD = 5_000;

/**
 * Groups of at least this many rows are first tried as one plain `COPY` into the table itself (see
 * {@link CopyFirstState}); appends of this size are always written so. Measured on the shared 2-core machine
 * (PostgreSQL 18 embedded, 8 order columns, transaction per group, rows/s): 100 rows unnest 11k to 15k, COPY 8k to
 * 17k; 300 rows unnest 18k to 26k, COPY 36k to 45k; 1 000 rows unnest 33k to 39k, COPY 41k to 50k, where one COPY
 * of all rows made 47k. COPY's second round trip costs more than it saves below a few hundred rows.
 */
export const DIRECT_COPY_THRESHOLD = 256;

/** Most groups skipped after a COPY-first attempt met existing rows, as the skips double. */
const MAX_COPY_FIRST_SKIPS = 64;

/**
 * Whether upserts into one table try COPY first: a group of new rows is inserted by a plain `COPY` into the table
 * (as fast as loading gets); when a row already exists (or anything else is refused) the COPY is rolled back to
 * its savepoint and the group is upserted as usual. After such a miss the next 1, 2, 4 ... 64 groups skip the
 * attempt, so a stream of updates pays for about one wasted COPY in 64 groups. Owned by the sink, one per table,
 * and handed to each batch's writer.
 */
export interface CopyFirstState {
  /** Groups still to skip before the next attempt. */
  skip: number;
  /** Groups skipped after the last miss (0 after a success). */
  backoff: number;
}

/** What the writer knows about its target table. */
export interface TablePlan {
  readonly table: TableName;
  /** The table's columns (after any schema-drift changes). Fields without a column here are not written. */
  readonly columns: ReadonlyMap<string, ColumnInfo>;
  readonly mode: 'append' | 'upsert';
  readonly keyColumns: readonly string[];
  /** Newer-wins: the column holding each row's version. */
  readonly versionColumn: string | null;
  /** Soft deletes: the flag and time columns. */
  readonly softDelete: { readonly flag: string; readonly at: string } | null;
  /** Where deletes leave their versions, and upserts look for them (newer-wins with deletes); else null. */
  readonly tombstones: TombstoneTable | null;
}

/** A change the table refused, with the database's error. */
export interface RefusedChange {
  readonly change: Change;
  readonly error: unknown;
}

/** How records with one list of field names are written: see {@link TableWriter.encode}. */
interface RecordShape extends ChangeShape {
  /** The record's field names, in the record's order. */
  readonly keys: readonly string[];
  /** The fields written (those with a column, but not the version column), sorted. */
  readonly names: readonly string[];
  /** Each written field's column. */
  readonly columns: readonly ColumnInfo[];
  /** Where each key column is in `names` (-1 when absent). */
  readonly keyIndexes: readonly number[];
}

let stageCounter = 0;

/**
 * Writes a batch's changes to one table inside the caller's transaction. Values travel as text parameters
 * (or COPY text) cast by the server to the column types; identifiers are quoted. Large groups go by `COPY`:
 * appends always, upserts first (when the table's {@link CopyFirstState} allows) as if every row were new. When
 * Postgres refuses a value or a constraint (SQLSTATE classes 22 and 23), the changes are bisected under
 * savepoints until the refused ones are isolated; the rest is written.
 */
export class TableWriter {
  readonly plan: TablePlan;
  readonly #copyThreshold: number;
  readonly #copyFirst: CopyFirstState;
  readonly #binaryCopy: boolean;
  #lastShape: RecordShape | undefined;

  /**
   * @param copyFirst the table's COPY-first state, kept by the caller across batches (a fresh one by default).
   * @param binaryCopy whether a COPY into the table may go in binary format (see `#copyInto`); false for a write
   *   done again after a binary COPY met a value with no binary form.
   */
  constructor(
    plan: TablePlan,
    copyThreshold: number = COPY_THRESHOLD,
    copyFirst: CopyFirstState = { skip: 0, backoff: 0 },
    binaryCopy = true,
  ) {
    this.plan = plan;
    this.#copyThreshold = copyThreshold;
    this.#copyFirst = copyFirst;
    this.#binaryCopy = binaryCopy;
  }

  /**
   * Places a change in this table: the columns its fields have (fields with no column are left out), the row it
   * identifies (its encoded key values) and its version text. The other values are encoded when written.
   */
  encode(change: Change, index: number): EncodedChange {
    const { fields } = change;
    const shape = this.#shapeOf(fields);
    const { keyIndexes } = shape;
    const identity =
      this.plan.mode === 'append'
        ? String(index)
        : keyIndexes.length === 1
          ? (keyText(fields, shape, keyIndexes[0]!) ?? '')
          : JSON.stringify(keyIndexes.map((at) => keyText(fields, shape, at)));
    const { versionColumn } = this.plan;
    if (versionColumn === null || change.version === undefined) return { change, shape, identity };
    const versionText = encodeVersion(change.version, this.plan.columns.get(versionColumn)!);
    return { change, shape, identity, versionText };
  }

  /**
   * The written columns for records with these fields: records of one source nearly always share their field
   * names, so the last shape is kept and compared before any sorting or lookups.
   */
  #shapeOf(fields: Row): RecordShape {
    const last = this.#lastShape;
    if (last !== undefined && hasFieldNames(fields, last.keys)) return last;
    const keys = Object.keys(fields);
    const { columns, keyColumns, versionColumn } = this.plan;
    const names = keys.filter((name) => columns.has(name) && name !== versionColumn).sort();
    const shape: RecordShape = {
      keys,
      names,
      columns: names.map((name) => columns.get(name)!),
      keyIndexes: keyColumns.map((name) => names.indexOf(name)),
    };
    this.#lastShape = shape;
    return shape;
  }

  /**
   * Applies the changes (already collapsed to one per row) and returns those the table refused. Rejects with the
   * database's error for anything that is not about particular records. `opening` is SQL to run first, in the
   * same round trip as the first savepoint: the caller's `BEGIN` and locks, or nothing.
   */
  async write(
    client: pg.ClientBase,
    changes: readonly EncodedChange[],
    opening = '',
  ): Promise<RefusedChange[]> {
    const refused: RefusedChange[] = [];
    if (changes.length === 0) {
      if (opening !== '') await client.query(opening);
      return refused;
    }
    await this.#isolate(client, changes, refused, opening);
    return refused;
  }

  /**
   * Applies `changes` under a savepoint; on a record-level refusal, rolls back to it and bisects. `opening` is
   * the top level's: SQL sent just before its savepoint (or an empty string), and its savepoint is left for the
   * caller's COMMIT to release, which saves a round trip; deeper levels release theirs.
   */
  async #isolate(
    client: pg.ClientBase,
    changes: readonly EncodedChange[],
    refused: RefusedChange[],
    opening: string | null = null,
  ): Promise<void> {
    if (changes.length === 0) return;
    await client.query(`${opening ?? ''}SAVEPOINT sluice_write`);
    try {
      await this.#apply(client, changes);
      if (opening === null) await client.query('RELEASE SAVEPOINT sluice_write');
    } catch (error) {
      if (errorKind(error) !== 'record') throw error;
      await client.query('ROLLBACK TO SAVEPOINT sluice_write');
      await client.query('RELEASE SAVEPOINT sluice_write');
      if (changes.length === 1) {
        refused.push({ change: changes[0]!.change, error });
        return;
      }
      const middle = Math.ceil(changes.length / 2);
      await this.#isolate(client, changes.slice(0, middle), refused);
      await this.#isolate(client, changes.slice(middle), refused);
    }
  }

  async #apply(client: pg.ClientBase, changes: readonly EncodedChange[]): Promise<void> {
    const { tombstones } = this.plan;
    const deletes = changes.filter((change) => change.change.kind === 'delete');
    let writes = changes.filter((change) => change.change.kind !== 'delete');
    // A read only: a failed COPY-first below may still roll back to #isolate's savepoint.
    if (tombstones !== null && writes.length > 0) writes = await unburied(client, tombstones, writes);
    const append = this.plan.mode === 'append';
    let untouched = true;
    for (const group of groupByColumns(writes, append)) {
      const direct = group.length >= Math.min(DIRECT_COPY_THRESHOLD, this.#copyThreshold);
      // Before the first statement, #isolate's savepoint undoes exactly a failed COPY-first: no savepoint needed.
      const copied =
        direct &&
        !append &&
        this.#shouldTryCopyFirst() &&
        (await this.#copyNewRows(client, group, untouched));
      untouched = false;
      if (copied) continue;
      if (direct && append) await this.#copyInto(client, group);
      else if (group.length >= this.#copyThreshold) await this.#copyMerge(client, group);
      else await this.#insertUnnest(client, group);
    }
    for (const group of groupByColumns(deletes, false)) await this.#delete(client, group);
    if (tombstones !== null && deletes.length > 0)
      await tombstones.record(
        client,
        deletes.map((change) => ({ key: change.identity, version: change.change.version! })),
      );
  }

  #shouldTryCopyFirst(): boolean {
    if (this.#copyFirst.skip === 0) return true;
    this.#copyFirst.skip--;
    return false;
  }

  /**
   * COPY-first: inserts the group by a plain COPY when none of its rows exists yet, which for upserts (with or
   * without versions) means the same as the upsert. Returns false, having changed nothing, when the table refused
   * the COPY for a record-level reason (a row exists: unique violation); other failures reject.
   */
  async #copyNewRows(
    client: pg.ClientBase,
    group: readonly EncodedChange[],
    atWriteSavepoint: boolean,
  ): Promise<boolean> {
    const state = this.#copyFirst;
    if (!atWriteSavepoint) await client.query('SAVEPOINT sluice_copy_first');
    try {
      await this.#copyInto(client, group);
    } catch (error) {
      if (errorKind(error) !== 'record') throw error;
      await client.query(
        atWriteSavepoint
          ? 'ROLLBACK TO SAVEPOINT sluice_write'
          : 'ROLLBACK TO SAVEPOINT sluice_copy_first; RELEASE SAVEPOINT sluice_copy_first',
      );
      state.backoff = Math.min(Math.max(1, state.backoff * 2), MAX_COPY_FIRST_SKIPS);
      state.skip = state.backoff;
      return false;
    }
    if (!atWriteSavepoint) await client.query('RELEASE SAVEPOINT sluice_copy_first');
    state.backoff = 0;
    return true;
  }

  /**
   * One `COPY` of the group into the table itself: its columns, then the version, then soft-delete defaults. Binary
   * when every column and value has a binary form (see binary-copy.ts), else text. A value with no binary form
   * found after the COPY started rejects with `BinaryCopyUnfitError`: the caller rolls back and writes as text.
   */
  async #copyInto(client: pg.ClientBase, group: readonly EncodedChange[]): Promise<void> {
    const { table, columns, mode, versionColumn, softDelete } = this.plan;
    const { names } = group[0]!.shape;
    const targets = names.map(quoteIdentifier);
    const targetColumns: ColumnInfo[] = names.map((name) => columns.get(name)!);
    if (versionColumn !== null) {
      targets.push(quoteIdentifier(versionColumn));
      targetColumns.push(columns.get(versionColumn)!);
    }
    // Soft-delete columns the records do not fill start as "not deleted": the same fields on every line.
    const defaults: (string | null)[] = [];
    if (softDelete && mode === 'upsert') {
      for (const [name, value] of [
        [softDelete.flag, 'f'],
        [softDelete.at, null],
      ] as const) {
        if (names.includes(name)) continue;
        targets.push(quoteIdentifier(name));
        targetColumns.push(columns.get(name)!);
        defaults.push(value);
      }
    }
    const binary = this.#binaryCopy
      ? binaryRows(group, targetColumns, versionColumn !== null, defaults)
      : undefined;
    const chunks = binary ?? copyLines(group, versionColumn !== null, defaults.map(copyField));
    const format = binary === undefined ? '' : ' (FORMAT binary)';
    await pipeline(
      Readable.from(chunks),
      client.query(copyFrom(`COPY ${table.sql} (${targets.join(', ')}) FROM STDIN${format}`)),
    );
  }

  async #insertUnnest(client: pg.ClientBase, group: readonly EncodedChange[]): Promise<void> {
    const arrays = columnArrays(group, this.plan.versionColumn !== null);
    const source = `unnest(${arrays.map((_, index) => `$${index + 1}::text[]`).join(', ')}) AS u(${arrays.map((_, index) => `c${index}`).join(', ')})`;
    await client.query(this.#insertSql(group[0]!.shape.names, source), arrays);
  }

  async #copyMerge(client: pg.ClientBase, group: readonly EncodedChange[]): Promise<void> {
    const { versionColumn } = this.plan;
    const names = group[0]!.shape.names;
    const width = names.length + (versionColumn !== null ? 1 : 0);
    const stage = quoteIdentifier(`sluice_stage_${++stageCounter}`);
    await client.query(
      `CREATE TEMP TABLE ${stage} (${Array.from({ length: width }, (_, index) => `c${index} text`).join(', ')}) ON COMMIT DROP`,
    );
    await pipeline(
      Readable.from(copyLines(group, versionColumn !== null, [])),
      client.query(copyFrom(`COPY ${stage} FROM STDIN`)),
    );
    await client.query(this.#insertSql(names, `${stage} AS u`));
    await client.query(`DROP TABLE ${stage}`);
  }

  /** `INSERT ... SELECT` from `source` (columns `u.c0`, `u.c1`, ... then the version), with the mode's conflict rule. */
  #insertSql(names: readonly string[], source: string): string {
    const { table, columns, mode, keyColumns, versionColumn, softDelete } = this.plan;
    const targets = names.map(quoteIdentifier);
    const selects = names.map((name, index) => `u.c${index}::${columns.get(name)!.type}`);
    if (versionColumn !== null) {
      targets.push(quoteIdentifier(versionColumn));
      selects.push(`u.c${names.length}::${columns.get(versionColumn)!.type}`);
    }
    if (softDelete && mode === 'upsert') {
      for (const [name, value] of [
        [softDelete.flag, 'false'],
        [softDelete.at, 'NULL'],
      ] as const) {
        if (names.includes(name)) continue;
        targets.push(quoteIdentifier(name));
        selects.push(`${value}::${columns.get(name)!.type}`);
      }
    }
    const insert = `INSERT INTO ${table.sql} AS target (${targets.join(', ')}) SELECT ${selects.join(', ')} FROM ${source}`;
    if (mode === 'append') return insert;
    const updates = targets.filter((target) => !keyColumns.some((key) => quoteIdentifier(key) === target));
    const conflict = `ON CONFLICT (${keyColumns.map(quoteIdentifier).join(', ')})`;
    if (updates.length === 0) return `${insert} ${conflict} DO NOTHING`;
    return `${insert} ${conflict} DO UPDATE SET ${updates.map((target) => `${target} = EXCLUDED.${target}`).join(', ')}${this.#newerOnly('EXCLUDED')}`;
  }

  async #delete(client: pg.ClientBase, group: readonly EncodedChange[]): Promise<void> {
    const { table, columns, keyColumns, versionColumn, softDelete } = this.plan;
    const names = group[0]!.shape.names;
    const arrays = columnArrays(group, versionColumn !== null);
    const versionAlias = `d.c${names.length}`;
    if (softDelete) arrays.push(group.map((change) => change.change.deletedAt ?? null));
    const atAlias = `d.c${arrays.length - 1}`;
    const source = `unnest(${arrays.map((_, index) => `$${index + 1}::text[]`).join(', ')}) AS d(${arrays.map((_, index) => `c${index}`).join(', ')})`;
    const match = keyColumns
      .map((key) => `target.${quoteIdentifier(key)} = d.c${names.indexOf(key)}::${columns.get(key)!.type}`)
      .join(' AND ');
    const newer =
      versionColumn === null
        ? ''
        : ` AND ${this.#olderRow(`${versionAlias}::${columns.get(versionColumn)!.type}`)}`;
    if (!softDelete) {
      await client.query(`DELETE FROM ${table.sql} AS target USING ${source} WHERE ${match}${newer}`, arrays);
      return;
    }
    const sets = [
      `${quoteIdentifier(softDelete.flag)} = true`,
      `${quoteIdentifier(softDelete.at)} = ${atAlias}::${columns.get(softDelete.at)!.type}`,
    ];
    if (versionColumn !== null)
      sets.push(`${quoteIdentifier(versionColumn)} = ${versionAlias}::${columns.get(versionColumn)!.type}`);
    await client.query(
      `UPDATE ${table.sql} AS target SET ${sets.join(', ')} FROM ${source} WHERE ${match}${newer}`,
      arrays,
    );
  }

  /** ` WHERE <the row's version is older than the incoming one>`, or nothing without versions. */
  #newerOnly(incoming: string): string {
    const { versionColumn } = this.plan;
    if (versionColumn === null) return '';
    return ` WHERE ${this.#olderRow(`${incoming}.${quoteIdentifier(versionColumn)}`)}`;
  }

  #olderRow(incoming: string): string {
    const current = `target.${quoteIdentifier(this.plan.versionColumn!)}`;
    return `(${current} IS NULL OR ${current} < ${incoming})`;
  }
}

/** The upserts no tombstone buries: a delete of their row as new as them or newer is already applied. */
async function unburied(
  client: pg.ClientBase,
  tombstones: TombstoneTable,
  writes: EncodedChange[],
): Promise<EncodedChange[]> {
  const versions = await tombstones.versions(
    client,
    writes.map((change) => change.identity),
  );
  if (versions.size === 0) return writes;
  return writes.filter(
    (change) =>
      change.change.version === undefined || !isBuried(change.change.version, versions.get(change.identity)),
  );
}

/** The encoded value of the key column at `at` in the shape's names (null when the record has no such field). */
function keyText(fields: Row, shape: RecordShape, at: number): string | null {
  return at < 0 ? null : encodeValue(fields[shape.names[at]!]!, shape.columns[at]!);
}

/** Groups changes by their column names: contiguous runs when order matters (appends), else all alike together. */
function groupByColumns(changes: readonly EncodedChange[], keepOrder: boolean): EncodedChange[][] {
  const groups: EncodedChange[][] = [];
  const bySignature = new Map<string, EncodedChange[]>();
  // Changes of one record shape share their column list: join each list once.
  const signatures = new Map<readonly string[], string>();
  let previous: string | undefined;
  for (const change of changes) {
    const { names } = change.shape;
    let signature = signatures.get(names);
    if (signature === undefined) {
      // Identifiers cannot hold NUL, so the joined names identify the column list.
      signature = names.join('\0');
      signatures.set(names, signature);
    }
    if (keepOrder) {
      if (signature !== previous) groups.push([]);
      groups.at(-1)!.push(change);
      previous = signature;
      continue;
    }
    let group = bySignature.get(signature);
    if (!group) {
      group = [];
      bySignature.set(signature, group);
      groups.push(group);
    }
    group.push(change);
  }
  return groups;
}

/** One text array per column (then the version when versioned), each with one entry per change. */
function columnArrays(group: readonly EncodedChange[], versioned: boolean): (string | null)[][] {
  const width = group[0]!.shape.names.length;
  const arrays: (string | null)[][] = Array.from(
    { length: width + (versioned ? 1 : 0) },
    () => new Array<string | null>(group.length),
  );
  group.forEach((change, row) => {
    const values = encodeValues(change);
    for (let column = 0; column < width; column++) arrays[column]![row] = values[column] ?? null;
    if (versioned) arrays[width]![row] = change.versionText ?? null;
  });
  return arrays;
}

/**
 * The group's rows in COPY text format, in chunks of about 64 KiB: each change's values (encoded here, as the
 * stream asks for more), then its version when `versioned`, then the `constant` fields (COPY text already). Each
 * line and each chunk is built by one `join` (one flat string) rather than by appending fields, which left a rope
 * of small strings per field.
 */
function* copyLines(
  group: readonly EncodedChange[],
  versioned: boolean,
  constant: readonly string[],
): Generator<string> {
  const width = group[0]!.shape.names.length;
  const fields = new Array<string>(width + (versioned ? 1 : 0) + constant.length);
  for (let at = 0; at < constant.length; at++) fields[fields.length - constant.length + at] = constant[at]!;
  const lines: string[] = [];
  let length = 0;
  for (let index = 0; index < group.length; index++) {
    const { shape, change, versionText } = group[index]!;
    const row = change.fields;
    for (let column = 0; column < width; column++)
      fields[column] = copyField(encodeValue(row[shape.names[column]!]!, shape.columns[column]!));
    if (versioned) fields[width] = copyField(versionText ?? null);
    const line = fields.join('\t');
    lines.push(line);
    length += line.length + 1;
    if (length >= 65_536 || index === group.length - 1) {
      // The empty last entry gives the chunk its final newline.
      lines.push('');
      yield lines.join('\n');
      lines.length = 0;
      length = 0;
    }
  }
}

/**
 * The group's rows as binary COPY buffers (see `encodeBinaryCopy`) for `targets` (the shape's columns, then the version when `versioned`,
 * then the `constant` fields as COPY text would carry them), or undefined when some column or value has no binary
 * form. A soft-delete flag `f` is written as `false` into a boolean column only.
 */
function binaryRows(
  group: readonly EncodedChange[],
  targets: readonly ColumnInfo[],
  versioned: boolean,
  constant: readonly (string | null)[],
): Iterable<Buffer> | undefined {
  const writers = binaryCopyWriters(targets);
  if (writers === undefined) return undefined;
  const width = group[0]!.shape.names.length;
  const constants: Value[] = [];
  for (let at = 0; at < constant.length; at++) {
    const text = constant[at]!;
    if (text === null) constants.push(null);
    else if (targets[targets.length - constant.length + at]!.type === 'boolean') constants.push(text === 't');
    else return undefined;
  }
  const versionAt = versioned ? width : -1;
  const constantsAt = width + (versioned ? 1 : 0);
  return encodeBinaryCopy(writers, group.length, (row, column) => {
    const change = group[row]!;
    if (column < width) return change.change.fields[change.shape.names[column]!]!;
    if (column === versionAt) return change.versionText ?? null;
    return constants[column - constantsAt]!;
  });
}

/** The characters COPY text format escapes. */
const COPY_SPECIAL = /[\\\t\n\r]/;

/** One field in COPY text format: `\N` for NULL, backslash escapes for the characters COPY treats specially. */
function copyField(value: string | null): string {
  if (value === null) return '\\N';
  if (!COPY_SPECIAL.test(value)) return value;
  return value.replace(/[\\\t\n\r]/g, (char) =>
    char === '\\' ? '\\\\' : char === '\t' ? '\\t' : char === '\n' ? '\\n' : '\\r',
  );
}
