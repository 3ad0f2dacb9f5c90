import type pg from 'pg';
import type { TableName } from './table-name.js';

/**
 * Whether `table` has a primary key or a unique index that `INSERT ... ON CONFLICT (keyColumns)` can use: unique,
 * not deferred, not partial, on plain columns that are exactly `keyColumns` in any order (columns an index only
 * `INCLUDE`s do not count). Without one, upserts fail (or a plain `COPY` of new rows would duplicate keys).
 */
export async function hasUniqueKey(
  client: pg.Pool | pg.ClientBase,
  table: TableName,
  keyColumns: readonly string[],
): Promise<boolean> {
  const result = await client.query<{ ok: boolean }>(
    `SELECT EXISTS (
       SELECT 1 FROM pg_index i
        WHERE i.indrelid = to_regclass($1) AND i.indisunique AND i.indimmediate AND i.indpred IS NULL
          AND i.indexprs IS NULL
          AND (SELECT array_agg(a.attname::text ORDER BY a.attname) FROM pg_attribute a
                WHERE a.attrelid = i.indrelid AND a.attnum = ANY ((i.indkey::int2[])[0:i.indnkeyatts - 1]))
              = (SELECT array_agg(k ORDER BY k) FROM unnest($2::text[]) AS k)
     ) AS ok`,
    [table.sql, keyColumns],
  );
  return result.rows[0]?.ok === true;
}
