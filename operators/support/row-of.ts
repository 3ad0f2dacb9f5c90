import type { ChangeRecord, Row } from '../../runtime/record.js';

/**
 * The row whose fields an operator reads for keys and versions: `after`; for deletes, which have none, the
 * `before` image, or else the primary key.
 */
export function rowOf(record: ChangeRecord): Row | null {
  return record.after ?? record.before ?? record.key;
}
