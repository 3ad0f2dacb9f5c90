import type pg from 'pg';
import type { TableName } from './table-name.js';

/** One column of a target table, as the sink needs to know it. */
export interface ColumnInfo {
  readonly name: string;
  /** The type without modifier, as Postgres prints it: `bigint`, `numeric`, `text[]`, `timestamp with time zone`. */
  readonly type: string;
  /** The type with its modifier: `numeric(12,2)`, `character varying(10)`. */
  readonly fullType: string;
  /** `pg_type.typcategory`: `N` numeric, `S` string, `D` date/time, `B` boolean, `A` array, `U` user (json, bytea), ... */
  readonly category: string;
  /** For arrays, the element type without modifier (`text` for `text[]`); else null. */
  readonly elementType: string | null;
  readonly notNull: boolean;
  readonly hasDefault: boolean;
}

/**
 * Reads the columns of a table (in column order), or returns null when the table does not exist.
 * The name is resolved by Postgres from its quoted form, so any identifier works.
 */
export async function loadColumns(
  client: pg.ClientBase | pg.Pool,
  table: TableName,
): Promise<Map<string, ColumnInfo> | null> {
  const result = await client.query<{
    exists: boolean;
    name: string | null;
    type: string;
    full_type: string;
    category: string;
    element_type: string | null;
    not_null: boolean;
    has_default: boolean;
  }>(
    `SELECT to_regclass($1) IS NOT NULL AS exists, a.attname AS name, format_type(a.atttypid, NULL) AS type,
            format_type(a.atttypid, a.atttypmod) AS full_type, t.typcategory AS category,
            CASE WHEN t.typelem <> 0 AND t.typcategory = 'A' THEN format_type(t.typelem, NULL) END AS element_type,
            a.attnotnull AS not_null, a.atthasdef AS has_default
       FROM (SELECT 1) AS one
       LEFT JOIN pg_attribute a ON a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped
       LEFT JOIN pg_type t ON t.oid = a.atttypid
      ORDER BY a.attnum`,
    [table.sql],
  );
  if (!result.rows[0]?.exists) return null;
  const columns = new Map<string, ColumnInfo>();
  for (const row of result.rows) {
    if (row.name === null) continue;
    columns.set(row.name, {
      name: row.name,
      type: row.type,
      fullType: row.full_type,
      category: row.category,
      elementType: row.element_type,
      notNull: row.not_null,
      hasDefault: row.has_default,
    });
  }
  return columns;
}
