import pg from 'pg';
import type { ConfigIssue } from '../../runtime/component.js';
import { messageOf } from '../../runtime/errors.js';
import { loadColumns } from './column-info.js';
import { describeTarget, poolConfig } from './connection.js';
import { quoteIdentifier } from './quote-identifier.js';
import { keepsTombstones, type PostgresSinkConfig } from './sink-config.js';
import type { TableName } from './table-name.js';
import { TableTemplate } from './table-template.js';
import { TombstoneTable } from './tombstone-table.js';
import { hasUniqueKey } from './unique-key.js';

/** Options of {@link checkPostgresTarget}: the sink's config, and optionally the columns records will carry. */
export interface CheckTargetOptions {
  readonly config: PostgresSinkConfig;
  /** Columns the records will carry with their Postgres types (default: the config's `columns`). */
  readonly expected?: Readonly<Record<string, string>>;
}

/**
 * For `validate --connect`: connects with the sink's settings and reports what would make writes fail, as
 * config issues (paths relative to the sink's options): no connection; a missing table (unless `create_table`);
 * missing key, version, soft-delete or expected columns (unless `schema_drift: auto` would add them); no unique
 * index on the upsert key; expected types the column's type cannot take; NOT NULL columns without default that
 * records do not fill; missing INSERT, UPDATE, DELETE or SELECT privileges. A table template (`public.{table}`)
 * is only checked for connectivity and schema privileges.
 */
export async function checkPostgresTarget(options: CheckTargetOptions): Promise<ConfigIssue[]> {
  const { config } = options;
  const issues: ConfigIssue[] = [];
  const pool = new pg.Pool({ ...poolConfig(config, 'sluice/validate'), max: 1 });
  pool.on('error', () => undefined);
  try {
    try {
      await pool.query('SELECT 1');
    } catch (error) {
      return [
        {
          path: config.url === undefined ? ['host'] : ['url'],
          message: `cannot connect to ${describeTarget(config)}: ${messageOf(error)}`,
        },
      ];
    }
    const template = new TableTemplate(config.table);
    const table = template.fixed;
    if (table === null) return issues;
    const columns = await loadColumns(pool, table);
    const mode = config.mode ?? 'upsert';
    const drift = config.schema_drift ?? 'fail';
    if (columns === null) {
      if (!config.create_table)
        issues.push({
          path: ['table'],
          message: `table ${table.toString()} does not exist at ${describeTarget(config)}; create it or set create_table: true`,
        });
      else {
        const privilege = await pool.query<{ ok: boolean | null }>(
          `SELECT CASE WHEN to_regnamespace($1) IS NULL THEN has_database_privilege(current_database(), 'CREATE') ELSE has_schema_privilege(to_regnamespace($1), 'CREATE') END AS ok`,
          [quoteIdentifier(table.schema)],
        );
        if (!privilege.rows[0]?.ok)
          issues.push({
            path: ['create_table'],
            message: `the user may not create tables in schema ${table.schema}`,
          });
      }
      if (keepsTombstones(config)) issues.push(...(await tombstoneIssues(pool, table)));
      return issues;
    }
    const required: { name: string; path: ConfigIssue['path']; what: string }[] = [];
    if (mode === 'upsert')
      (config.key ?? []).forEach((name, index) =>
        required.push({ name, path: ['key', index], what: 'key column' }),
      );
    if (config.version_column !== undefined)
      required.push({ name: config.version_column, path: ['version_column'], what: 'version column' });
    if (config.deletes === 'soft' && mode === 'upsert') {
      required.push({
        name: config.soft_delete?.flag ?? 'is_deleted',
        path: ['soft_delete', 'flag'],
        what: 'soft-delete flag column',
      });
      required.push({
        name: config.soft_delete?.at ?? 'deleted_at',
        path: ['soft_delete', 'at'],
        what: 'soft-delete time column',
      });
    }
    if (drift !== 'auto') {
      for (const { name, path, what } of required) {
        if (!columns.has(name))
          issues.push({
            path,
            message: `${what} ${JSON.stringify(name)} is missing from ${table.toString()}`,
          });
      }
    }
    if (mode === 'upsert' && config.key !== undefined && config.key.every((name) => columns.has(name))) {
      if (!(await hasUniqueKey(pool, table, config.key)))
        issues.push({
          path: ['key'],
          message: `${table.toString()} has no primary key or unique index on exactly (${config.key.join(', ')}): upserts need one`,
        });
    }
    const expected = options.expected ?? config.columns ?? {};
    for (const [name, type] of Object.entries(expected)) {
      const column = columns.get(name);
      if (!column) {
        if (drift !== 'auto')
          issues.push({
            path: ['columns', name],
            message: `column ${JSON.stringify(name)} is missing from ${table.toString()} (schema_drift: ${drift})`,
          });
        continue;
      }
      const assignable = await pool
        .query<{ ok: boolean }>(
          `SELECT $1::regtype = $2::regtype OR EXISTS (SELECT 1 FROM pg_cast WHERE castsource = $1::regtype AND casttarget = $2::regtype AND castcontext IN ('a', 'i')) AS ok`,
          [type, column.fullType],
        )
        .then(
          (result) => result.rows[0]?.ok ?? false,
          () => false,
        );
      if (!assignable)
        issues.push({
          path: ['columns', name],
          message: `column ${JSON.stringify(name)} of ${table.toString()} is ${column.fullType}, which cannot take values of type ${type}`,
        });
    }
    if (options.expected !== undefined) {
      const filled = new Set([...Object.keys(options.expected), ...required.map((item) => item.name)]);
      for (const column of columns.values()) {
        if (column.notNull && !column.hasDefault && !filled.has(column.name)) {
          issues.push({
            path: ['table'],
            message: `column ${JSON.stringify(column.name)} of ${table.toString()} is NOT NULL without a default, and records do not carry it`,
          });
        }
      }
    }
    const privileges = [
      'INSERT',
      ...(mode === 'upsert' ? ['SELECT', 'UPDATE'] : []),
      ...(mode === 'upsert' && (config.deletes ?? 'delete') === 'delete' ? ['DELETE'] : []),
    ];
    for (const privilege of await missingPrivileges(pool, table, privileges))
      issues.push({
        path: ['table'],
        message: `the user lacks the ${privilege} privilege on ${table.toString()}`,
      });
    if (keepsTombstones(config)) issues.push(...(await tombstoneIssues(pool, table)));
    return issues;
  } catch (error) {
    issues.push({
      path: ['table'],
      message: `checking ${config.table} at ${describeTarget(config)} failed: ${messageOf(error)}`,
    });
    return issues;
  } finally {
    await pool.end().catch(() => undefined);
  }
}

