import type pg from 'pg';
import { SluiceError } from '../../runtime/errors.js';
import type { CdcTable } from './cdc-table.js';
import { quoteIdentifier } from './quote-identifier.js';
import type { TableName } from './table-name.js';

/** The replication slot as `pg_replication_slots` shows it, when it exists. */
export interface SlotState {
  readonly plugin: string | null;
  readonly database: string | null;
  readonly active: boolean;
  readonly confirmedFlushLsn: string | null;
}

/** What the checks found: the tables with their keys, and the slot when it already exists. */
export interface CdcPrerequisites {
  readonly tables: readonly CdcTable[];
  readonly slot: SlotState | null;
}

/**
 * Checks, on a normal connection, everything logical replication of `tables` through `slot` and `publication`
 * needs, failing with a clear, non-retriable error for the first thing missing:
 * - `PG_WAL_LEVEL_NOT_LOGICAL`: `wal_level` is not `logical`;
 * - `PG_REPLICATION_PRIVILEGE_MISSING`: the user has neither REPLICATION nor superuser;
 * - `PG_TABLE_NOT_FOUND`: a table does not exist;
 * - `PG_TABLE_NO_REPLICA_IDENTITY`: a table has no primary key and no replica identity, so its updates and
 *   deletes cannot be replicated;
 * - `PG_SLOT_MISMATCH`: the slot exists but is not a pgoutput slot of this database;
 * - `PG_SLOT_IN_USE` (retriable): another connection streams from the slot;
 * - `PG_NO_FREE_REPLICATION_SLOT`: the slot must be created and `max_replication_slots` are all taken.
 * Then creates the publication `FOR TABLE` the tables when it is absent, or checks that it publishes them all
 * (`PG_PUBLICATION_MISSING_TABLES` otherwise).
 */
export async function checkCdcPrerequisites(
  client: pg.ClientBase,
  options: { tables: readonly TableName[]; slot: string; publication: string; where: string },
): Promise<CdcPrerequisites> {
  const { where } = options;
  const settings = await client.query<{ wal_level: string; allowed: boolean; database: string; max_slots: string; used_slots: string }>(
    `SELECT current_setting('wal_level') AS wal_level,
            (SELECT rolreplication OR rolsuper FROM pg_roles WHERE rolname = current_user) AS allowed,
            current_database() AS database,
            current_setting('max_replication_slots') AS max_slots,
            (SELECT count(*) FROM pg_replication_slots)::text AS used_slots`,
  );
  const setting = settings.rows[0]!;
  if (setting.wal_level !== 'logical') {
    throw new SluiceError(
      'PG_WAL_LEVEL_NOT_LOGICAL',
      `expected wal_level = logical for change data capture, got wal_level = ${setting.wal_level} on ${where}: set wal_level = logical in postgresql.conf and restart the server`,
    );
  }
  if (setting.allowed !== true) {
    throw new SluiceError(
      'PG_REPLICATION_PRIVILEGE_MISSING',
      `expected a user with the REPLICATION attribute on ${where}, got one without it: run ALTER ROLE <user> WITH REPLICATION`,
    );
  }
  const tables: CdcTable[] = [];
  for (const table of options.tables) tables.push(await inspectTable(client, table, where));

  const slots = await client.query<{ plugin: string | null; database: string | null; active: boolean; confirmed_flush_lsn: string | null }>(
    `SELECT plugin, database, active, confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = $1`,
    [options.slot],
  );
  const found = slots.rows[0];
  let slot: SlotState | null = null;
  if (found) {
    if (found.plugin !== 'pgoutput' || found.database !== setting.database) {
      throw new SluiceError(
        'PG_SLOT_MISMATCH',
        `expected replication slot "${options.slot}" to be a logical pgoutput slot of database "${setting.database}", got plugin ${found.plugin ?? '(physical)'} on database ${found.database ?? '(none)'} on ${where}: choose another slot name`,
      );
    }
    if (found.active) {
      throw new SluiceError('PG_SLOT_IN_USE', `replication slot "${options.slot}" on ${where} is in use by another connection`, {
        retriable: true,
      });
    }
    slot = { plugin: found.plugin, database: found.database, active: found.active, confirmedFlushLsn: found.confirmed_flush_lsn };
  } else if (Number(setting.used_slots) >= Number(setting.max_slots)) {
    throw new SluiceError(
      'PG_NO_FREE_REPLICATION_SLOT',
      `expected a free replication slot to create "${options.slot}" on ${where}, got all ${setting.max_slots} (max_replication_slots) in use: drop unused slots (SELECT pg_drop_replication_slot(...)) or raise max_replication_slots`,
    );
  }
  await ensurePublication(client, options.publication, tables, where);
  return { tables, slot };
}

