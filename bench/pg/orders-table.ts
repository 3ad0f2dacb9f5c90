import type pg from 'pg';
import type { Row } from '../../runtime/record.js';
import { Checksum } from '../checksum.js';
import { generatedBatches } from '../generated-orders.js';
import { fieldText, rowIdentity } from '../record-identity.js';

/** Every column of a generated order the Postgres benchmarks write, in table order. */
const COLUMNS = ['id', 'customer', 'email', 'amount', 'currency', 'status', 'created_at', 'note'] as const;

/**
 * The generated orders (`OrderGenerator`) as a Postgres table in the benchmarks: its DDL, its rows as COPY text
 * or statement parameters, and the checksum of its contents, comparable with `Checksum`s of generated rows.
 */
export class OrdersTable {
  /** Fields the checksum covers: every text and number column (timestamps are not compared). */
  static readonly FIELDS: readonly string[] = [
    'id',
    'customer',
    'email',
    'amount',
    'currency',
    'status',
    'note',
  ];
  /** The columns, in order, for `INSERT` and `COPY` lists. */
  static readonly COLUMNS: readonly string[] = COLUMNS;

  /** `schema.table` or `table`, unquoted (the benchmarks use plain lower-case names). */
  readonly name: string;

  constructor(name: string) {
    this.name = name;
  }

  /** `CREATE TABLE` with the order columns and the primary key on `id`, then `extra` column definitions. */
  ddl(extra: readonly string[] = []): string {
    const columns = [
      'id bigint PRIMARY KEY',
      'customer text NOT NULL',
      'email text',
      'amount numeric(12,2) NOT NULL',
      'currency text NOT NULL',
      'status text NOT NULL',
      'created_at timestamptz NOT NULL',
      'note text NOT NULL',
      ...extra,
    ];
    return `CREATE TABLE ${this.name} (${columns.join(', ')})`;
  }

  /** One row in COPY text format (with its newline). */
  static copyLine(row: Row): string {
    let line = '';
    for (const column of COLUMNS) {
      const value = row[column];
      if (line.length > 0) line += '\t';
      line +=
        value === null || value === undefined
          ? '\\N'
          : copyEscape(value instanceof Date ? value.toISOString() : fieldText(value));
    }
    return line + '\n';
  }

  /** The row's values in column order, as text statement parameters. */
  static parameters(row: Row): (string | null)[] {
    return COLUMNS.map((column) => {
      const value = row[column];
      if (value === null || value === undefined) return null;
      return value instanceof Date ? value.toISOString() : fieldText(value);
    });
  }

  /**
   * Count and checksum, over {@link OrdersTable.FIELDS}, of every order `generatedBatches(records, seed)` yields: what a
   * scenario expects a table holding all of them to match.
   */
  static expected(records: number, seed: number): { readonly records: number; readonly checksum: string } {
    const checksum = new Checksum();
    for (const batch of generatedBatches(records, seed))
      for (const record of batch) checksum.add(rowIdentity(record.after!, OrdersTable.FIELDS));
    return { records: checksum.count, checksum: checksum.hex };
  }

  /** Rows and checksum of the table's contents over {@link OrdersTable.FIELDS}. */
  async checksum(pool: pg.Pool): Promise<Checksum> {
    const result = await pool.query<Row>(
      `SELECT ${OrdersTable.FIELDS.map((field) => `${field}::text AS ${field}`).join(', ')} FROM ${this.name}`,
    );
    const checksum = new Checksum();
    for (const row of result.rows) checksum.add(rowIdentity(row, OrdersTable.FIELDS));
    return checksum;
  }
}

/** COPY text escapes for the characters it treats specially. */
function copyEscape(text: string): string {
  return /[\\\t\n\r]/.test(text)
    ? text.replace(/[\\\t\n\r]/g, (char) =>
        char === '\\' ? '\\\\' : char === '\t' ? '\\t' : char === '\n' ? '\\n' : '\\r',
      )
    : text;
}
