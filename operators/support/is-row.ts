import type { Row, Value } from '../../runtime/record.js';

/** True for a JSON-like object (a {@link Row}): not an array, date, byte array or decimal. */
export function isRow(value: Value | undefined): value is Row {
  if (value === null || typeof value !== 'object') return false;
  const prototype = Object.getPrototypeOf(value) as unknown;
  return prototype === Object.prototype || prototype === null;
}
