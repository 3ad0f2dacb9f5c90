import { Decimal } from '../decimal.js';
import type { Row, Value } from '../record.js';
import { fail } from './eval-failure.js';
import type { Exact } from './exact-decimal.js';
import {
  addExact,
  exactOf,
  exactToValue,
  multiplyExact,
  multiplyShort,
  subtractExact,
} from './exact-decimal.js';
import type { Numeric } from './values.js';
import { compare, equals, isNumeric, isRow, typeName } from './values.js';

// Internal: the runtime of compiled expressions. Generated code calls only these functions and the built-in
// functions; each takes and returns values and fails with an `EvalFailure`.

/** `object.name` where `name` is not a property of `Object.prototype`: a row's field, else null. */
export function member(object: Value, name: string): Value {
  if (!isRow(object)) return null;
  return object[name] ?? null;
}

/** `object.name` for names `Object.prototype` has (`constructor`, `toString`, ...): own fields only. */
export function ownMember(object: Value, name: string): Value {
  if (!isRow(object) || !Object.hasOwn(object, name)) return null;
  return object[name] ?? null;
}

/** An extra variable's value from the caller's map; null when absent. */
export function extraVariable(extra: Record<string, Value> | undefined, name: string): Value {
  if (extra === undefined || extra === null || !Object.hasOwn(extra, name)) return null;
  return extra[name] ?? null;
}

/** `has(object.name)`: true when `object` is a map holding the key `name` (even with a null value). */
export function has(object: Value, name: string): boolean {
  return isRow(object) && Object.hasOwn(object, name) && object[name] !== undefined;
}

/** `collection[index]`: a list element (null out of range) or a map entry (null when absent). */
export function index(collection: Value, key: Value): Value {
  if (collection === null || key === null) return null;
  if (Array.isArray(collection)) {
    const i = typeof key === 'bigint' ? Number(key) : key;
    if (typeof i !== 'number' || !Number.isInteger(i))
      return fail(`a list index must be an int, got ${typeName(key)}`);
    return collection[i] ?? null;
  }
  if (isRow(collection)) {
    if (typeof key !== 'string') return fail(`a map key must be a string, got ${typeName(key)}`);
    return Object.hasOwn(collection, key) ? (collection[key] ?? null) : null;
  }
  return fail(`[] needs a list or a map, got ${typeName(collection)}`);
}

