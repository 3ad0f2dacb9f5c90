import type pg from 'pg';
import { FNV_OFFSET, fnvText } from '../../runtime/fnv-hash.js';
import { compareVersions } from './version.js';
import { TableName } from './table-name.js';

/** The name of the table, one per target schema, where the sink keeps the versions of deleted rows. */
const TOMBSTONE_TABLE = 'sluice_tombstones';
/** The first key of every tombstone lock (`pg_advisory_xact_lock(int, int)`): "SlTb", Sluice's tombstones. */
const LOCK_SPACE = 0x536c5462;

/** A tombstone to keep: the deleted row's identity (its encoded key) and the delete's version. */
export interface Tombstone {
  readonly key: string;
  /** Exact decimal text, as `versionOf` gives it. */
  readonly version: string;
}

/**
 * The tombstones of one target table: for newer-wins upserts (`version_column`) with deletes, the version of each
 * deleted row, so that a replayed or out-of-order older change of a row that is gone cannot bring it back (the row
 * took its version with it, or never existed). Kept in `<schema>.sluice_tombstones`, one per target schema and
 * shared by the tables in it: `(table_name, row_key)` is the primary key, `version` the newest delete's version
 * (numeric), `deleted_at` when it was stored, for pruning. Reads and records run in the caller's transaction.
 */
export class TombstoneTable {
  /** The tombstone table itself. */
  readonly name: TableName;
  /** The target table whose deleted rows it keeps, as `schema.table` (the `table_name` column). */
  readonly target: string;

  /** The second key of the table's lock: a hash of `target` (two tables sharing one only wait for each other). */
  readonly lockKey: number;

  constructor(target: TableName) {
    this.name = TombstoneTable.nameIn(target.schema);
    this.target = target.toString();
    this.lockKey = fnvText(FNV_OFFSET, this.target);
  }

  /** The tombstone table of `schema`. */
  static nameIn(schema: string): TableName {
    return new TableName(schema, TOMBSTONE_TABLE);
  }

  /** `CREATE TABLE` for the tombstone table of `schema`. */
  static ddl(schema: string): string {
    return `CREATE TABLE IF NOT EXISTS ${TombstoneTable.nameIn(schema).sql} (table_name text NOT NULL, row_key text NOT NULL, version numeric NOT NULL, deleted_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (table_name, row_key))`;
  }

  /**
   * The statement (with its `;`) that takes the table's transaction-level lock, before anything else in a write:
   * shared for a write without deletes, exclusive for one with deletes. Concurrent writes (`max_in_flight` above 1,
   * or several processes) thus never interleave a delete with an upsert of the same table: an upsert that read no
   * tombstone cannot commit after a delete it did not see, and a delete sees every upsert committed before it.
   * Writes of the same table without deletes still run side by side.
   */
  lockStatement(deletes: boolean): string {
    return `SELECT pg_advisory_xact_lock${deletes ? '' : '_shared'}(${LOCK_SPACE}, ${this.lockKey});`;
  }

  /**
   * Of `keys`, those with a tombstone, mapped to its version: what an upsert of one of them must be newer than.
   * One statement, whatever the number of keys; while the table has no tombstone at all, Postgres looks up none of
   * the keys (the `EXISTS` is evaluated once, first).
   */
  async versions(client: pg.ClientBase, keys: readonly string[]): Promise<Map<string, string>> {
    const table = this.name.sql;
    const result = await client.query<{ row_key: string; version: string }>(
      `SELECT row_key, version::text AS version FROM ${table} WHERE table_name = $1 AND row_key = ANY($2::text[]) ` +
        `AND EXISTS (SELECT 1 FROM ${table} WHERE table_name = $1)`,
      [this.target, keys],
    );
    return new Map(result.rows.map((row) => [row.row_key, row.version]));
  }

  /** Stores tombstones, each replacing an older one of its row (a newer one stays). */
  async record(client: pg.ClientBase, tombstones: readonly Tombstone[]): Promise<void> {
    if (tombstones.length === 0) return;
    const table = this.name.sql;
    await client.query(
      `INSERT INTO ${table} AS kept (table_name, row_key, version) ` +
        `SELECT $1, d.row_key, d.version FROM unnest($2::text[], $3::numeric[]) AS d(row_key, version) ` +
        `ON CONFLICT (table_name, row_key) DO UPDATE SET version = EXCLUDED.version, deleted_at = now() ` +
        `WHERE kept.version < EXCLUDED.version`,
      [
        this.target,
        tombstones.map((tombstone) => tombstone.key),
        tombstones.map((tombstone) => tombstone.version),
      ],
    );
  }

  /** Removes this table's tombstones stored more than `retentionMs` ago (in its own statement, outside a write). */
  async prune(pool: pg.Pool, retentionMs: number): Promise<void> {
    await pool.query(
      `DELETE FROM ${this.name.sql} WHERE table_name = $1 AND deleted_at < now() - $2::bigint * interval '1 millisecond'`,
      [this.target, retentionMs],
    );
  }
}

/** Whether a change of `version` is buried by a tombstone of `tombstoneVersion` (the delete is as new or newer). */
export function isBuried(version: string, tombstoneVersion: string | undefined): boolean {
  return tombstoneVersion !== undefined && compareVersions(version, tombstoneVersion) <= 0;
}
