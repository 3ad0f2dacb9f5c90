import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { pino } from 'pino';
import { startEmbeddedPostgres } from '../../../cli/embedded-postgres.js';
import type { PostgresCdcConfig } from '../../../connectors/postgres/cdc-config.js';
import { PostgresCdcSource } from '../../../connectors/postgres/cdc-source.js';
import { SluiceError } from '../../../runtime/errors.js';
import { usePostgres, uniqueName } from '../../support/postgres.js';

const postgres = usePostgres();

const noCheckpoints = { load: async () => undefined, save: async () => undefined, close: async () => undefined };

/** Connects a source with `config` and returns the error it fails with. */
async function connectError(config: PostgresCdcConfig): Promise<SluiceError> {
  const source = new PostgresCdcSource(config, 'cdc');
  try {
    await source.connect({ pipeline: 'test', name: 'cdc', logger: pino({ level: 'silent' }), checkpoints: noCheckpoints, signal: new AbortController().signal });
  } catch (error) {
    assert.ok(error instanceof SluiceError, `expected a SluiceError, got ${String(error)}`);
    return error;
  } finally {
    await source.close();
  }
  assert.fail('expected connect to fail');
}

function config(url: string, tables: string[]): PostgresCdcConfig {
  return { url, tables, publication: uniqueName('pub'), slot: uniqueName('slot') };
}

describe('postgres_cdc prerequisites', () => {
  test('wal_level other than logical is refused with what to change', async () => {
    const server = await startEmbeddedPostgres({ settings: { wal_level: 'replica' } });
    try {
      const error = await connectError(config(server.url, ['public.orders']));
      assert.equal(error.code, 'PG_WAL_LEVEL_NOT_LOGICAL');
      assert.equal(error.retriable, false);
      assert.match(error.message, /got wal_level = replica.*set wal_level = logical/);
    } finally {
      await server.stop();
    }
  });

  test('a missing table and a table without key or replica identity are refused before any slot is created', async () => {
    const database = await postgres.database('cdcpre');
    await database.pool.query('CREATE TABLE keyless (a int)');
    const missing = await connectError(config(database.url, ['public.nope']));
    assert.equal(missing.code, 'PG_TABLE_NOT_FOUND');
    assert.match(missing.message, /public\.nope/);
    const keyless = config(database.url, ['keyless']);
    const error = await connectError(keyless);
    assert.equal(error.code, 'PG_TABLE_NO_REPLICA_IDENTITY');
    assert.match(error.message, /REPLICA IDENTITY FULL/);
    const slots = await database.pool.query('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1', [keyless.slot]);
    assert.equal(slots.rowCount, 0);
  });

  test('a user without the REPLICATION attribute is refused', async () => {
    const database = await postgres.database('cdcpre');
    const role = uniqueName('reader');
    await database.pool.query(`CREATE ROLE ${role} LOGIN PASSWORD 'secret'`);
    await database.pool.query('CREATE TABLE orders (id int PRIMARY KEY)');
    const url = new URL(database.url);
    url.username = role;
    url.password = 'secret';
    const error = await connectError(config(url.toString(), ['orders']));
    assert.equal(error.code, 'PG_REPLICATION_PRIVILEGE_MISSING');
    assert.match(error.message, /ALTER ROLE/);
  });

  test('an existing publication without the table, and no free replication slot, are refused', async () => {
    const database = await postgres.database('cdcpre');
    await database.pool.query('CREATE TABLE orders (id int PRIMARY KEY)');
    await database.pool.query('CREATE TABLE other (id int PRIMARY KEY)');
    const publication = uniqueName('pub');
    await database.pool.query(`CREATE PUBLICATION ${publication} FOR TABLE other`);
    const unpublished = await connectError({ ...config(database.url, ['orders']), publication });
    assert.equal(unpublished.code, 'PG_PUBLICATION_MISSING_TABLES');
    assert.match(unpublished.message, /ALTER PUBLICATION .* ADD TABLE "public"\."orders"/);

    const { rows } = await database.pool.query<{ free: number }>(
      `SELECT current_setting('max_replication_slots')::int - count(*)::int AS free FROM pg_replication_slots`,
    );
    const fillers = Array.from({ length: rows[0]!.free }, () => uniqueName('filler'));
    for (const slot of fillers) await database.pool.query('SELECT pg_create_physical_replication_slot($1)', [slot]);
    try {
      const error = await connectError(config(database.url, ['orders']));
      assert.equal(error.code, 'PG_NO_FREE_REPLICATION_SLOT');
      assert.match(error.message, /max_replication_slots/);
    } finally {
      for (const slot of fillers) await database.pool.query('SELECT pg_drop_replication_slot($1)', [slot]);
    }
  });
});
