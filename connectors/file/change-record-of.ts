import { keyOf } from './key-of.js';
import { OPERATIONS, type ChangeRecord, type Operation, type Row, type SourceInfo, type Value } from '../../runtime/record.js';

/**
 * The change record held by a decoded line of a `changes` file: a change as `recordRow` writes it (`op`, `key`,
 * `before`, `after`, `source_time_ms`, `headers`), or a dead-letter row as the DLQ writes it, whose `record` is
 * such a change. The record's `source` becomes `source` (the file it is replayed from); `source_time_ms` and
 * `headers` are kept. A missing `key` is taken from `keyColumns` of the row (`after`, else `before`) when given.
 * Throws a `TypeError` saying what was expected.
 */
export function changeRecordOf(value: Value, source: SourceInfo, keyColumns: readonly string[] | undefined): ChangeRecord {
  if (!isRow(value)) throw new TypeError(`expected a change record (a JSON object), found ${kindOf(value)}`);
  let change = value;
  if (!('op' in change) && 'record' in change && 'reason' in change) {
    const record = change.record;
    if (!isRow(record)) throw new TypeError(`expected a dead-letter entry with a "record" object, found ${kindOf(record)} (the input could not be decoded; see "raw")`);
    change = record;
  }
  const op = change.op;
  if (typeof op !== 'string' || !OPERATIONS.includes(op as Operation)) {
    throw new TypeError(`expected "op" to be one of ${OPERATIONS.join(', ')}, found ${kindOf(op)}`);
  }
  const before = optionalRow(change, 'before');
  const after = optionalRow(change, 'after');
  if (op === 'delete' ? before === null && change.key == null : after === null) {
    throw new TypeError(op === 'delete' ? 'expected a delete to have a "key" or a "before" row' : `expected the ${op} to have an "after" row`);
  }
  let key = optionalRow(change, 'key');
  if (key === null && keyColumns !== undefined) key = keyOf((after ?? before)!, keyColumns);
  const sourceTime = change.source_time_ms;
  if (sourceTime != null && typeof sourceTime !== 'number') throw new TypeError(`expected "source_time_ms" to be a number, found ${kindOf(sourceTime)}`);
  return {
    op: op as Operation,
    key,
    before,
    after,
    source,
    sourceTimeMs: sourceTime ?? null,
    ingestTimeMs: Date.now(),
    headers: headersOf(change.headers),
  };
}

function optionalRow(change: Row, field: string): Row | null {
  const value = change[field];
  if (value == null) return null;
  if (!isRow(value)) throw new TypeError(`expected "${field}" to be an object or null, found ${kindOf(value)}`);
  return value;
}

function headersOf(value: Value | undefined): Record<string, string> {
  if (value == null) return {};
  if (!isRow(value)) throw new TypeError(`expected "headers" to be an object, found ${kindOf(value)}`);
  const headers: Record<string, string> = {};
  for (const [name, header] of Object.entries(value)) {
    if (typeof header !== 'string') throw new TypeError(`expected header "${name}" to be text, found ${kindOf(header)}`);
    headers[name] = header;
  }
  return headers;
}

function isRow(value: Value | undefined): value is Row {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && Object.getPrototypeOf(value) === Object.prototype;
}

function kindOf(value: Value | undefined): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return isRow(value) ? 'an object' : value.constructor.name;
  return `${typeof value} ${JSON.stringify(String(value))}`;
}
