import type { ChangeRecord, Row } from '../../runtime/record.js';
import { encodeValue, type ColumnTypeInfo } from './value-encoding.js';

/**
 * One row-level change the sink applies to one table, derived from a record:
 * `upsert` (insert or update by key), `append` (plain insert) or `delete` (by key).
 */
export interface Change {
  readonly kind: 'upsert' | 'append' | 'delete';
  /** The record it came from (the one a dead letter names if the table refuses the change). */
  readonly record: ChangeRecord;
  /** Column values to write: the record's `after` row (plus key fields) for upserts and appends, the key for deletes. */
  readonly fields: Row;
  /** The version (exact decimal text) for newer-wins writes, when a version column is configured. */
  readonly version?: string;
  /** When the row was deleted (ISO text), for soft deletes. */
  readonly deletedAt?: string;
}

/** How a change's fields map to the target's columns: shared by every change with the same field names. */
export interface ChangeShape {
  /** Column names written, sorted (changes with the same names go in one statement). */
  readonly names: readonly string[];
  /** Each written column, in the order of `names`. */
  readonly columns: readonly ColumnTypeInfo[];
}

/**
 * A change placed in its target table: which columns it writes, the row it identifies within the batch and its
 * version as text. Its other values are encoded only as they are written (see {@link encodeValues} and the COPY
 * lines), so a write does not hold every value's text from start to commit: at 300,000 records (`pg-sink`) that
 * took about a quarter off the garbage collector's time.
 */
export interface EncodedChange {
  readonly change: Change;
  readonly shape: ChangeShape;
  /** The encoded key values joined, identifying the row within a batch. */
  readonly identity: string;
  /** The version as text for the version column. */
  readonly versionText?: string;
}

/** The change's values encoded as Postgres text for its columns, one per column of its shape. */
export function encodeValues({ change, shape }: EncodedChange): (string | null)[] {
  const { names, columns } = shape;
  const { fields } = change;
  const values = new Array<string | null>(names.length);
  for (let column = 0; column < names.length; column++)
    values[column] = encodeValue(fields[names[column]!]!, columns[column]!);
  return values;
}
