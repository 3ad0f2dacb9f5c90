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
 * - an update that changes the key becomes a delete of the old key followed by an insert of the new row;
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
          return this.#changes(message, relation, ingestTimeMs).map((record) => ({ kind: 'record', record }));
        } catch (error) {
          return [{ kind: 'rejected', letter: this.#letter(relation.table, `a ${message.tag} of ${relation.table} did not decode: ${messageOf(error)}`) }];
        }
      }
      case 'truncate':
        return message.oids.flatMap((oid): CdcItem[] => {
          const relation = this.#relations.get(oid);
          if (!relation || !this.#tables.has(relation.table)) return [];
          const letter = this.#letter(
            relation.table,
            `TRUNCATE of ${relation.table}${message.cascade ? ' (CASCADE)' : ''} is not replicated as row changes: truncate the target by hand`,
            true,
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
  ): ChangeRecord[] {
    const make = (op: Operation, key: Row | null, before: Row | null, after: Row | null): ChangeRecord =>
      this.#record(relation.table, op, key, before, after, ingestTimeMs);
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

  #letter(table: string, reason: string, truncate = false): DeadLetter {
    const transaction = this.#requireTransaction();
    const source = { name: this.#sourceName, position: transaction.lsn };
    return {
      node: this.#sourceName,
      reason,
      source,
      ...(truncate
        ? {
            record: {
              op: 'delete',
              key: null,
              before: null,
              after: null,
              source: { ...source, table, lsn: transaction.lsn, xid: transaction.xid, truncate: true },
              sourceTimeMs: transaction.commitTimeMs,
              ingestTimeMs: Date.now(),
              headers: {},
            },
          }
        : {}),
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

function keyOf(relation: Relation, row: Row): Row | null {
  if (relation.keyColumns === null) return null;
  const key: Row = {};
  for (const column of relation.keyColumns) key[column] = row[column] ?? null;
  return key;
}
