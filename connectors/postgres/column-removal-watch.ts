import type { Change } from './change.js';
import { hasFieldNames } from './has-field-names.js';

/** Consecutive full rows of a table that must lack a column before it counts as removed upstream. */
export const REMOVED_AFTER_ROWS = 1000;

/** What the watch knows of one table. */
interface TableWatch {
  /** Full rows seen. */
  rows: number;
  /** The field names of the last full row. */
  names: readonly string[];
  present: ReadonlySet<string>;
  /** Per column ever seen, the last full row (by number) that had it; stale for the columns in `present`. */
  readonly lastSeen: Map<string, number>;
  /** Columns reported removed and not seen since. */
  readonly removed: Set<string>;
}

/**
 * Notices the columns a stream stops sending to a table: a column the table's full rows (inserts and snapshot
 * reads) carried, missing from the last {@link REMOVED_AFTER_ROWS} of them in a row. Updates and deletes do not
 * count: a CDC update leaves out TOAST values it did not change, a delete carries the key. Sparse records, where a
 * field is sometimes absent, are why one missing field is not a removal. Each removal is reported once, again
 * after the column came back and went again. O(1) per row while the field names stay the same.
 */
export class ColumnRemovalWatch {
  readonly #tables = new Map<string, TableWatch>();

  /** Notes the full rows among `changes` to `table`; returns the columns found removed by them. */
  observe(table: string, changes: readonly Change[]): string[] {
    let watch = this.#tables.get(table);
    for (const { record, fields } of changes) {
      if (record.op !== 'insert' && record.op !== 'read') continue;
      if (watch === undefined) {
        const names = Object.keys(fields);
        watch = { rows: 0, names, present: new Set(names), lastSeen: new Map(), removed: new Set() };
        this.#tables.set(table, watch);
      }
      watch.rows++;
      if (hasFieldNames(fields, watch.names)) continue;
      for (const name of watch.names) watch.lastSeen.set(name, watch.rows - 1);
      watch.names = Object.keys(fields);
      watch.present = new Set(watch.names);
      for (const name of watch.names) watch.removed.delete(name);
    }
    if (watch === undefined) return [];
    const removed: string[] = [];
    for (const [name, lastSeen] of watch.lastSeen) {
      if (watch.present.has(name) || watch.removed.has(name) || watch.rows - lastSeen < REMOVED_AFTER_ROWS) continue;
      watch.removed.add(name);
      removed.push(name);
    }
    return removed;
  }
}
