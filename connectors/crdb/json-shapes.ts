import { Decimal } from '../../runtime/decimal.js';
import type { Row, Value } from '../../runtime/record.js';

/** True when `value` is a JSON object (not an array, number, date or bytes). */
export function isRow(value: Value | undefined): value is Row {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    !(value instanceof Decimal) &&
    !(value instanceof Date) &&
    !(value instanceof Uint8Array)
  );
}

/** A short description of a decoded JSON value for error messages: what came, not all of it. */
export function describeValue(value: Value | undefined): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (typeof value === 'string')
    return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
  if (typeof value === 'number' || typeof value === 'bigint' || value instanceof Decimal)
    return `the number ${String(value)}`;
  if (typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return `an array of ${value.length} item${value.length === 1 ? '' : 's'}`;
  if (value instanceof Date || value instanceof Uint8Array) return 'a non-JSON value';
  const keys = Object.keys(value);
  if (keys.length === 0) return 'an empty object';
  const shown = keys.slice(0, 6).map((key) => JSON.stringify(key));
  return `an object with keys ${shown.join(', ')}${keys.length > 6 ? ', …' : ''}`;
}
