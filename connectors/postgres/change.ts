import type { ChangeRecord, Row } from '../../runtime/record.js';

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

/** A change with its values already encoded as Postgres text for the target's column types. */
export interface EncodedChange {
  readonly change: Change;
  /** Column names written, in a stable order (changes with the same names go in one statement). */
  readonly columns: readonly string[];
  /** Encoded values, one per column. */
  readonly values: readonly (string | null)[];
  /** The encoded key values joined, identifying the row within a batch. */
  readonly identity: string;
  /** The version as text for the version column. */
  readonly versionText?: string;
}
