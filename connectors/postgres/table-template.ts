import { SluiceError } from '../../runtime/errors.js';
import type { ChangeRecord } from '../../runtime/record.js';
import { TableName } from './table-name.js';

const PLACEHOLDER = /\{(schema|table)\}/g;
const HAS_PLACEHOLDER = /\{(?:schema|table)\}/;

/**
 * The sink's `table` option: a fixed name (`public.orders`) or a template filled from each record's
 * `source.table` (`public.{table}`, `{schema}.{table}_history`). The record's table is split at its first dot
 * into schema and table; a placeholder is replaced by the record's name as it is, never parsed again as SQL.
 */
export class TableTemplate {
  readonly text: string;
  readonly #schema: string;
  readonly #table: string;
  readonly #fixed: TableName | null;

  constructor(text: string) {
    const parsed = TableName.parse(text);
    this.text = text;
    this.#schema = parsed.schema;
    this.#table = parsed.table;
    this.#fixed = HAS_PLACEHOLDER.test(text) ? null : parsed;
  }

  /** The one table every record goes to, or null when the name depends on the record. */
  get fixed(): TableName | null {
    return this.#fixed;
  }

  /**
   * The table a record goes to. Throws a SluiceError with code `TABLE_UNRESOLVED` when the template needs a
   * table name and the record carries none.
   */
  resolve(record: ChangeRecord): TableName {
    if (this.#fixed) return this.#fixed;
    const source = record.source.table;
    if (source === undefined || source === '') {
      throw new SluiceError(
        'TABLE_UNRESOLVED',
        `table template ${JSON.stringify(this.text)} needs the record's source.table, but the record from ${record.source.name} at ${record.source.position} has none`,
      );
    }
    const dot = source.indexOf('.');
    const names = {
      schema: dot < 0 ? 'public' : source.slice(0, dot),
      table: dot < 0 ? source : source.slice(dot + 1),
    };
    const fill = (part: string) =>
      part.replace(PLACEHOLDER, (_match, name: 'schema' | 'table') => names[name]);
    return new TableName(fill(this.#schema), fill(this.#table));
  }
}
