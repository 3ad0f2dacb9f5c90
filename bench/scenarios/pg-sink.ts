import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { Row } from '../../runtime/record.js';
import { BENCH_BATCH, generatedBatches } from '../generated-orders.js';
import { startBenchPostgres, type BenchPostgres } from '../pg/bench-postgres.js';
import { OrdersTable } from '../pg/orders-table.js';
import { runYamlPipeline } from '../pg/run-yaml-pipeline.js';
import type { Scenario, SystemResult } from '../scenario.js';

const SEED = 5;
const TABLE = new OrdersTable('public.orders');

/** generate → Postgres upsert, keyed by id, through the real loader and engine. */
const PIPELINE = `
name: bench-pg-sink
sources:
  orders: { type: generate, count: '\${RECORDS}', seed: ${SEED}, batch_records: ${BENCH_BATCH} }
sinks:
  out:
    from: orders
    type: postgres
    url: '\${PG_URL}'
    table: ${TABLE.name}
    mode: upsert
    key: [id]
    batch: { max_records: ${BENCH_BATCH}, max_wait: 50ms }
runtime: { state_dir: ./state }
`;

/** The generated rows, built before timing, for the systems that write them with no pipeline in between. */
function prebuiltRows(records: number): Row[][] {
  return [...generatedBatches(records, SEED)].map((batch) => batch.map((record) => record.after!));
}

/** Starts a fresh server with the empty table, runs `write` timed, and checks what the table holds. */
async function measured(write: (db: BenchPostgres) => Promise<void>): Promise<SystemResult> {
  const db = await startBenchPostgres('bench_pg_sink', TABLE.ddl());
  try {
    const started = performance.now();
    await write(db);
    const seconds = (performance.now() - started) / 1000;
    const checksum = await TABLE.checksum(db.pool);
    return { records: checksum.count, checksum: checksum.hex, seconds, latenciesMs: [] };
  } finally {
    await db.stop();
  }
}

/** One batch of rows in COPY text format. */
function copyChunk(batch: readonly Row[]): string {
  let chunk = '';
  for (const row of batch) chunk += OrdersTable.copyLine(row);
  return chunk;
}

/** One `COPY` of `chunks` (COPY text) into the orders table, inside whatever transaction `client` is in. */
function copyChunks(client: pg.PoolClient, chunks: Iterable<string>): Promise<void> {
  return pipeline(
    Readable.from(chunks),
    client.query(copyFrom(`COPY ${TABLE.name} (${OrdersTable.COLUMNS.join(', ')}) FROM STDIN`)),
  );
}

/** The ceiling: one COPY of every pre-built row (encoding included, batch by batch as it streams), in one transaction. */
async function copyAll(db: BenchPostgres, rows: readonly Row[][]): Promise<void> {
  const client = await db.pool.connect();
  try {
    await copyChunks(
      client,
      (function* () {
        for (const batch of rows) yield copyChunk(batch);
      })(),
    );
  } finally {
    client.release();
  }
}

/**
 * The same COPY cut into Sluice's micro-batches: one `COPY` and one transaction per batch of BENCH_BATCH rows (a
 * commit per micro-batch, as Sluice did before group commit joined the batches that wait for a busy sink).
 */
async function copyPerBatch(db: BenchPostgres, rows: readonly Row[][]): Promise<void> {
  const client = await db.pool.connect();
  try {
    for (const batch of rows) {
      const chunk = copyChunk(batch);
      await client.query('BEGIN');
      await copyChunks(client, [chunk]);
      await client.query('COMMIT');
    }
  } finally {
    client.release();
  }
}

/** What many hand-written loaders do: one `INSERT ... ON CONFLICT` statement per row, a transaction per batch. */
async function upsertPerRow(db: BenchPostgres, rows: readonly Row[][]): Promise<void> {
  const columns = OrdersTable.COLUMNS;
  const sql =
    `INSERT INTO ${TABLE.name} (${columns.join(', ')}) VALUES (${columns.map((_, index) => `$${index + 1}`).join(', ')}) ` +
    `ON CONFLICT (id) DO UPDATE SET ${columns
      .filter((column) => column !== 'id')
      .map((column) => `${column} = EXCLUDED.${column}`)
      .join(', ')}`;
  const client = await db.pool.connect();
  try {
    for (const batch of rows) {
      await client.query('BEGIN');
      for (const row of batch)
        await client.query({ name: 'upsert-order', text: sql, values: OrdersTable.parameters(row) });
      await client.query('COMMIT');
    }
  } finally {
    client.release();
  }
}

/** Scenario `pg-sink`: generate → Sluice's Postgres upsert sink, against one COPY (the ceiling), a COPY per batch and per-row upserts. */
export const pgSink: Scenario = {
  name: 'pg-sink',
  description: `generate → sluice → Postgres upsert (batches of ${BENCH_BATCH}), against one COPY of the same rows (the ceiling), one COPY per batch, and one INSERT ... ON CONFLICT per row`,
  records: { full: 300_000, quick: 50_000 },
  expected: (records) => OrdersTable.expected(records, SEED),
  systems: [
    {
      name: 'sluice',
      role: 'sluice',
      run: ({ records, workDir }) =>
        measured(async (db) => {
          await runYamlPipeline(PIPELINE, workDir, { RECORDS: String(records), PG_URL: db.url });
        }),
    },
    {
      name: 'copy',
      role: 'ceiling',
      run: ({ records }) => {
        const rows = prebuiltRows(records);
        return measured((db) => copyAll(db, rows));
      },
    },
    {
      name: 'copy-per-batch',
      role: 'ceiling',
      run: ({ records }) => {
        const rows = prebuiltRows(records);
        return measured((db) => copyPerBatch(db, rows));
      },
    },
    {
      name: 'per-row-upsert',
      role: 'alternative',
      run: ({ records }) => {
        const rows = prebuiltRows(records);
        return measured((db) => upsertPerRow(db, rows));
      },
    },
  ],
  ratios: [
    { of: 'sluice', to: 'copy', atLeast: 0.85 },
    { of: 'sluice', to: 'copy-per-batch' },
    { of: 'sluice', to: 'per-row-upsert' },
  ],
};
