import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { postgresSinkDefinition } from '../../../connectors/postgres/sink-definition.js';
import { DIRECT_COPY_THRESHOLD } from '../../../connectors/postgres/table-writer.js';
import type { PostgresSinkConfig } from '../../../connectors/postgres/sink-config.js';
import type { SluiceError } from '../../../runtime/errors.js';
import type { ChangeRecord } from '../../../runtime/record.js';
import { lockWaits, usePostgres } from '../../support/postgres.js';
import { change, connectedSink } from './sink-helpers.js';

const pg = usePostgres();

/** An upsert sink newer-wins by `source.lsn` into `orders`, created on the first write and widened as rows come. */
function versioned(url: string, options: Partial<PostgresSinkConfig> = {}): PostgresSinkConfig {
  return {
    url,
    table: 'orders',
    create_table: true,
    schema_drift: 'auto',
    version_column: '_version',
    version_from: 'source.lsn',
    ...options,
  };
}

/** The rows of `orders` as `id: status@version`, by id. */
async function orders(pool: { query: (sql: string) => Promise<{ rows: unknown[] }> }): Promise<string[]> {
  const { rows } = await pool.query(
    'SELECT id::text AS id, status, _version::text AS v FROM orders ORDER BY id',
  );
  return (rows as { id: string; status: string; v: string }[]).map(
    ({ id, status, v }) => `${id}: ${status}@${v}`,
  );
}

