import pg from 'pg';
import { LatencySampler } from '../latency-sampler.js';
import { startBenchPostgres } from '../pg/bench-postgres.js';
import { OrdersTable } from '../pg/orders-table.js';
import { runYamlPipeline } from '../pg/run-yaml-pipeline.js';
import { writeAtSteadyRate } from '../pg/steady-writer.js';
import type { Scenario, SystemResult } from '../scenario.js';

const SEED = 11;
/**
 * Rows per second the writer commits: a load the pipeline keeps up with on the shared 2-core machine, so the lag
 * measured is the pipeline's own and not a growing backlog. At 5 000 rows/s (load average ~10) Sluice kept ~3 000
 * rows/s and the lag grew to seconds.
 */
const RATE = 2_000;
const SOURCE = new OrdersTable('public.orders');
/** `committed_at` is filled by the source's commit; `landed_at` by the target's insert (same server clock). */
const SOURCE_DDL = SOURCE.ddl(['committed_at timestamptz NOT NULL DEFAULT clock_timestamp()']);
const TARGET_DDL = SOURCE.ddl([
  'committed_at timestamptz NOT NULL',
  'landed_at timestamptz NOT NULL DEFAULT clock_timestamp()',
]);
const SLOT = 'bench_pg_cdc';

/** Postgres changes → postgres_cdc → Postgres upsert into another database of the same server. */
const PIPELINE = `
name: bench-pg-cdc
sources:
  changes:
    type: postgres_cdc
    url: '\${SOURCE_URL}'
    tables: [${SOURCE.name}]
    publication: ${SLOT}
    slot: ${SLOT}
    snapshot: never
sinks:
  out:
    from: changes
    type: postgres
    url: '\${TARGET_URL}'
    table: ${SOURCE.name}
    mode: upsert
    key: [id]
    batch: { max_records: 1000, max_wait: 20ms }
runtime: { state_dir: ./state }
`;

/**
 * What a target table holds once `records` rows landed: count and checksum, the span from the first commit to
 * the last landing (seconds), and a sample of per-row lags (landed − committed, milliseconds).
 */
async function landed(pool: pg.Pool, table: string): Promise<SystemResult> {
  const checksum = await new OrdersTable(table).checksum(pool);
  const lags = await pool.query<{ lag: number }>(
    `SELECT (extract(epoch FROM landed_at - committed_at) * 1000)::float8 AS lag FROM ${table}`,
  );
  const span = await pool.query<{ seconds: number }>(
    `SELECT extract(epoch FROM max(landed_at) - min(committed_at))::float8 AS seconds FROM ${table}`,
  );
  const sampler = new LatencySampler();
  for (const { lag } of lags.rows) sampler.add(lag);
  return {
    records: checksum.count,
    checksum: checksum.hex,
    seconds: span.rows[0]?.seconds ?? 0,
    latenciesMs: sampler.samples,
  };
}

/** Resolves once `table` holds `records` rows, polling every 20 ms. */
async function untilRows(pool: pg.Pool, table: string, records: number): Promise<void> {
  for (;;) {
    const { rows } = await pool.query<{ count: string }>(`SELECT count(*)::text AS count FROM ${table}`);
    if (Number(rows[0]!.count) >= records) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Resolves once the pipeline streams from the slot (the writer must not commit before). */
async function untilStreaming(pool: pg.Pool): Promise<void> {
  for (;;) {
    const { rows } = await pool.query(`SELECT 1 FROM pg_replication_slots WHERE slot_name = $1 AND active`, [
      SLOT,
    ]);
    if (rows.length > 0) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Sluice: the writer commits into the source database while the pipeline copies into the target database. */
async function runSluice(records: number, workDir: string): Promise<SystemResult> {
  const db = await startBenchPostgres('bench_cdc_source', SOURCE_DDL);
  let target: pg.Pool | undefined;
  try {
    await db.pool.query('CREATE DATABASE bench_cdc_target');
    const targetUrl = db.server.urlFor('bench_cdc_target');
    target = new pg.Pool({ connectionString: targetUrl, max: 2 });
    await target.query(TARGET_DDL);
    const targetPool = target;
    await runYamlPipeline(PIPELINE, workDir, { SOURCE_URL: db.url, TARGET_URL: targetUrl }, async () => {
      await untilStreaming(db.pool);
      await writeAtSteadyRate(db.pool, SOURCE.name, { records, perSecond: RATE, seed: SEED });
      await untilRows(targetPool, SOURCE.name, records);
    });
    return await landed(target, SOURCE.name);
  } finally {
    await target?.end();
    await db.stop();
  }
}

/**
 * The floor: the same writer, with the copy made by a statement-level trigger in the same transaction, so every
 * row is visible in the copy when it commits (lag ~0) and the rate is the writer's own.
 */
async function runTrigger(records: number): Promise<SystemResult> {
  const copy = 'public.orders_copy';
  const db = await startBenchPostgres(
    'bench_cdc_trigger',
    `${SOURCE_DDL}; ${TARGET_DDL.replace(SOURCE.name, copy)};
     CREATE FUNCTION copy_orders() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN INSERT INTO ${copy} (${[...OrdersTable.COLUMNS, 'committed_at'].join(', ')})
             SELECT ${[...OrdersTable.COLUMNS, 'committed_at'].join(', ')} FROM new_rows; RETURN NULL; END $$;
     CREATE TRIGGER copy_orders AFTER INSERT ON ${SOURCE.name} REFERENCING NEW TABLE AS new_rows
       FOR EACH STATEMENT EXECUTE FUNCTION copy_orders()`,
  );
  try {
    await writeAtSteadyRate(db.pool, SOURCE.name, { records, perSecond: RATE, seed: SEED });
    return await landed(db.pool, copy);
  } finally {
    await db.stop();
  }
}

/** Scenario `pg-cdc`: rows committed at a steady rate, captured by `postgres_cdc` and upserted into another database. */
export const pgCdc: Scenario = {
  name: 'pg-cdc',
  description: `a writer commits ${RATE} rows/s (a statement every 10 ms) → postgres_cdc → Postgres upsert in another database; lag = landed in the target − committed in the source; against an in-transaction trigger copy (lag floor)`,
  records: { full: 60_000, quick: 10_000 },
  expected: (records) => OrdersTable.expected(records, SEED),
  systems: [
    { name: 'sluice', role: 'sluice', run: ({ records, workDir }) => runSluice(records, workDir) },
    { name: 'trigger-copy', role: 'ceiling', run: ({ records }) => runTrigger(records) },
  ],
  ratios: [{ of: 'sluice', to: 'trigger-copy' }],
};
