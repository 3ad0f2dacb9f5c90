import { Decimal } from '../../runtime/decimal.js';
import { stringifyJson } from '../../runtime/json.js';
import type { Value } from '../../runtime/record.js';

/** Longest value text shown in a message. */
const MAX_LENGTH = 80;

function shorten(text: string): string {
  return text.length <= MAX_LENGTH ? text : `${text.slice(0, MAX_LENGTH)}… (${text.length} characters)`;
}

/**
 * A value as a message shows it, with its kind where the text alone would mislead: `null`, `"abc"`,
 * `42`, `decimal 26.30`, `bigint 9007199254740993`, `timestamp 2024-01-01T00:00:00.000Z`, `bytes (16)`,
 * `object {"a":1}`. Long text is cut.
 */
export function describeValue(value: Value | undefined): string {
  if (value === undefined) return 'nothing (field absent)';
  if (value === null) return 'null';
  if (typeof value === 'string') return `text ${shorten(JSON.stringify(value))}`;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (typeof value === 'bigint') return `bigint ${value.toString()}`;
  if (value instanceof Decimal) return `decimal ${value.text}`;
  if (value instanceof Date)
    return `timestamp ${Number.isNaN(value.getTime()) ? 'Invalid Date' : value.toISOString()}`;
  if (value instanceof Uint8Array) return `bytes (${value.length})`;
  let text: string;
  try {
    text = stringifyJson(value);
  } catch {
    text = '(not representable as JSON)';
  }
  return `${Array.isArray(value) ? 'array' : 'object'} ${shorten(text)}`;
}
