import type { Row, Value } from './record.js';

/** A function building an object with one name list's properties from their values. */
type ObjectMaker = (values: readonly (Value | undefined)[]) => Row;

/** Name lists given a maker, at most: lists met beyond it are built the plain way (fields may vary per message). */
const MAX_SHAPES = 256;
const makers = new Map<string, ObjectMaker>();
let last: { readonly names: readonly string[]; readonly make: ObjectMaker } | undefined;

/**
 * `{ [names[i]]: values[i] }` for every i (later names win), built so that V8 keeps it in fast mode. An object that
 * gets more than about 14 properties by computed-key assignment turns into a hash table in V8, which for a
 * CockroachDB record's ~24 source fields measured 2.5 KB retained per record against 1.1 KB, and every read of
 * it slower. So each name list gets, once, a function returning an object literal with those names (names are
 * embedded as JSON string literals, so any text is safe); the last list is compared first, as records of one
 * source nearly always share it. Undefined values become properties holding undefined.
 */
export function objectFromFields(names: readonly string[], values: readonly (Value | undefined)[]): Row {
  if (last !== undefined && sameNames(last.names, names)) return last.make(values);
  const own = [...names];
  const signature = own.join('\0');
  let make = makers.get(signature);
  if (make === undefined && makers.size < MAX_SHAPES) makers.set(signature, (make = makerFor(own)));
  make ??= (values) => assigned(own, values);
  last = { names: own, make };
  return make(values);
}

function makerFor(names: readonly string[]): ObjectMaker {
  // `__proto__` in a literal would set the prototype, and repeated names need the last to win: build those by hand.
  if (names.includes('__proto__') || new Set(names).size !== names.length)
    return (values) => assigned(names, values);
  const properties = names.map((name, index) => `${JSON.stringify(name)}: values[${index}]`).join(', ');
  // eslint-disable-next-line @typescript-eslint/no-implied-eval -- the generated code holds only JSON string literals and indexes.
  return new Function('values', `return { ${properties} };`) as ObjectMaker;
}

function assigned(names: readonly string[], values: readonly (Value | undefined)[]): Row {
  const row: Record<string, Value | undefined> = {};
  names.forEach((name, index) =>
    Object.defineProperty(row, name, {
      value: values[index],
      writable: true,
      enumerable: true,
      configurable: true,
    }),
  );
  return row as Row;
}

function sameNames(left: readonly string[], right: readonly string[]): boolean {
  if (left.length !== right.length) return false;
  for (let index = 0; index < left.length; index++) if (left[index] !== right[index]) return false;
  return true;
}