/**
 * What would stop the sink keeping tombstones next to `table`: the tombstone table of its schema exists without the
 * SELECT, INSERT, UPDATE or DELETE privilege, or is absent and may not be created (an absent schema is created
 * with the table, by its owner).
 */
async function tombstoneIssues(pool: pg.Pool, table: TableName): Promise<ConfigIssue[]> {
  const tombstones = TombstoneTable.nameIn(table.schema);
  const { rows } = await pool.query<{ exists: boolean; schema: boolean; create: boolean | null }>(
    `SELECT to_regclass($1) IS NOT NULL AS exists, to_regnamespace($2) IS NOT NULL AS schema,
            has_schema_privilege(to_regnamespace($2), 'CREATE') AS create`,
    [tombstones.sql, quoteIdentifier(table.schema)],
  );
  const found = rows[0]!;
  if (!found.exists) {
    if (!found.schema || found.create) return [];
    return [
      {
        path: ['tombstones'],
        message: `${tombstones.toString()} (the versions of deleted rows) does not exist and the user may not create it in schema ${table.schema}; create it, grant CREATE on the schema, or set tombstones: false`,
      },
    ];
  }
  const missing = await missingPrivileges(pool, tombstones, ['SELECT', 'INSERT', 'UPDATE', 'DELETE']);
  return missing.map((privilege) => ({
    path: ['tombstones'],
    message: `the user lacks the ${privilege} privilege on ${tombstones.toString()} (the versions of deleted rows)`,
  }));
}

/** Of `privileges` on the existing `table`, those the user lacks, in the order given. */
async function missingPrivileges(
  pool: pg.Pool,
  table: TableName,
  privileges: readonly string[],
): Promise<string[]> {
  const missing: string[] = [];
  for (const privilege of privileges) {
    const granted = await pool.query<{ ok: boolean }>(
      'SELECT has_table_privilege(to_regclass($1), $2) AS ok',
      [table.sql, privilege],
    );
    if (!granted.rows[0]?.ok) missing.push(privilege);
  }
  return missing;
}
