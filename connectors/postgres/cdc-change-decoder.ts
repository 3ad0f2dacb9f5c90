import type { DeadLetter } from '../../runtime/dead-letter.js';
import { messageOf, SluiceError } from '../../runtime/errors.js';
import { stringifyJson } from '../../runtime/json.js';
import type { ChangeRecord, Operation, Row } from '../../runtime/record.js';
import { Lsn } from './cdc-lsn.js';
import type { PgoutputColumn, PgoutputMessage, PgoutputRelationColumn } from './cdc-pgoutput.js';
import type { CdcTable } from './cdc-table.js';
import { decodeTextValue } from './cdc-text-value.js';

/** What a pgoutput message turns into, in stream order. */
export type CdcItem =
  | { readonly kind: 'record'; readonly record: ChangeRecord }
  /** Input that is not replicated as row changes (a TRUNCATE) or did not decode: it goes to the DLQ. */
  | { readonly kind: 'rejected'; readonly letter: DeadLetter }
  /** The end of a transaction: every item before it is complete; `endLsn` may be confirmed once they are handled. */
  | { readonly kind: 'commit'; readonly endLsn: bigint };

interface Relation {
  readonly table: string;
  readonly columns: readonly PgoutputRelationColumn[];
  readonly keyColumns: readonly string[] | null;
}

interface Transaction {
  readonly lsn: string;
  /** The commit LSN as an integer, the whole part of each change's `version`. */
  readonly commitPosition: bigint;
  readonly commitTimeMs: number;
  readonly xid: number;
  /** Changes emitted so far in this transaction, the fractional part of each change's `version`. */
  changes: number;
}

/**
 * Turns decoded pgoutput messages into change records for the captured tables:
 * - every change of a transaction carries the transaction's commit LSN (`source.lsn`, also `source.position`),
 *   its `xid` and its commit time (`sourceTimeMs`); `source.version` (`<commit LSN as an integer>.<change number,
 *   10 digits>`) orders every change, also two changes of one row in one transaction, so a sink's newer-wins
 *   `version_from: source.version` never drops the later one, wherever batches are cut;
 * - `after` omits TOASTed columns an update left unchanged (pgoutput does not send them): an upsert then keeps
 *   the target's value instead of writing null;
 * - `before` is the old row when the table has `REPLICA IDENTITY FULL`, else null (deletes carry the key);
 * - an update that changes the key becomes a delete of the old key followed by an insert of the new row, whose
 *   unchanged TOAST values come from the old row (`REPLICA IDENTITY FULL`); without a whole old row such a move
 *   goes to the DLQ as one `update` record (`before` the old key), so the target keeps the old row, not nulls;
 * - a TRUNCATE is not a row change: it becomes a dead letter per captured table (with a keyless `delete` record
 *   flagged `source.truncate = true`), so it is visible in the DLQ and never silently applied or lost;
 * - relation messages update the column list, so a column added mid-stream appears in later records.
 */
export class CdcChangeDecoder {
  readonly #sourceName: string;
  readonly #tables: ReadonlyMap<string, CdcTable>;
  readonly #relations = new Map<number, Relation>();
  #transaction: Transaction | null = null;

  constructor(sourceName: string, tables: readonly CdcTable[]) {
    this.#sourceName = sourceName;
    this.#tables = new Map(tables.map((table) => [String(table.name), table]));
  }

  /** True between a transaction's begin and commit. */
  get inTransaction(): boolean {
    return this.#transaction !== null;
  }

