import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { pino } from 'pino';
import { PostgresPollSource } from '../../../connectors/postgres/source-poll.js';
import type { CheckpointStore } from '../../../runtime/checkpoint-store.js';
import { Decimal } from '../../../runtime/decimal.js';
import type { SluiceError } from '../../../runtime/errors.js';
import type { ChangeRecord } from '../../../runtime/record.js';
import type { SourceContext } from '../../../runtime/source.js';
import { usePostgres } from '../../support/postgres.js';

const postgres = usePostgres();

function memoryCheckpoints(): CheckpointStore & { values: Map<string, unknown> } {
  const values = new Map<string, unknown>();
  return {
    values,
    load: async (key) => values.get(key),
    save: async (key, value) => {
      values.set(key, structuredClone(value));
    },
    close: async () => undefined,
  };
}

function sourceContext(checkpoints: CheckpointStore, signal = new AbortController().signal): SourceContext {
  return { pipeline: 'test', name: 'orders_poll', logger: pino({ level: 'silent' }), checkpoints, signal };
}

/** Reads and acknowledges batches until `count` records came. */
async function readRecords(source: PostgresPollSource, count: number): Promise<ChangeRecord[]> {
  const records: ChangeRecord[] = [];
  const deadline = Date.now() + 10_000;
  while (records.length < count) {
    assert.ok(Date.now() < deadline, `expected ${count} records, got ${records.length}`);
    const batch = await source.read();
    assert.ok(batch);
    records.push(...batch.records);
    batch.ack();
  }
  return records;
}

describe('postgres_poll source', () => {
  test('reads rows in (updated_at, id) order, resumes from the saved watermark, sees later updates but not deletes', async () => {
    const database = await postgres.database('poll');
    await database.pool.query('CREATE TABLE orders (id bigint PRIMARY KEY, total numeric, updated_at timestamptz)');
    // Equal updated_at values: the key breaks the tie, so a page boundary between them loses nothing.
    await database.pool.query(`INSERT INTO orders SELECT g, (g || '.10')::numeric, '2024-05-01 10:00:00.000001+00' FROM generate_series(1, 5) AS g`);
    await database.pool.query(`INSERT INTO orders VALUES (9007199254740993, 26.30, '2024-05-01 11:00:00+00'), (6, 1, NULL)`);
    const config = { url: database.url, table: 'public.orders', batch_records: 2, interval: '50ms' };
    const checkpoints = memoryCheckpoints();
    const first = new PostgresPollSource(config, 'orders_poll');
    await first.connect(sourceContext(checkpoints));
    const records = await readRecords(first, 6);
    await first.close();
    assert.deepEqual(records.map((record) => record.key), [1, 2, 3, 4, 5, 9007199254740993n].map((id) => ({ id })));
    assert.ok(records.every((record) => record.op === 'read' && record.source.table === 'public.orders'));
    assert.deepEqual(records[5]!.after, { id: 9007199254740993n, total: new Decimal('26.30'), updated_at: new Date('2024-05-01T11:00:00Z') });
    assert.equal(records[0]!.after!.updated_at, '2024-05-01T10:00:00.000001Z');
    assert.deepEqual(checkpoints.values.get('watermark'), { cursor: '2024-05-01 11:00:00+00', key: ['9007199254740993'] });

    await database.pool.query(`UPDATE orders SET total = 99, updated_at = '2024-05-02 00:00:00+00' WHERE id = 2`);
    await database.pool.query('DELETE FROM orders WHERE id = 3');
    await database.pool.query(`INSERT INTO orders VALUES (7, 7, '2024-05-02 00:00:01+00')`);
    const second = new PostgresPollSource(config, 'orders_poll');
    await second.connect(sourceContext(checkpoints));
    try {
      const later = await readRecords(second, 2);
      assert.deepEqual(later.map((record) => [record.key, record.after!.total]), [
        [{ id: 2 }, new Decimal('99')],
        [{ id: 7 }, new Decimal('7')],
      ]);
    } finally {
      await second.close();
    }
  });

  test('waits for new rows and returns null promptly when stopped', async () => {
    const database = await postgres.database('poll');
    await database.pool.query('CREATE TABLE events (id int PRIMARY KEY, seq bigint)');
    const stop = new AbortController();
    const source = new PostgresPollSource({ url: database.url, table: 'events', cursor: 'seq', interval: '50ms' }, 'events');
    await source.connect(sourceContext(memoryCheckpoints(), stop.signal));
    try {
      const pending = source.read();
      await new Promise((resolve) => setTimeout(resolve, 120));
      await database.pool.query('INSERT INTO events VALUES (1, 10)');
      const batch = await pending;
      assert.deepEqual(batch?.records.map((record) => record.after), [{ id: 1, seq: 10 }]);
      batch?.ack();
      const waiting = source.read();
      stop.abort();
      assert.equal(await waiting, null);
    } finally {
      await source.close();
    }
  });

  test('a missing table, cursor column or key is a clear error', async () => {
    const database = await postgres.database('poll');
    await database.pool.query('CREATE TABLE nokey (a int, updated_at timestamptz)');
    const attempt = async (config: { table: string; cursor?: string }) => {
      const source = new PostgresPollSource({ url: database.url, ...config }, 'x');
      return source.connect(sourceContext(memoryCheckpoints()));
    };
    await assert.rejects(attempt({ table: 'missing' }), (error: SluiceError) => error.code === 'PG_TABLE_NOT_FOUND');
    await assert.rejects(attempt({ table: 'nokey' }), (error: SluiceError) => error.code === 'PG_POLL_KEY_MISSING');
    await assert.rejects(
      attempt({ table: 'nokey', cursor: 'changed' }),
      (error: SluiceError) => error.code === 'PG_POLL_KEY_MISSING' || error.code === 'PG_POLL_COLUMN_NOT_FOUND',
    );
  });
});