/** A map literal from alternating keys and values. */
export function makeMap(entries: Value[]): Row {
  const row: Row = {};
  for (let i = 0; i < entries.length; i += 2) {
    const key = entries[i];
    if (typeof key !== 'string') return fail(`map keys must be strings, got ${typeName(key ?? null)}`);
    Object.defineProperty(row, key, {
      value: entries[i + 1] ?? null,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return row;
}

/** `a == b` (see `equals`). */
export function eq(a: Value, b: Value): boolean {
  return a === b || (a !== null && b !== null && equals(a, b));
}

/** `a != b`. */
export function ne(a: Value, b: Value): boolean {
  return !eq(a, b);
}

/** `a < b`; false when either is null. */
export function lt(a: Value, b: Value): boolean {
  if (typeof a === 'number' && typeof b === 'number') return a < b;
  return a !== null && b !== null && compare(a, b, '<') < 0;
}

/** `a <= b`; false when either is null. */
export function le(a: Value, b: Value): boolean {
  if (typeof a === 'number' && typeof b === 'number') return a <= b;
  return a !== null && b !== null && compare(a, b, '<=') <= 0;
}

/** `a > b`; false when either is null. */
export function gt(a: Value, b: Value): boolean {
  if (typeof a === 'number' && typeof b === 'number') return a > b;
  return a !== null && b !== null && compare(a, b, '>') > 0;
}

/** `a >= b`; false when either is null. */
export function ge(a: Value, b: Value): boolean {
  if (typeof a === 'number' && typeof b === 'number') return a >= b;
  return a !== null && b !== null && compare(a, b, '>=') >= 0;
}

/** `a in b`: `b` a list holding a value equal to `a`, or a map with the key `a`; false when `b` is null. */
export function isIn(a: Value, b: Value): boolean {
  if (b === null) return false;
  if (Array.isArray(b)) {
    for (const item of b) if (eq(a, item)) return true;
    return false;
  }
  if (isRow(b)) return typeof a === 'string' && Object.hasOwn(b, a) && b[a] !== undefined;
  return fail(`in needs a list or a map on the right, got ${typeName(b)}`);
}

function truth(operator: string): (value: Value) => boolean {
  return (value) => {
    if (value === true) return true;
    if (value === false || value === null) return false;
    return fail(`${operator} needs a bool (or null, read as false), got ${typeName(value)}`);
  };
}

/** The operands of `&&`, `||`, `!` and the condition of `? :`: true, or false for false and null. */
export const truthOfAnd = truth('&&');
/** See {@link truthOfAnd}. */
export const truthOfOr = truth('||');
/** See {@link truthOfAnd}. */
export const truthOfNot = truth('!');
/** See {@link truthOfAnd}. */
export const truthOfCondition = truth('the condition of ? :');

function exactOperands(a: Numeric, b: Numeric): [Exact, Exact] | null {
  const x = exactOf(a);
  const y = exactOf(b);
  return x === null || y === null ? null : [x, y];
}

function toFloat(value: Numeric): number {
  return typeof value === 'number' ? value : value instanceof Decimal ? value.toNumber() : Number(value);
}

function normalizeInteger(value: bigint): number | bigint {
  return value >= -9007199254740991n && value <= 9007199254740991n ? Number(value) : value;
}

function integerOperands(a: Numeric, b: Numeric): [bigint, bigint] | null {
  if (a instanceof Decimal || b instanceof Decimal) return null;
  if (typeof a === 'number' && !Number.isInteger(a)) return null;
  if (typeof b === 'number' && !Number.isInteger(b)) return null;
  return [BigInt(a), BigInt(b)];
}

function numericOperands(a: Value, b: Value, operator: string): [Numeric, Numeric] {
  if (isNumeric(a) && isNumeric(b)) return [a, b];
  return fail(`${operator} needs numbers, got ${typeName(a)} and ${typeName(b)}`);
}

type ExactOperation = (x: Exact, y: Exact) => Exact;

const floatAdd = (x: number, y: number): number => x + y;
const floatSubtract = (x: number, y: number): number => x - y;
const floatMultiply = (x: number, y: number): number => x * y;

/** + - * on numbers of any kind: float for two numbers, exact when a bigint or Decimal takes part. */
function arithmetic(
  a: Value,
  b: Value,
  operator: string,
  float: (x: number, y: number) => number,
  exact: ExactOperation,
): Value {
  const [x, y] = numericOperands(a, b, operator);
  if (typeof x === 'number' && typeof y === 'number') return float(x, y);
  const operands = exactOperands(x, y);
  return operands === null ? float(toFloat(x), toFloat(y)) : exactToValue(exact(operands[0], operands[1]));
}

/** `a + b`: numbers, string concatenation, list concatenation; null when either is null. */
export function add(a: Value, b: Value): Value {
  if (typeof a === 'number' && typeof b === 'number') return a + b;
  if (a === null || b === null) return null;
  if (typeof a === 'string' || typeof b === 'string') {
    if (typeof a === 'string' && typeof b === 'string') return a + b;
    return fail(`+ joins a string only with a string, got ${typeName(a)} and ${typeName(b)} (use string(x))`);
  }
  if (Array.isArray(a) && Array.isArray(b)) return [...a, ...b];
  return arithmetic(a, b, '+', floatAdd, addExact);
}

/** `a - b`; null when either is null. */
export function subtract(a: Value, b: Value): Value {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (a === null || b === null) return null;
  return arithmetic(a, b, '-', floatSubtract, subtractExact);
}

/** `a * b`; null when either is null. */
export function multiply(a: Value, b: Value): Value {
  if (typeof a === 'number' && typeof b === 'number') return a * b;
  if (a === null || b === null) return null;
  const short =
    a instanceof Decimal && typeof b === 'number'
      ? multiplyShort(a.text, b)
      : b instanceof Decimal && typeof a === 'number'
        ? multiplyShort(b.text, a)
        : undefined;
  return short ?? arithmetic(a, b, '*', floatMultiply, multiplyExact);
}

/** `a / b`: always a floating-point number; null when either is null; fails on division by zero. */
export function divide(a: Value, b: Value): Value {
  if (a === null || b === null) return null;
  const [x, y] = numericOperands(a, b, '/');
  const divisor = toFloat(y);
  if (divisor === 0) return fail('division by zero');
  return toFloat(x) / divisor;
}

/** `a % b`: exact for integers, floating point otherwise; null when either is null; fails on modulo by zero. */
export function modulo(a: Value, b: Value): Value {
  if (a === null || b === null) return null;
  const [x, y] = numericOperands(a, b, '%');
  const integers = integerOperands(x, y);
  if (integers !== null) {
    if (integers[1] === 0n) return fail('modulo by zero');
    return normalizeInteger(integers[0] % integers[1]);
  }
  const divisor = toFloat(y);
  if (divisor === 0) return fail('modulo by zero');
  return toFloat(x) % divisor;
}

/** `-a`; null for null. */
export function negate(a: Value): Value {
  if (typeof a === 'number') return -a;
  if (a === null) return null;
  if (typeof a === 'bigint') return normalizeInteger(-a);
  if (a instanceof Decimal) return new Decimal(a.text.startsWith('-') ? a.text.slice(1) : `-${a.text}`);
  return fail(`- needs a number, got ${typeName(a)}`);
}

/** The items a comprehension walks: a list's elements or a map's keys; null for null. */
function itemsOf(collection: Value, macro: string): readonly Value[] | null {
  if (collection === null) return null;
  if (Array.isArray(collection)) return collection;
  if (isRow(collection)) return Object.keys(collection).filter((k) => collection[k] !== undefined);
  return fail(`${macro}() needs a list or a map, got ${typeName(collection)}`);
}

function predicateResult(value: Value, macro: string): boolean {
  if (value === true) return true;
  if (value === false || value === null) return false;
  return fail(`the predicate of ${macro}() must give a bool, got ${typeName(value)}`);
}

/** `c.all(x, p)`: true when p holds for every item (true for null or empty). */
export function all(collection: Value, predicate: (item: Value) => Value): boolean {
  for (const item of itemsOf(collection, 'all') ?? [])
    if (!predicateResult(predicate(item), 'all')) return false;
  return true;
}

/** `c.exists(x, p)`: true when p holds for some item (false for null or empty). */
export function exists(collection: Value, predicate: (item: Value) => Value): boolean {
  for (const item of itemsOf(collection, 'exists') ?? [])
    if (predicateResult(predicate(item), 'exists')) return true;
  return false;
}

/** `c.exists_one(x, p)`: true when p holds for exactly one item. */
export function existsOne(collection: Value, predicate: (item: Value) => Value): boolean {
  let count = 0;
  for (const item of itemsOf(collection, 'exists_one') ?? [])
    if (predicateResult(predicate(item), 'exists_one')) count++;
  return count === 1;
}

/** `c.map(x, f)` and `c.map(x, p, f)`: the items (for which p holds) transformed by f; null for null. */
export function mapItems(
  collection: Value,
  transform: (item: Value) => Value,
  predicate?: (item: Value) => Value,
): Value {
  const items = itemsOf(collection, 'map');
  if (items === null) return null;
  const out: Value[] = [];
  for (const item of items)
    if (predicate === undefined || predicateResult(predicate(item), 'map')) out.push(transform(item));
  return out;
}

/** `c.filter(x, p)`: the items for which p holds; null for null. */
export function filterItems(collection: Value, predicate: (item: Value) => Value): Value {
  const items = itemsOf(collection, 'filter');
  if (items === null) return null;
  return items.filter((item) => predicateResult(predicate(item), 'filter'));
}
