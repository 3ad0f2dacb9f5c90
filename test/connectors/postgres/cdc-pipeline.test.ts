import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { pino } from 'pino';
import { postgresCdcSourceDefinition } from '../../../connectors/postgres/cdc-source-definition.js';
import { postgresSinkDefinition } from '../../../connectors/postgres/sink-definition.js';
import type { CheckpointStore } from '../../../runtime/checkpoint-store.js';
import type { ComponentRegistry } from '../../../runtime/component.js';
import { parsePipeline } from '../../../runtime/config/index.js';
import { Pipeline } from '../../../runtime/pipeline.js';
import { usePostgres, uniqueName, type TestDatabase } from '../../support/postgres.js';

const postgres = usePostgres();

const registry: ComponentRegistry = {
  sources: new Map([['postgres_cdc', postgresCdcSourceDefinition]]),
  operators: new Map(),
  sinks: new Map([['postgres', postgresSinkDefinition]]),
};

const logger = pino({ level: process.env.SLUICE_TEST_LOG ?? 'silent' });

function memoryCheckpoints(): CheckpointStore {
  const values = new Map<string, unknown>();
  return {
    load: async (key) => values.get(key),
    save: async (key, value) => {
      values.set(key, structuredClone(value));
    },
    close: async () => undefined,
  };
}

/** Every row of `orders`, ordered by id, as jsonb text (column order does not matter). */
async function contents(database: TestDatabase): Promise<string> {
  const result = await database.pool.query<{ rows: string }>(
    `SELECT coalesce(jsonb_agg(to_jsonb(o) ORDER BY id), '[]')::text AS rows FROM orders o`,
  );
  return result.rows[0]!.rows;
}

