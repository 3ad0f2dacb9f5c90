import { Decimal } from '../../runtime/decimal.js';
import { stringifyJson } from '../../runtime/json.js';
import type { Value } from '../../runtime/record.js';
import type { ColumnInfo } from './column-info.js';

/** The parts of a column's type that decide how a value is written as text. */
export type ColumnTypeInfo = Pick<ColumnInfo, 'type' | 'category' | 'elementType'>;

/**
 * The text Postgres reads back as exactly `value` in a column of the given type (sent as a parameter and cast
 * by the server), or null for SQL NULL. Nothing is rounded on the way: `bigint` and {@link Decimal} keep their
 * digits, JSON columns get lossless JSON, arrays become array literals, `Uint8Array` becomes `\x` hex for bytea.
 * A value the column cannot hold is passed as its natural text so that Postgres refuses it with its own message.
 */
export function encodeValue(value: Value, column: ColumnTypeInfo): string | null {
  if (value === null) return null;
  if (column.type === 'jsonb' || column.type === 'json') return stringifyJson(value);
  if (column.category === 'A' && Array.isArray(value)) {
    return arrayLiteral(value, {
      type: column.elementType ?? 'text',
      category: categoryOf(column.elementType),
      elementType: null,
    });
  }
  if (column.type === 'bytea' && value instanceof Uint8Array)
    return `\\x${Buffer.from(value).toString('hex')}`;
  if (column.category === 'D' && typeof value === 'number') return new Date(value).toISOString();
  if (column.category === 'B' && typeof value === 'boolean') return value ? 't' : 'f';
  return scalarText(value);
}

/** The natural text of a value, for text columns and numbers. */
function scalarText(value: Exclude<Value, null>): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean')
    return String(value);
  if (value instanceof Decimal) return value.text;
  if (value instanceof Date) return value.toISOString();
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  return stringifyJson(value);
}

/** A Postgres array literal: `{"a","b\"c",NULL,{"1","2"}}`. */
function arrayLiteral(values: Value[], element: ColumnTypeInfo): string {
  const parts = values.map((item) => {
    if (Array.isArray(item) && element.type !== 'jsonb' && element.type !== 'json')
      return arrayLiteral(item, element);
    const text = encodeValue(item, element);
    return text === null ? 'NULL' : `"${text.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`;
  });
  return `{${parts.join(',')}}`;
}

/** The category that matters for encoding an array's elements. */
function categoryOf(type: string | null): string {
  if (type === 'boolean') return 'B';
  if (type !== null && /^(timestamp|date|time)/.test(type)) return 'D';
  return 'N';
}
