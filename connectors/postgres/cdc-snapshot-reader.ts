import type pg from 'pg';
import type { ChangeRecord, Row } from '../../runtime/record.js';
import { Lsn } from './cdc-lsn.js';
import type { CdcTable } from './cdc-table.js';
import { decodeTextValue } from './cdc-text-value.js';
import { quoteIdentifier } from './quote-identifier.js';

/** The column the snapshot reads `ctid` into for tables without a key (no user column can have a system column's name). */
const CTID = 'ctid';

/**
 * Reads the captured tables as `read` records in one REPEATABLE READ transaction on a snapshot exported by a
 * replication slot (`SET TRANSACTION SNAPSHOT`), so that the snapshot and the stream meet exactly at the slot's
 * consistent point. Each table is read in chunks ordered by its key (keyset pagination: every
 * query starts after the last key read, so a chunk costs the same at any depth); a table without a key is paged
 * by `ctid`. Values decode by the same rules as the stream (`decodeTextValue`).
 */
export class CdcSnapshotReader {
  readonly #client: pg.ClientBase;
  readonly #tables: readonly CdcTable[];
  readonly #chunkRows: number;
  readonly #sourceName: string;
  readonly #lsn: string;
  /** Snapshot rows' `source.version`: the snapshot's LSN with change number 0, older than every change streamed after it. */
  readonly #version: string;
  #tableIndex = 0;
  #after: string[] | null = null;
  #done = 0;
  #finished = false;

  /** `client` must return values as text (see `cdcClientConfig`); `lsn` is the position the snapshot stands for. */
  constructor(client: pg.ClientBase, options: { tables: readonly CdcTable[]; chunkRows: number; sourceName: string; lsn: string }) {
    this.#client = client;
    this.#tables = options.tables;
    this.#chunkRows = options.chunkRows;
    this.#sourceName = options.sourceName;
    this.#lsn = options.lsn;
    this.#version = `${Lsn.parse(options.lsn)}.0000000000`;
  }

  /** Opens the transaction on the snapshot a replication slot exported as `snapshotName`. */
  async begin(snapshotName: string): Promise<void> {
    await this.#client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    await this.#client.query(`SET TRANSACTION SNAPSHOT '${snapshotName.replaceAll("'", "''")}'`);
  }

  /** Rows read so far. */
  get done(): number {
    return this.#done;
  }

  /** The planner's estimate of all rows to read, or null when a table was never analysed. */
  get total(): number | null {
    let total = 0;
    for (const table of this.#tables) {
      if (table.estimatedRows === null) return null;
      total += table.estimatedRows;
    }
    return Math.max(total, this.#done);
  }

  /** The next chunk's records (never empty), or null when every table is read (the transaction is then committed). */
  async next(): Promise<ChangeRecord[] | null> {
    while (!this.#finished) {
      const table = this.#tables[this.#tableIndex];
      if (table === undefined) {
        await this.#client.query('COMMIT');
        this.#finished = true;
        return null;
      }
      const records = await this.#chunk(table);
      if (records.length > 0) return records;
      this.#tableIndex++;
      this.#after = null;
    }
    return null;
  }

  async #chunk(table: CdcTable): Promise<ChangeRecord[]> {
    const order = table.keyColumns ?? [CTID];
    const columns = order.map(quoteIdentifier).join(', ');
    const select = table.keyColumns === null ? `SELECT ${CTID}, *` : 'SELECT *';
    const placeholders = order.map((_, index) => (table.keyColumns === null ? `$${index + 1}::tid` : `$${index + 1}`)).join(', ');
    const where = this.#after === null ? '' : ` WHERE (${columns}) > (${placeholders})`;
    const result = await this.#client.query<Record<string, string | null>>(
      `${select} FROM ${table.name.sql}${where} ORDER BY ${columns} LIMIT ${this.#chunkRows}`,
      this.#after ?? [],
    );
    const last = result.rows.at(-1);
    if (last === undefined) return [];
    this.#after = order.map((column) => last[column] ?? '');
    this.#done += result.rows.length;
    const types = new Map(result.fields.map((field) => [field.name, field.dataTypeID]));
    const name = String(table.name);
    const ingestTimeMs = Date.now();
    return result.rows.map((raw) => {
      const after: Row = {};
      for (const [column, text] of Object.entries(raw)) {
        if (table.keyColumns === null && column === CTID) continue;
        after[column] = text === null ? null : decodeTextValue(types.get(column) ?? 25, text);
      }
      let key: Row | null = null;
      if (table.keyColumns !== null) {
        key = {};
        for (const column of table.keyColumns) key[column] = after[column] ?? null;
      }
      return {
        op: 'read',
        key,
        before: null,
        after,
        source: { name: this.#sourceName, position: this.#lsn, table: name, lsn: this.#lsn, version: this.#version, snapshot: true },
        sourceTimeMs: null,
        ingestTimeMs,
        headers: {},
      };
    });
  }
}