async function waitForSameContents(source: TestDatabase, target: TestDatabase, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const [expected, actual] = await Promise.all([contents(source), contents(target)]);
    if (expected === actual) return;
    if (Date.now() > deadline) assert.equal(actual, expected, 'the target table should equal the source table');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('postgres_cdc → postgres pipeline', () => {
  test('the target table ends identical to the source through snapshot, changes, an added column, TOAST and a restart', async (t) => {
    const source = await postgres.database('cdcsrc');
    const target = await postgres.database('cdcdst');
    const slot = uniqueName('slot');
    t.after(async () => {
      await source.pool.query('SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1', [slot]);
    });
    const ddl = 'CREATE TABLE orders (id bigint PRIMARY KEY, status text NOT NULL, total numeric(12,2), doc jsonb, body text)';
    await source.pool.query(ddl);
    await target.pool.query(ddl);
    const body = Array.from({ length: 3000 }, (_, index) => `${index}:${Math.cos(index)}`).join(',');
    await source.pool.query(
      `INSERT INTO orders SELECT g, 'new', g + 0.30, jsonb_build_object('n', 9007199254740993 + g), CASE WHEN g = 1 THEN $1 END
         FROM generate_series(1, 200) AS g`,
      [body],
    );
    const yaml = [
      'name: pg-to-pg',
      'sources:',
      '  orders_cdc:',
      '    type: postgres_cdc',
      '    url: ${SOURCE_PG_URL}',
      '    tables: [public.orders]',
      `    publication: ${slot}`,
      `    slot: ${slot}`,
      '    snapshot_chunk_rows: 64',
      '    heartbeat: 200ms',
      'sinks:',
      '  warehouse:',
      '    type: postgres',
      '    from: [orders_cdc]',
      '    url: ${TARGET_PG_URL}',
      '    table: public.orders',
      '    schema_drift: auto',
      '    columns: { pages: integer }',
    ].join('\n');
    const spec = await parsePipeline(yaml, 'pg-to-pg.yaml', registry, {
      env: { SOURCE_PG_URL: source.url, TARGET_PG_URL: target.url },
    });
    const checkpoints = memoryCheckpoints();

    const first = await Pipeline.create(spec, { registry, logger, checkpoints });
    const running = first.run();
    try {
      await waitForSameContents(source, target);
      await source.pool.query(`INSERT INTO orders VALUES (201, 'new', 26.30, '{"n": 12345678901234567890}', NULL)`);
      await source.pool.query(`UPDATE orders SET status = 'paid' WHERE id IN (1, 2, 3)`);
      await source.pool.query('DELETE FROM orders WHERE id BETWEEN 10 AND 19');
      await source.pool.query('ALTER TABLE orders ADD COLUMN pages int');
      await source.pool.query('UPDATE orders SET pages = id % 7 WHERE id <= 50');
      await waitForSameContents(source, target);
    } finally {
      first.stop();
      await running;
    }

    // Changes while the pipeline is down are streamed after the restart, from the slot.
    await source.pool.query(`UPDATE orders SET status = 'shipped' WHERE id = 1`);
    await source.pool.query('DELETE FROM orders WHERE id = 2');
    await source.pool.query(`INSERT INTO orders VALUES (202, 'new', 1.00, NULL, NULL, 4)`);
    const second = await Pipeline.create(spec, { registry, logger, checkpoints });
    const rerun = second.run();
    try {
      await source.pool.query(`UPDATE orders SET total = total + 1 WHERE id > 150`);
      await waitForSameContents(source, target);
      const toast = await target.pool.query<{ length: number }>('SELECT length(body) AS length FROM orders WHERE id = 1');
      assert.equal(toast.rows[0]!.length, body.length);
    } finally {
      second.stop();
      await rerun;
    }
  });
  test('newer-wins by source.version keeps the last of two changes to a row in one transaction, wherever batches are cut', async (t) => {
    const source = await postgres.database('cdcver');
    const target = await postgres.database('cdcverdst');
    const slot = uniqueName('slot');
    t.after(async () => {
      await source.pool.query('SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1', [slot]);
    });
    await source.pool.query('CREATE TABLE orders (id bigint PRIMARY KEY, status text NOT NULL)');
    await target.pool.query('CREATE TABLE orders (id bigint PRIMARY KEY, status text NOT NULL, _version numeric)');
    const yaml = [
      'name: pg-versions',
      'sources:',
      `  orders_cdc: { type: postgres_cdc, url: '\${SOURCE_PG_URL}', tables: [public.orders], publication: ${slot}, slot: ${slot}, heartbeat: 200ms }`,
      'sinks:',
      '  warehouse:',
      '    type: postgres',
      '    from: [orders_cdc]',
      '    url: ${TARGET_PG_URL}',
      '    table: public.orders',
      '    version_column: _version',
      '    version_from: source.version',
      '    batch: { max_records: 1, max_in_flight: 1 }',
    ].join('\n');
    const spec = await parsePipeline(yaml, 'pg-versions.yaml', registry, {
      env: { SOURCE_PG_URL: source.url, TARGET_PG_URL: target.url },
    });
    const pipeline = await Pipeline.create(spec, { registry, logger, checkpoints: memoryCheckpoints() });
    const running = pipeline.run();
    try {
      const statusOf = async (id: number) => {
        const { rows } = await target.pool.query<{ status: string }>('SELECT status FROM orders WHERE id = $1', [id]);
        return rows[0]?.status;
      };
      const waitFor = async (condition: () => Promise<boolean>) => {
        const deadline = Date.now() + 15_000;
        while (!(await condition()) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
      };
      // Stream (not snapshot) the transaction: wait until a marker row has come through the slot.
      await waitFor(async () => (await source.pool.query('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1', [slot])).rowCount === 1);
      await source.pool.query(`INSERT INTO orders VALUES (2, 'marker')`);
      await waitFor(async () => (await statusOf(2)) === 'marker');
      await source.pool.query(`BEGIN; INSERT INTO orders VALUES (1, 'new'); UPDATE orders SET status = 'paid' WHERE id = 1;
        UPDATE orders SET status = 'shipped' WHERE id = 1; COMMIT`);
      await source.pool.query(`INSERT INTO orders VALUES (3, 'marker')`);
      await waitFor(async () => (await statusOf(3)) === 'marker');
      assert.equal(await statusOf(1), 'shipped');
    } finally {
      pipeline.stop();
      await running;
    }
  });
});