describe('postgres sink: tombstones', () => {
  test('a replayed older change of a deleted row does not bring it back; a newer one does', async () => {
    const db = await pg.database();
    const sink = await connectedSink(versioned(db.url));
    try {
      await sink.write([change('insert', { id: 1 }, { id: 1, status: 'new' }, { lsn: 5 })]);
      await sink.write([change('delete', { id: 1 }, null, { lsn: 7 })]);
      // The replay after a restart: the insert and an update from before the delete, in separate batches.
      await sink.write([change('insert', { id: 1 }, { id: 1, status: 'new' }, { lsn: 5 })]);
      await sink.write([change('update', { id: 1 }, { id: 1, status: 'paid' }, { lsn: 6 })]);
      await sink.write([change('update', { id: 1 }, { id: 1, status: 'same' }, { lsn: 7 })]);
      assert.deepEqual(await orders(db.pool), []);
      await sink.write([change('insert', { id: 1 }, { id: 1, status: 'again' }, { lsn: 8 })]);
      assert.deepEqual(await orders(db.pool), ['1: again@8']);
    } finally {
      await sink.close();
    }
  });

  test('a delete of a row the target never held still buries older changes that come after it', async () => {
    const db = await pg.database();
    const sink = await connectedSink(versioned(db.url));
    try {
      await sink.write([change('insert', { id: 2 }, { id: 2, status: 'other' }, { lsn: 1 })]);
      await sink.write([change('delete', { id: 1 }, null, { lsn: 9 })]);
      await sink.write([
        change('insert', { id: 1 }, { id: 1, status: 'late' }, { lsn: 4 }),
        change('update', { id: 2 }, { id: 2, status: 'kept' }, { lsn: 4 }),
      ]);
      assert.deepEqual(await orders(db.pool), ['2: kept@4']);
      const { rows } = await db.pool.query(
        'SELECT table_name, row_key, version::text FROM sluice_tombstones ORDER BY row_key',
      );
      assert.deepEqual(rows, [{ table_name: 'public.orders', row_key: '1', version: '9' }]);
    } finally {
      await sink.close();
    }
  });

  test('a newer delete replaces the tombstone; an older one leaves it', async () => {
    const db = await pg.database();
    const sink = await connectedSink(versioned(db.url));
    try {
      await sink.write([change('delete', { id: 1 }, null, { lsn: 5 })]);
      await sink.write([change('delete', { id: 1 }, null, { lsn: 8 })]);
      await sink.write([change('delete', { id: 1 }, null, { lsn: 6 })]);
      const { rows } = await db.pool.query('SELECT version::text FROM sluice_tombstones');
      assert.deepEqual(rows, [{ version: '8' }]);
      await sink.write([change('insert', { id: 1 }, { id: 1, status: 'seven' }, { lsn: 7 })]);
      assert.deepEqual(await orders(db.pool), []);
    } finally {
      await sink.close();
    }
  });

  test('soft deletes keep tombstones too: an unseen row deleted, then its older insert, stays absent', async () => {
    const db = await pg.database();
    const sink = await connectedSink(versioned(db.url, { deletes: 'soft' }));
    try {
      await sink.write([change('insert', { id: 2 }, { id: 2, status: 'x' }, { lsn: 1 })]);
      await sink.write([change('delete', { id: 1 }, null, { lsn: 9 })]);
      await sink.write([change('insert', { id: 1 }, { id: 1, status: 'late' }, { lsn: 3 })]);
      assert.deepEqual(await orders(db.pool), ['2: x@1']);
    } finally {
      await sink.close();
    }
  });

  test('a COPY-first group holding a buried row writes every other row and leaves that one out', async () => {
    const db = await pg.database();
    const sink = await connectedSink(versioned(db.url));
    try {
      await sink.write([change('delete', { id: 10 }, null, { lsn: 50 })]);
      const rows = DIRECT_COPY_THRESHOLD + 44;
      const group: ChangeRecord[] = Array.from({ length: rows }, (_, index) =>
        change('insert', { id: index + 1 }, { id: index + 1, status: 'loaded' }, { lsn: 20 }),
      );
      await sink.write(group);
      const { rows: counts } = await db.pool.query<{ n: number; ten: number }>(
        'SELECT count(*)::int AS n, count(*) FILTER (WHERE id = 10)::int AS ten FROM orders',
      );
      assert.deepEqual(counts[0], { n: rows - 1, ten: 0 });
    } finally {
      await sink.close();
    }
  });

  test('keys of several columns are buried by their whole key, not by one part of it', async () => {
    const db = await pg.database();
    const sink = await connectedSink(versioned(db.url, { table: 'lines', key: ['order_id', 'line'] }));
    try {
      await sink.write([change('delete', { order_id: 1, line: 2 }, null, { lsn: 9 })]);
      await sink.write([
        change('insert', { order_id: 1, line: 2 }, { order_id: 1, line: 2, sku: 'buried' }, { lsn: 3 }),
        change('insert', { order_id: 1, line: 3 }, { order_id: 1, line: 3, sku: 'kept' }, { lsn: 3 }),
        change('insert', { order_id: 2, line: 2 }, { order_id: 2, line: 2, sku: 'kept' }, { lsn: 3 }),
      ]);
      const { rows } = await db.pool.query(
        'SELECT order_id::int, line::int, sku FROM lines ORDER BY order_id, line',
      );
      assert.deepEqual(rows, [
        { order_id: 1, line: 3, sku: 'kept' },
        { order_id: 2, line: 2, sku: 'kept' },
      ]);
    } finally {
      await sink.close();
    }
  });

  test('an older upsert written beside a delete of its row (two writers) waits for the delete and is buried', async () => {
    const db = await pg.database();
    const deleter = await connectedSink(versioned(db.url));
    const upserter = await connectedSink(versioned(db.url));
    const blocker = await db.pool.connect();
    try {
      await deleter.write([
        change('insert', { id: 2 }, { id: 2, status: 'other' }, { lsn: 1 }),
        change('delete', { id: 3 }, null, { lsn: 1 }),
      ]);
      // An open transaction holding an uncommitted tombstone of row 1 stalls the delete's write just before it
      // commits: the window in which a second writer's older upsert of row 1 could slip in.
      await blocker.query('BEGIN');
      await blocker.query(
        `INSERT INTO sluice_tombstones (table_name, row_key, version) VALUES ('public.orders', '1', 0)`,
      );
      const deleting = deleter.write([change('delete', { id: 1 }, null, { lsn: 5 })]);
      await until(async () => (await lockWaits(db.pool)) === 1);
      let upserted = false;
      const upserting = upserter
        .write([change('insert', { id: 1 }, { id: 1, status: 'late' }, { lsn: 3 })])
        .finally(() => (upserted = true));
      await until(async () => upserted || (await lockWaits(db.pool)) === 2);
      await blocker.query('ROLLBACK');
      await Promise.all([deleting, upserting]);
      assert.deepEqual(await orders(db.pool), ['2: other@1']);
      const { rows } = await db.pool.query(
        `SELECT row_key, version::text FROM sluice_tombstones WHERE row_key = '1'`,
      );
      assert.deepEqual(rows, [{ row_key: '1', version: '5' }]);
    } finally {
      blocker.release();
      await deleter.close();
      await upserter.close();
    }
  });

  test('tombstones older than tombstone_retention are pruned, and then an older change applies again', async () => {
    const db = await pg.database();
    const sink = await connectedSink(versioned(db.url, { tombstone_retention: '50ms' }));
    try {
      await sink.write([change('delete', { id: 1 }, null, { lsn: 9 })]);
      await sink.write([change('insert', { id: 1 }, { id: 1, status: 'buried' }, { lsn: 2 })]);
      assert.deepEqual(await orders(db.pool), []);
      await new Promise((resolve) => setTimeout(resolve, 120));
      await sink.write([change('insert', { id: 1 }, { id: 1, status: 'late' }, { lsn: 3 })]);
      assert.deepEqual(await orders(db.pool), ['1: late@3']);
      const { rows } = await db.pool.query('SELECT count(*)::int AS n FROM sluice_tombstones');
      assert.deepEqual(rows, [{ n: 0 }]);
    } finally {
      await sink.close();
    }
  });

  test('tombstones: false keeps no tombstone table, and the older change of a deleted row applies', async () => {
    const db = await pg.database();
    const sink = await connectedSink(versioned(db.url, { tombstones: false }));
    try {
      await sink.write([change('insert', { id: 1 }, { id: 1, status: 'new' }, { lsn: 5 })]);
      await sink.write([change('delete', { id: 1 }, null, { lsn: 7 })]);
      await sink.write([change('insert', { id: 1 }, { id: 1, status: 'new' }, { lsn: 5 })]);
      assert.deepEqual(await orders(db.pool), ['1: new@5']);
      const { rows } = await db.pool.query(`SELECT to_regclass('sluice_tombstones') IS NULL AS absent`);
      assert.deepEqual(rows, [{ absent: true }]);
    } finally {
      await sink.close();
    }
  });

  test('a user who may not create the tombstone table gets an error saying how to create it', async () => {
    const db = await pg.database();
    await db.pool.query(`CREATE ROLE tomb_writer LOGIN PASSWORD 'secret'`);
    await db.pool.query('CREATE TABLE orders (id bigint PRIMARY KEY, status text, _version numeric)');
    await db.pool.query('GRANT SELECT, INSERT, UPDATE, DELETE ON orders TO tomb_writer');
    await db.pool.query('REVOKE CREATE ON SCHEMA public FROM PUBLIC');
    const url = new URL(db.url);
    url.username = 'tomb_writer';
    url.password = 'secret';
    const sink = await connectedSink(versioned(url.toString(), { create_table: false }));
    try {
      await assert.rejects(
        sink.write([change('delete', { id: 1 }, null, { lsn: 7 })]),
        (error: SluiceError) =>
          error.code === 'TOMBSTONES_UNAVAILABLE' &&
          !error.retriable &&
          error.message.includes('CREATE TABLE IF NOT EXISTS "public"."sluice_tombstones"') &&
          error.message.includes('tombstones: false'),
      );
    } finally {
      await sink.close();
    }
  });

  test('config: tombstones: true needs newer-wins upserts with deletes, and the retention must be a duration', async () => {
    const issues = await postgresSinkDefinition.check!(
      { url: 'postgres://h/db', table: 'orders', tombstones: true, tombstone_retention: 'a week' },
      { configDir: '.' },
    );
    assert.deepEqual(
      issues.map((issue) => [issue.path.join('.'), issue.message]),
      [
        ['tombstones', 'tombstones apply to mode: upsert with version_column and deletes: delete or soft'],
        [
          'tombstone_retention',
          'expected a duration (milliseconds as a number, or text like `200ms`, `5s`, `2m`, `1h`), got `a week`',
        ],
      ],
    );
  });
});

/** Resolves once `condition` holds, checking every 10 ms; rejects after 10 s. */
async function until(condition: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('timed out waiting for a condition');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
