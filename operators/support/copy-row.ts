import type { Row, Value } from '../../runtime/record.js';
import { isRow } from './is-row.js';

function copyValue(value: Value): Value {
  if (Array.isArray(value)) return value.map(copyValue);
  return isRow(value) ? copyRow(value) : value;
}

/**
 * A copy of `row` that an operator may change without touching its input (a record may feed several nodes).
 * Nested objects and arrays are copied; decimals, dates and byte arrays are shared, as nothing changes them.
 */
export function copyRow(row: Row): Row {
  const copy: Row = {};
  for (const column of Object.keys(row)) copy[column] = copyValue(row[column]!);
  return copy;
}
