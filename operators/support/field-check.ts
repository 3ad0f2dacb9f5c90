import { Decimal } from '../../runtime/decimal.js';
import { orderingDouble } from '../../runtime/expression/exact-decimal.js';
import type { Value } from '../../runtime/record.js';
import { compareNumbers, isNumeric, type Numeric } from './compare-numbers.js';
import { describeValue } from './describe-value.js';
import { isRow } from './is-row.js';
import { LruMap } from './lru-map.js';
import type { ValidationRule } from './validation-rule.js';
import { valueKey } from './value-key.js';

/** A check of one field's value: null when it passes, else the reason (what was expected, what came). */
export type FieldCheck = (value: Value | undefined) => string | null;

const ISO_TIMESTAMP =
  /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}(?::?\d{2})?)?)?$/i;

function numericBound(bound: number | string): Numeric {
  return typeof bound === 'number' ? bound : new Decimal(bound);
}

function characterCount(text: string): number {
  // Counts code points, so an emoji is one character; plain UTF-16 length is exact when there are no surrogates.
  return /[\uD800-\uDFFF]/.test(text) ? Array.from(text).length : text.length;
}

function typeCheck(type: NonNullable<ValidationRule['type']>): (value: Value) => boolean {
  switch (type) {
    case 'string':
      return (value) => typeof value === 'string';
    case 'integer':
      return (value) => (typeof value === 'number' && Number.isInteger(value)) || typeof value === 'bigint';
    case 'number':
      return isNumeric;
    case 'boolean':
      return (value) => typeof value === 'boolean';
    case 'timestamp':
      return (value) =>
        (value instanceof Date && !Number.isNaN(value.getTime())) ||
        (typeof value === 'string' && ISO_TIMESTAMP.test(value) && !Number.isNaN(Date.parse(value)));
    case 'object':
      return isRow;
    case 'array':
      return Array.isArray;
    case 'bytes':
      return (value) => value instanceof Uint8Array;
  }
}

/** `compareNumbers(value, bound)`, through the doubles when both have one that orders exactly (`orderingDouble`). */
function compareToBound(
  value: Numeric,
  valueDouble: number | undefined,
  bound: Numeric,
  boundDouble: number | undefined,
): number {
  if (valueDouble === undefined || boundDouble === undefined) return compareNumbers(value, bound);
  return valueDouble < boundDouble ? -1 : valueDouble > boundDouble ? 1 : 0;
}

function rangeCheck(range: NonNullable<ValidationRule['range']>): FieldCheck {
  const min = range.min === undefined ? undefined : numericBound(range.min);
  const max = range.max === undefined ? undefined : numericBound(range.max);
  const minInclusive = range.min_inclusive ?? true;
  const maxInclusive = range.max_inclusive ?? true;
  const bounds = [
    min === undefined ? '' : `${minInclusive ? '>=' : '>'} ${min.toString()}`,
    max === undefined ? '' : `${maxInclusive ? '<=' : '<'} ${max.toString()}`,
  ]
    .filter((text) => text !== '')
    .join(' and ');
  const expected = `expected a number ${bounds}`;
  const minDouble = min === undefined ? undefined : orderingDouble(min);
  const maxDouble = max === undefined ? undefined : orderingDouble(max);
  return (value) => {
    if (value === null || value === undefined) return null;
    if (!isNumeric(value)) return `${expected}, got ${describeValue(value)}`;
    const double = orderingDouble(value);
    if (min !== undefined) {
      const order = compareToBound(value, double, min, minDouble);
      if (order < 0 || (order === 0 && !minInclusive)) return `${expected}, got ${describeValue(value)}`;
    }
    if (max !== undefined) {
      const order = compareToBound(value, double, max, maxDouble);
      if (order > 0 || (order === 0 && !maxInclusive)) return `${expected}, got ${describeValue(value)}`;
    }
    return null;
  };
}

function inCheck(allowed: NonNullable<ValidationRule['in']>): FieldCheck {
  const texts = new Set(allowed.filter((item) => typeof item === 'string'));
  const numbers = allowed.filter((item) => typeof item === 'number');
  const booleans = new Set(allowed.filter((item) => typeof item === 'boolean'));
  const expected = `expected one of ${allowed.map((item) => (typeof item === 'string' ? JSON.stringify(item) : String(item))).join(', ')}`;
  return (value) => {
    if (value === null || value === undefined) return null;
    if (typeof value === 'string' && texts.has(value)) return null;
    if (typeof value === 'boolean' && booleans.has(value)) return null;
    if (isNumeric(value) && numbers.some((number) => compareNumbers(value, number) === 0)) return null;
    return `${expected}, got ${describeValue(value)}`;
  };
}

function lengthCheck(length: NonNullable<ValidationRule['length']>): FieldCheck {
  const bounds = [
    length.min === undefined ? '' : `>= ${length.min}`,
    length.max === undefined ? '' : `<= ${length.max}`,
  ]
    .filter((text) => text !== '')
    .join(' and ');
  return (value) => {
    if (value === null || value === undefined) return null;
    let size: number;
    if (typeof value === 'string') size = characterCount(value);
    else if (Array.isArray(value) || value instanceof Uint8Array) size = value.length;
    else return `expected text, a list or bytes of length ${bounds}, got ${describeValue(value)}`;
    if ((length.min !== undefined && size < length.min) || (length.max !== undefined && size > length.max)) {
      return `expected length ${bounds}, got length ${size}: ${describeValue(value)}`;
    }
    return null;
  };
}

function uniqueCheck(unique: NonNullable<ValidationRule['unique']>): FieldCheck {
  const window = unique.window ?? 100_000;
  const seen = new LruMap<string, true>(window);
  return (value) => {
    if (value === null || value === undefined) return null;
    const key = valueKey([value]);
    if (seen.has(key)) {
      seen.get(key);
      return `expected a value not seen among the last ${window} distinct values, got ${describeValue(value)} again`;
    }
    seen.set(key, true);
    return null;
  };
}

/**
 * The check a field rule (`not_null`, `regex`, `range`, `in`, `type`, `length`, `unique`) applies to its field.
 * Only `not_null` fails on a null or absent value; the others pass it, as SQL CHECK constraints do. `unique` keeps
 * its own LRU set of at most `window` distinct values (a value not seen for `window` others is forgotten). Returns
 * null for `expr` and `function` rules, which validate runs itself. Expects a rule that passed validate's checks.
 */
export function fieldCheckOf(rule: ValidationRule): FieldCheck | null {
  if (rule.not_null === true) {
    return (value) =>
      value === null || value === undefined ? `expected a value, got ${describeValue(value)}` : null;
  }
  if (rule.regex !== undefined) {
    const pattern = new RegExp(rule.regex, 'u');
    return (value) => {
      if (value === null || value === undefined) return null;
      if (typeof value === 'string' && pattern.test(value)) return null;
      return `expected text matching /${rule.regex}/, got ${describeValue(value)}`;
    };
  }
  if (rule.range !== undefined) return rangeCheck(rule.range);
  if (rule.in !== undefined) return inCheck(rule.in);
  if (rule.type !== undefined) {
    const isType = typeCheck(rule.type);
    const type = rule.type;
    return (value) =>
      value === null || value === undefined || isType(value)
        ? null
        : `expected ${type}, got ${describeValue(value)}`;
  }
  if (rule.length !== undefined) return lengthCheck(rule.length);
  if (rule.unique !== undefined) return uniqueCheck(rule.unique);
  return null;
}
