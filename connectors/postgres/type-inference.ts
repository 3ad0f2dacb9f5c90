import { Decimal } from '../../runtime/decimal.js';
import type { Value } from '../../runtime/record.js';

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
/**
 * A timestamp with microseconds as Sluice carries it where a `Date` would lose digits (Postgres CDC's
 * `timestamptz`): UTC ISO-8601 with exactly six fraction digits and `Z`.
 */
const MICROSECOND_TIMESTAMP = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/;

/**
 * The Postgres type a new column gets for a value, or null when the value says nothing (null, an empty array):
 * integers → `bigint` (`numeric` beyond 64 bits), other numbers → `double precision`, {@link Decimal} → `numeric`,
 * strings → `text` (a timestamp with microseconds in its exact UTC form, `2024-05-01T10:00:00.123456Z`, →
 * `timestamp with time zone`, which holds every digit), booleans → `boolean`, `Date` → `timestamp with time
 * zone`, `Uint8Array` → `bytea`, arrays of one scalar type → that type's array, objects and mixed arrays → `jsonb`.
 */
export function inferType(value: Value): string | null {
  if (value === null) return null;
  switch (typeof value) {
    case 'boolean':
      return 'boolean';
    case 'string':
      return MICROSECOND_TIMESTAMP.test(value) ? 'timestamp with time zone' : 'text';
    case 'number':
      return Number.isSafeInteger(value) ? 'bigint' : 'double precision';
    case 'bigint':
      return value >= INT64_MIN && value <= INT64_MAX ? 'bigint' : 'numeric';
  }
  if (value instanceof Decimal) return 'numeric';
  if (value instanceof Date) return 'timestamp with time zone';
  if (value instanceof Uint8Array) return 'bytea';
  if (Array.isArray(value)) {
    let element: string | null = null;
    for (const item of value) {
      if (
        item !== null &&
        (Array.isArray(item) || typeof item === 'object') &&
        !(item instanceof Decimal) &&
        !(item instanceof Date)
      )
        return 'jsonb';
      element = mergeTypes(element, inferType(item));
    }
    if (element === null) return null;
    return element === 'jsonb' || element === 'bytea' ? 'jsonb' : `${element}[]`;
  }
  return 'jsonb';
}

/**
 * The type that holds values of both types: equal types stay; integer and fractional numbers meet in `numeric`;
 * text and timestamps meet in `text` (a timestamp's text is exact); anything else that differs becomes `jsonb`
 * (which holds every value).
 */
export function mergeTypes(a: string | null, b: string | null): string | null {
  if (a === null) return b;
  if (b === null || a === b) return a;
  const numeric = new Set(['bigint', 'numeric', 'double precision']);
  if (numeric.has(a) && numeric.has(b)) return 'numeric';
  const textual = new Set(['text', 'timestamp with time zone']);
  if (textual.has(a) && textual.has(b)) return 'text';
  return 'jsonb';
}
