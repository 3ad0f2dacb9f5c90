import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import { OrderGenerator } from '../../connectors/generate/order-generator.js';
import { OrdersTable } from './orders-table.js';

/** How often the writer commits what is due, in milliseconds. */
const TICK_MS = 10;

/**
 * Inserts the generated orders `0 .. records-1` (seed `seed`, as the `generate` source makes them) into `table`
 * at a steady `perSecond`: every 10 ms, one `INSERT ... SELECT FROM unnest(...)` (its own transaction) of the
 * rows due by then. The table's `committed_at` column is left to its default (`clock_timestamp()`), so each row
 * carries the time of its commit to within the statement's run. Resolves when every row is committed.
 */
export async function writeAtSteadyRate(
  pool: pg.Pool,
  table: string,
  options: { records: number; perSecond: number; seed: number },
): Promise<void> {
  const { records, perSecond, seed } = options;
  const generator = new OrderGenerator(seed, undefined, 0);
  const columns = OrdersTable.COLUMNS;
  const casts = ['bigint', 'text', 'text', 'numeric', 'text', 'text', 'timestamptz', 'text'];
  const sql =
    `INSERT INTO ${table} (${columns.join(', ')}) SELECT * FROM ` +
    `unnest(${casts.map((cast, index) => `$${index + 1}::${cast}[]`).join(', ')})`;
  const started = performance.now();
  let written = 0;
  while (written < records) {
    const due = Math.min(records, Math.floor(((performance.now() - started) * perSecond) / 1000));
    if (due > written) {
      const arrays: (string | null)[][] = columns.map(() => []);
      for (let sequence = written; sequence < due; sequence++) {
        OrdersTable.parameters(generator.order(sequence).row).forEach((value, column) =>
          arrays[column]!.push(value),
        );
      }
      await pool.query(sql, arrays);
      written = due;
    }
    const elapsed = performance.now() - started;
    await sleep(Math.ceil((elapsed + 0.001) / TICK_MS) * TICK_MS - elapsed);
  }
}
