import { Decimal } from '../../runtime/decimal.js';
import type { Row } from '../../runtime/record.js';
import { generatedBatches } from '../generated-orders.js';
import { rowIdentity } from '../record-identity.js';
import { Checksum } from '../checksum.js';

/** Seed and defect ratio of the orders the `kafka-pg` scenario produces (ids are unique: every row is new). */
export const ORDER_SEED = 11;
export const ORDER_INVALID_RATIO = 0.02;
/** The columns every system's table is checksummed on. */
export const CHECKSUM_FIELDS = ['id', 'amount_cents', 'customer_name', 'email', 'currency'];

const EMAIL = /^[^@\s]+@[^@\s]+\.[a-z]+$/;
const CURRENCIES = new Set(['EUR', 'USD', 'GBP']);

/**
 * The `operators` chain written by hand, as the hand-written consumers run it on each parsed message: drop
 * cancelled orders; rename `customer` to `customer_name`, add `amount_cents`, drop `note`; reject (null) what
 * breaks one of the five rules. `amount` may be a number (JSON.parse) or a Decimal (lossless parse).
 */
export function orderChain(after: Row): Row | null {
  if (after.status === 'cancelled') return null;
  const { customer, note: _note, ...rest } = after;
  const amount = after.amount instanceof Decimal ? Number(after.amount.text) : (after.amount as number);
  const row: Row = { ...rest, customer_name: customer!, amount_cents: Math.round(amount * 100) };
  const email = row.email;
  if (
    email === null ||
    email === undefined ||
    !EMAIL.test(email as string) ||
    amount < 0 ||
    amount > 10000 ||
    !CURRENCIES.has(row.currency as string) ||
    (row.customer_name as string).length > 100
  )
    return null;
  return row;
}

/** The rows the chain keeps from the scenario's first `records` orders, in order. */
export function expectedRows(records: number): Row[] {
  const rows: Row[] = [];
  for (const batch of generatedBatches(records, ORDER_SEED, ORDER_INVALID_RATIO)) {
    for (const record of batch) {
      const row = orderChain(record.after!);
      if (row !== null) rows.push(row);
    }
  }
  return rows;
}

/** The checksum of `rows` on {@link CHECKSUM_FIELDS}. */
export function rowsChecksum(rows: Iterable<Row>): Checksum {
  const checksum = new Checksum();
  for (const row of rows) checksum.add(rowIdentity(row, CHECKSUM_FIELDS));
  return checksum;
}
