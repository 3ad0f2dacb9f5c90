import { Decimal } from '../runtime/decimal.js';
import type { Row, Value } from '../runtime/record.js';

function text(value: Value | undefined): string {
  if (value instanceof Decimal) return value.text;
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'bigint' ? String(value) : '';
}

/** The text a benchmark checksums for one order row: every field a lossy or wrong system would change. */
export function orderIdentity(row: Row): string {
  return `${text(row.id)}|${text(row.amount)}|${text(row.status)}|${text(row.email)}`;
}