  /** The items one message yields (none for begin, relation and messages Sluice does not use). */
  decode(message: PgoutputMessage, ingestTimeMs: number): CdcItem[] {
    switch (message.tag) {
      case 'begin':
        this.#transaction = {
          lsn: Lsn.format(message.finalLsn),
          commitPosition: BigInt(message.finalLsn),
          commitTimeMs: message.commitTimeMs,
          xid: message.xid,
          changes: 0,
        };
        return [];
      case 'commit':
        this.#transaction = null;
        return [{ kind: 'commit', endLsn: message.endLsn }];
      case 'relation': {
        const table = `${message.schema}.${message.table}`;
        const captured = this.#tables.get(table);
        const keyColumns = captured
          ? captured.keyColumns
          : message.replicaIdentity === 'f'
            ? null
            : message.columns.filter((column) => column.isKey).map((column) => column.name);
        this.#relations.set(message.oid, { table, columns: message.columns, keyColumns });
        return [];
      }
      case 'insert':
      case 'update':
      case 'delete': {
        const relation = this.#relations.get(message.oid);
        if (!relation || !this.#tables.has(relation.table)) return [];
        try {
          return this.#changes(message, relation, ingestTimeMs);
        } catch (error) {
          return [{ kind: 'rejected', letter: this.#letter(`a ${message.tag} of ${relation.table} did not decode: ${messageOf(error)}`) }];
        }
      }
      case 'truncate':
        return message.oids.flatMap((oid): CdcItem[] => {
          const relation = this.#relations.get(oid);
          if (!relation || !this.#tables.has(relation.table)) return [];
          const letter = this.#letter(
            `TRUNCATE of ${relation.table}${message.cascade ? ' (CASCADE)' : ''} is not replicated as row changes: truncate the target by hand`,
            this.#truncateRecord(relation.table),
          );
          return [{ kind: 'rejected', letter }];
        });
      default:
        return [];
    }
  }

  #changes(
    message: Extract<PgoutputMessage, { tag: 'insert' | 'update' | 'delete' }>,
    relation: Relation,
    ingestTimeMs: number,
  ): CdcItem[] {
    const make = (op: Operation, key: Row | null, before: Row | null, after: Row | null): CdcItem => ({
      kind: 'record',
      record: this.#record(relation.table, op, key, before, after, ingestTimeMs),
    });
    if (message.tag === 'insert') {
      const after = rowOf(relation, message.newTuple);
      return [make('insert', keyOf(relation, after), null, after)];
    }
    if (message.tag === 'delete') {
      const old = rowOf(relation, message.old.tuple);
      return [make('delete', keyOf(relation, old), message.old.kind === 'row' ? old : null, null)];
    }
    const after = rowOf(relation, message.newTuple);
    const key = keyOf(relation, after);
    if (message.old === null) return [make('update', key, null, after)];
    const old = rowOf(relation, message.old.tuple);
    const before = message.old.kind === 'row' ? old : null;
    const oldKey = keyOf(relation, old);
    if (key !== null && oldKey !== null && stringifyJson(oldKey) !== stringifyJson(key)) {
      const unchanged = unchangedColumns(relation, message.newTuple);
      if (unchanged.length > 0) {
        // The new row's unchanged TOAST values: only a whole old row (REPLICA IDENTITY FULL) holds them. Without
        // it the move is set aside whole, so the target keeps the old row rather than a new one with nulls.
        if (before === null) {
          const moved = this.#record(relation.table, 'update', key, oldKey, after, ingestTimeMs);
          const reason =
            `an update moved a row of ${relation.table} from key ${stringifyJson(oldKey)} to ${stringifyJson(key)} ` +
            `and left its TOASTed column(s) ${unchanged.join(', ')} unchanged, whose values pgoutput sends only with ` +
            `REPLICA IDENTITY FULL: the row was not moved in the target (its before is the old key). Run ALTER TABLE ` +
            `${relation.table} REPLICA IDENTITY FULL for later moves, and move this row by hand`;
          return [{ kind: 'rejected', letter: this.#letter(reason, moved) }];
        }
        for (const name of unchanged) after[name] = before[name] ?? null;
      }
      return [make('delete', oldKey, before, null), make('insert', key, null, after)];
    }
    return [make('update', key, before, after)];
  }

  #record(table: string, op: Operation, key: Row | null, before: Row | null, after: Row | null, ingestTimeMs: number): ChangeRecord {
    const transaction = this.#requireTransaction();
    const version = `${transaction.commitPosition}.${String(transaction.changes++).padStart(10, '0')}`;
    return {
      op,
      key,
      before,
      after,
      source: { name: this.#sourceName, position: transaction.lsn, table, lsn: transaction.lsn, version, xid: transaction.xid },
      sourceTimeMs: transaction.commitTimeMs,
      ingestTimeMs,
      headers: {},
    };
  }

  /** A dead letter of the current transaction, with the record it sets aside when there is one. */
  #letter(reason: string, record?: ChangeRecord): DeadLetter {
    const transaction = this.#requireTransaction();
    return {
      node: this.#sourceName,
      reason,
      source: { name: this.#sourceName, position: transaction.lsn },
      ...(record === undefined ? {} : { record }),
    };
  }

  /** The keyless `delete` record, flagged `source.truncate = true`, that stands for a TRUNCATE of `table` in the DLQ. */
  #truncateRecord(table: string): ChangeRecord {
    const transaction = this.#requireTransaction();
    return {
      op: 'delete',
      key: null,
      before: null,
      after: null,
      source: { name: this.#sourceName, position: transaction.lsn, table, lsn: transaction.lsn, xid: transaction.xid, truncate: true },
      sourceTimeMs: transaction.commitTimeMs,
      ingestTimeMs: Date.now(),
      headers: {},
    };
  }

  #requireTransaction(): Transaction {
    if (this.#transaction === null) {
      throw new SluiceError('PG_PGOUTPUT_INVALID', 'expected a change inside a transaction, got one before any begin message');
    }
    return this.#transaction;
  }
}

/** The row a tuple holds, without the columns pgoutput left out (unchanged TOAST values). */
function rowOf(relation: Relation, tuple: readonly PgoutputColumn[]): Row {
  const row: Row = {};
  tuple.forEach((value, index) => {
    const column = relation.columns[index];
    if (column === undefined) throw new SluiceError('PG_PGOUTPUT_INVALID', `expected at most ${relation.columns.length} columns for ${relation.table}, got ${tuple.length}`);
    if (value.kind === 'null') row[column.name] = null;
    else if (value.kind === 'text') row[column.name] = decodeTextValue(column.typeOid, value.text);
  });
  return row;
}

/** The names of the columns a tuple leaves out as unchanged TOAST values. */
function unchangedColumns(relation: Relation, tuple: readonly PgoutputColumn[]): string[] {
  const names: string[] = [];
  tuple.forEach((value, index) => {
    if (value.kind === 'unchanged') names.push(relation.columns[index]!.name);
  });
  return names;
}

function keyOf(relation: Relation, row: Row): Row | null {
  if (relation.keyColumns === null) return null;
  const key: Row = {};
  for (const column of relation.keyColumns) key[column] = row[column] ?? null;
  return key;
}
