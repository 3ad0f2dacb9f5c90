import { Decimal } from '../runtime/decimal.js';
import type { Row, Value } from '../runtime/record.js';

/** The text of one field value for checksums: exact digits for numbers, empty for null. */
export function fieldText(value: Value | undefined): string {
  if (value instanceof Decimal) return value.text;
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'bigint' ? String(value) : '';
}

/** The fields a benchmark checksums by default: every one a lossy or wrong system would change. */
export const ORDER_FIELDS = ['id', 'amount', 'status', 'email'] as const;

/** The text a benchmark checksums for one row: the given fields' texts joined by `|`. */
export function rowIdentity(row: Row, fields: readonly string[] = ORDER_FIELDS): string {
  let text = fieldText(row[fields[0]!]);
  for (let index = 1; index < fields.length; index++) text += `|${fieldText(row[fields[index]!])}`;
  return text;
}
