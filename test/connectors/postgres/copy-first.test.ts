import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DIRECT_COPY_THRESHOLD } from '../../../connectors/postgres/table-writer.js';
import type { ChangeRecord } from '../../../runtime/record.js';
import { usePostgres } from '../../support/postgres.js';
import { change, connectedSink } from './sink-helpers.js';

const pg = usePostgres();

/** A batch large enough for COPY-first: upserts of ids `first .. first+rows-1` with `note` and version `lsn`. */
function upserts(first: number, note: string, lsn = 1, rows = DIRECT_COPY_THRESHOLD + 44): ChangeRecord[] {
  return Array.from({ length: rows }, (_, index) =>
    change('insert', { id: first + index }, { id: first + index, note: `${note} ${first + index}` }, { lsn }),
  );
}

describe('postgres sink: COPY-first upserts', () => {
  test('new rows land by COPY; a batch of existing keys falls back to the upsert and updates every row', async () => {
    const db = await pg.database();
    const sink = await connectedSink({ url: db.url, table: 'orders', create_table: true, key: ['id'] });
    try {
      await sink.write(upserts(1, 'first'));
      await sink.write(upserts(151, 'second'));
      const { rows } = await db.pool.query<{ n: number; second: number; note: string }>(
        `SELECT count(*)::int AS n, count(*) FILTER (WHERE note LIKE 'second %')::int AS second,
                (SELECT note FROM orders WHERE id = 200) AS note FROM orders`,
      );
      assert.deepEqual(rows[0], { n: 450, second: 300, note: 'second 200' });
    } finally {
      await sink.close();
    }
  });

  test('after a fallback, later batches of new rows and of old keys all land, newer-wins holds', async () => {
    const db = await pg.database();
    const sink = await connectedSink({
      url: db.url,
      table: 'orders',
      create_table: true,
      key: ['id'],
      version_column: '_version',
      version_from: 'source.lsn',
    });
    try {
      await sink.write(upserts(1, 'v5', 5));
      await sink.write(upserts(1, 'v3', 3));
      for (let batch = 1; batch <= 4; batch++) await sink.write(upserts(batch * 1000, `new ${batch}`, 5));
      await sink.write(upserts(1, 'v7', 7));
      const { rows } = await db.pool.query<{ n: number; v7: number; older: number }>(
        `SELECT count(*)::int AS n, count(*) FILTER (WHERE note LIKE 'v7 %' AND _version = 7)::int AS v7,
                count(*) FILTER (WHERE note LIKE 'v3 %')::int AS older FROM orders`,
      );
      assert.deepEqual(rows[0], { n: 300 * 5, v7: 300, older: 0 });
    } finally {
      await sink.close();
    }
  });

  test('soft-delete columns get their defaults on new rows, and a soft-deleted row is revived', async () => {
    const db = await pg.database();
    const sink = await connectedSink({
      url: db.url,
      table: 'orders',
      create_table: true,
      key: ['id'],
      deletes: 'soft',
    });
    try {
      await sink.write(upserts(1, 'first'));
      await sink.write([change('delete', { id: 7 }, null)]);
      await sink.write(upserts(1, 'again'));
      const { rows } = await db.pool.query<{ n: number; deleted: number; stamped: number; again: number }>(
        `SELECT count(*)::int AS n, count(*) FILTER (WHERE is_deleted)::int AS deleted,
                count(deleted_at)::int AS stamped, count(*) FILTER (WHERE note LIKE 'again %')::int AS again FROM orders`,
      );
      assert.deepEqual(rows[0], { n: 300, deleted: 0, stamped: 0, again: 300 });
    } finally {
      await sink.close();
    }
  });

  test('a value the table refuses in a COPY-sized batch is isolated; the other rows land', async () => {
    const db = await pg.database();
    await db.pool.query('CREATE TABLE orders (id bigint PRIMARY KEY, note varchar(12))');
    const sink = await connectedSink({ url: db.url, table: 'orders', key: ['id'] });
    try {
      const records = upserts(1, 'ok');
      records[123] = change('insert', { id: 124 }, { id: 124, note: 'far too long for the column' });
      const result = await sink.write(records);
      assert.equal(result.rejected.length, 1);
      assert.match(result.rejected[0]!.reason, /value too long/);
      const { rows } = await db.pool.query<{ n: number; missing: boolean }>(
        `SELECT count(*)::int AS n, NOT EXISTS (SELECT 1 FROM orders WHERE id = 124) AS missing FROM orders`,
      );
      assert.deepEqual(rows[0], { n: 299, missing: true });
    } finally {
      await sink.close();
    }
  });

  test('two sinks writing overlapping new keys at once both succeed; every key lands once', async () => {
    const db = await pg.database();
    await db.pool.query('CREATE TABLE orders (id bigint PRIMARY KEY, note text)');
    const first = await connectedSink({ url: db.url, table: 'orders', key: ['id'] });
    const second = await connectedSink({ url: db.url, table: 'orders', key: ['id'] });
    try {
      const results = await Promise.all([first.write(upserts(1, 'a')), second.write(upserts(101, 'b'))]);
      assert.deepEqual(
        results.map((result) => result.rejected.length),
        [0, 0],
      );
      const { rows } = await db.pool.query<{ n: number; low: number; high: number }>(
        `SELECT count(*)::int AS n, count(*) FILTER (WHERE id <= 100 AND note LIKE 'a %')::int AS low,
                count(*) FILTER (WHERE id > 300 AND note LIKE 'b %')::int AS high FROM orders`,
      );
      assert.deepEqual(rows[0], { n: 400, low: 100, high: 100 });
    } finally {
      await first.close();
      await second.close();
    }
  });
});
