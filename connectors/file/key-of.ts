import type { Row } from '../../runtime/record.js';

/** The key columns of a row. Throws a `TypeError` naming a column the row lacks. */
export function keyOf(row: Row, columns: readonly string[]): Row {
  const key: Row = {};
  for (const column of columns) {
    const value = row[column];
    if (value === undefined) throw new TypeError(`expected key column "${column}", but the row has no such column`);
    key[column] = value;
  }
  return key;
}
