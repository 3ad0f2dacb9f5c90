import { Decimal } from '../decimal.js';
import { stringifyJson } from '../json.js';
import type { Row, Value } from '../record.js';
import { parseTimestamp } from './dates.js';
import { fail } from './eval-failure.js';
import { compareExact, exactOf, orderingDouble } from './exact-decimal.js';

// Internal: value helpers shared by the operators and the functions of the expression language.

/** A number of any of the three numeric kinds. */
export type Numeric = number | bigint | Decimal;

/** True for a JSON-like object (a row, a key, a map): a plain object, not an array, date, decimal or byte array. */
export function isRow(value: unknown): value is Row {
  if (typeof value !== 'object' || value === null) return false;
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

/** True for a number, bigint or Decimal. */
export function isNumeric(value: unknown): value is Numeric {
  return typeof value === 'number' || typeof value === 'bigint' || value instanceof Decimal;
}

/**
 * The expression-language type name of a value, as `type(x)` returns it: `null`, `bool`, `int` (an integral
 * number or a bigint), `double`, `decimal`, `string`, `bytes`, `timestamp`, `list`, `map`.
 */
export function typeName(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  switch (typeof value) {
    case 'boolean':
      return 'bool';
    case 'number':
      return Number.isInteger(value) ? 'int' : 'double';
    case 'bigint':
      return 'int';
    case 'string':
      return 'string';
    case 'object':
      if (value instanceof Decimal) return 'decimal';
      if (value instanceof Date) return 'timestamp';
      if (value instanceof Uint8Array) return 'bytes';
      if (Array.isArray(value)) return 'list';
      if (isRow(value)) return 'map';
      return 'object';
    default:
      return typeof value;
  }
}

/** -1, 0 or 1 comparing two numbers of any kind exactly where possible; NaN when either is NaN. */
export function compareNumeric(a: Numeric, b: Numeric): number {
  if (typeof a === 'number' && typeof b === 'number') return a < b ? -1 : a > b ? 1 : a === b ? 0 : NaN;
  if (typeof a === 'bigint' && typeof b === 'bigint') return a < b ? -1 : a > b ? 1 : 0;
  const da = orderingDouble(a);
  const db = da === undefined ? undefined : orderingDouble(b);
  if (da !== undefined && db !== undefined) return da < db ? -1 : da > db ? 1 : 0;
  const x = exactOf(a);
  const y = exactOf(b);
  if (x !== null && y !== null) return compareExact(x, y);
  const fx = typeof a === 'number' ? a : Number(a instanceof Decimal ? a.text : a);
  const fy = typeof b === 'number' ? b : Number(b instanceof Decimal ? b.text : b);
  return fx < fy ? -1 : fx > fy ? 1 : fx === fy ? 0 : NaN;
}

function bytesCompare(a: Uint8Array, b: Uint8Array): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
}

/**
 * Deep equality as `==` means it: numbers of every kind compare by value (`1 == 1.0`, `Decimal 26.30 == 26.3`),
 * timestamps by instant, bytes by content, lists and maps element by element. Values of different types are not
 * equal; null equals only null.
 */
export function equals(a: Value, b: Value): boolean {
  if (a === b) return true;
  if (a === null || b === null) return false;
  if (isNumeric(a)) return isNumeric(b) && compareNumeric(a, b) === 0;
  if (typeof a !== 'object' || typeof b !== 'object') return false;
  if (a instanceof Date) return b instanceof Date && a.getTime() === b.getTime();
  if (a instanceof Uint8Array) return b instanceof Uint8Array && bytesCompare(a, b) === 0;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!equals(a[i] ?? null, b[i] ?? null)) return false;
    return true;
  }
  if (!isRow(a) || !isRow(b)) return false;
  const keys = Object.keys(a).filter((k) => a[k] !== undefined);
  if (keys.length !== Object.keys(b).filter((k) => b[k] !== undefined).length) return false;
  return keys.every((k) => Object.hasOwn(b, k) && equals(a[k] ?? null, b[k] ?? null));
}

/**
 * -1, 0 or 1 ordering two non-null values for `<`, `<=`, `>`, `>=`, `min` and `max` (NaN when a number is NaN).
 * Numbers of every kind order by value, strings by UTF-16 code units, `false < true`, timestamps by instant (an
 * RFC 3339 string compared with a timestamp is read as one), bytes by content. Other pairs fail.
 */
export function compare(a: Value, b: Value, operator: string): number {
  if (typeof a === 'string' && typeof b === 'string') return a < b ? -1 : a > b ? 1 : 0;
  if (isNumeric(a) && isNumeric(b)) return compareNumeric(a, b);
  if (typeof a === 'boolean' && typeof b === 'boolean') return a === b ? 0 : a ? 1 : -1;
  if (a instanceof Date || b instanceof Date) {
    const x = asInstant(a);
    const y = asInstant(b);
    if (x !== null && y !== null) return x < y ? -1 : x > y ? 1 : x === y ? 0 : NaN;
  }
  if (a instanceof Uint8Array && b instanceof Uint8Array) return bytesCompare(a, b);
  return fail(`${operator} cannot compare ${typeName(a)} with ${typeName(b)}`);
}

function asInstant(value: Value): number | null {
  if (value instanceof Date) return value.getTime();
  if (typeof value === 'string') return parseTimestamp(value)?.getTime() ?? null;
  return null;
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** The text of a value, as `string(x)` gives it; null stays null. */
export function toText(value: Value): string | null {
  if (value === null) return null;
  switch (typeof value) {
    case 'string':
      return value;
    case 'number':
    case 'bigint':
    case 'boolean':
      return String(value);
    default:
      if (value instanceof Decimal) return value.text;
      if (value instanceof Date) return value.toISOString();
      if (value instanceof Uint8Array) {
        try {
          return UTF8.decode(value);
        } catch {
          return fail('string() got bytes that are not valid UTF-8');
        }
      }
      return stringifyJson(value);
  }
}
