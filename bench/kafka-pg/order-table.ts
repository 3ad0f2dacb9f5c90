import type pg from 'pg';
import type { Row } from '../../runtime/record.js';
import { fieldText } from '../record-identity.js';
import type { Checksum } from '../checksum.js';
import { rowsChecksum } from './order-chain.js';

/** The columns of a `kafka-pg` target table, in the order the batch upserts pass them. */
export const ORDER_COLUMNS = [
  'id',
  'customer_name',
  'email',
  'amount',
  'currency',
  'status',
  'created_at',
  'amount_cents',
];
const TYPES = ['bigint', 'text', 'text', 'numeric', 'text', 'text', 'timestamptz', 'bigint'];
const UPDATES = ORDER_COLUMNS.slice(1)
  .map((column) => `${column} = EXCLUDED.${column}`)
  .join(', ');

/** A target table of the `kafka-pg` scenario: the shaped order, keyed by id. */
export class OrderTable {
  readonly name: string;
  readonly #pool: pg.Pool;

  constructor(pool: pg.Pool, name: string) {
    this.#pool = pool;
    this.name = name;
  }

  /** Creates the table (empty). */
  async create(): Promise<void> {
    const columns = ORDER_COLUMNS.map(
      (column, index) => `${column} ${TYPES[index]}${index === 0 ? ' PRIMARY KEY' : ''}`,
    );
    await this.#pool.query(
      `DROP TABLE IF EXISTS ${this.name}; CREATE TABLE ${this.name} (${columns.join(', ')})`,
    );
  }

  /** Upserts `rows` in one statement (one array per column through `unnest`), the fast way to batch-write. */
  async upsertBatch(rows: readonly Row[], client: pg.Pool | pg.PoolClient = this.#pool): Promise<void> {
    const arrays = ORDER_COLUMNS.map((column) => rows.map((row) => textOf(row[column])));
    const casts = TYPES.map((type, index) => `$${index + 1}::${type}[]`).join(', ');
    await client.query(
      `INSERT INTO ${this.name} (${ORDER_COLUMNS.join(', ')}) SELECT * FROM unnest(${casts}) ON CONFLICT (id) DO UPDATE SET ${UPDATES}`,
      arrays,
    );
  }

  /** Upserts one row with one statement, as a per-message consumer does. */
  async upsertOne(row: Row): Promise<void> {
    const values = ORDER_COLUMNS.map((column, index) => `$${index + 1}::${TYPES[index]}`).join(', ');
    await this.#pool.query(
      `INSERT INTO ${this.name} (${ORDER_COLUMNS.join(', ')}) VALUES (${values}) ON CONFLICT (id) DO UPDATE SET ${UPDATES}`,
      ORDER_COLUMNS.map((column) => textOf(row[column])),
    );
  }

  /** Rows in the table. */
  async count(): Promise<number> {
    const { rows } = await this.#pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${this.name}`);
    return rows[0]!.n;
  }

  /** Count and checksum of what the table holds, read back from Postgres. */
  async checksum(): Promise<Checksum> {
    const { rows } = await this.#pool.query<Row>(
      `SELECT id, amount_cents, customer_name, email, currency FROM ${this.name}`,
    );
    return rowsChecksum(rows);
  }
}

/** A value as the text Postgres parses for its column (null stays null). */
function textOf(value: Row[string] | undefined): string | null {
  if (value === null || value === undefined) return null;
  if (value instanceof Date) return value.toISOString();
  return fieldText(value);
}
