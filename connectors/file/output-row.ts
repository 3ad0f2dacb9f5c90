import { recordRow } from '../../runtime/dead-letter.js';
import type { ChangeRecord, Row } from '../../runtime/record.js';

/**
 * The row the file sink writes for a record. `rows`: the row after the change (for deletes
 * `{ "_op": "delete", ...key }`, or the `before` row when there is no key); `changes`: the whole change record as
 * `recordRow` gives it.
 */
export function outputRow(record: ChangeRecord, format: 'rows' | 'changes'): Row {
  if (format === 'changes') return recordRow(record);
  if (record.op === 'delete') return { _op: 'delete', ...(record.key ?? record.before ?? {}) };
  return record.after ?? {};
}
