import type { TableName } from './table-name.js';

/** A captured table as the prerequisite check found it. */
export interface CdcTable {
  readonly name: TableName;
  /**
   * The columns that identify a row, in index order: the primary key, else the replica identity index. Null for
   * a table with `REPLICA IDENTITY FULL` and neither: its records have no key and its snapshot pages by `ctid`.
   */
  readonly keyColumns: readonly string[] | null;
  /** `pg_class.reltuples`: the planner's row estimate (null when the table was never analysed). */
  readonly estimatedRows: number | null;
}