async function inspectTable(client: pg.ClientBase, table: TableName, where: string): Promise<CdcTable> {
  const result = await client.query<{ oid: string | null; replident: string | null; reltuples: string | null; pk: string[] | null; ri: string[] | null }>(
    `SELECT c.oid::text, c.relreplident::text AS replident, c.reltuples::text,
            (SELECT array_agg(a.attname::text ORDER BY k.ord) FROM pg_index i
               CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
               JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
              WHERE i.indrelid = c.oid AND i.indisprimary) AS pk,
            (SELECT array_agg(a.attname::text ORDER BY k.ord) FROM pg_index i
               CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
               JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
              WHERE i.indrelid = c.oid AND i.indisreplident) AS ri
       FROM (SELECT to_regclass($1) AS oid) AS r
       LEFT JOIN pg_class c ON c.oid = r.oid AND c.relkind IN ('r', 'p')`,
    [table.sql],
  );
  const row = result.rows[0];
  if (!row?.oid) {
    throw new SluiceError('PG_TABLE_NOT_FOUND', `expected table ${String(table)} to exist on ${where}, got no such table`);
  }
  const keyColumns = row.pk ?? (row.replident === 'i' ? row.ri : null);
  if (keyColumns === null && row.replident !== 'f') {
    throw new SluiceError(
      'PG_TABLE_NO_REPLICA_IDENTITY',
      `expected table ${String(table)} on ${where} to have a primary key or a replica identity, got neither: add a primary key, or run ALTER TABLE ${table.sql} REPLICA IDENTITY FULL`,
    );
  }
  const estimate = Number(row.reltuples);
  return { name: table, keyColumns, estimatedRows: Number.isFinite(estimate) && estimate >= 0 ? estimate : null };
}

async function ensurePublication(client: pg.ClientBase, publication: string, tables: readonly CdcTable[], where: string): Promise<void> {
  const exists = await client.query(`SELECT 1 FROM pg_publication WHERE pubname = $1`, [publication]);
  if (exists.rowCount === 0) {
    try {
      await client.query(`CREATE PUBLICATION ${quoteIdentifier(publication)} FOR TABLE ${tables.map((table) => table.name.sql).join(', ')}`);
    } catch (cause) {
      throw new SluiceError(
        'PG_PUBLICATION_CREATE_FAILED',
        `could not create publication "${publication}" on ${where}: ${cause instanceof Error ? cause.message : String(cause)} (the user must own the tables, or create the publication beforehand)`,
        { cause },
      );
    }
    return;
  }
  const published = await client.query<{ schemaname: string; tablename: string }>(
    `SELECT schemaname, tablename FROM pg_publication_tables WHERE pubname = $1`,
    [publication],
  );
  const names = new Set(published.rows.map((row) => `${row.schemaname}.${row.tablename}`));
  const missing = tables.filter((table) => !names.has(String(table.name)));
  if (missing.length > 0) {
    throw new SluiceError(
      'PG_PUBLICATION_MISSING_TABLES',
      `expected publication "${publication}" on ${where} to publish ${missing.map((table) => String(table.name)).join(', ')}, got it without them: run ALTER PUBLICATION ${quoteIdentifier(publication)} ADD TABLE ${missing.map((table) => table.name.sql).join(', ')}`,
    );
  }
}
