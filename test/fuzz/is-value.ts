import { Decimal } from '../../runtime/decimal.js';

/**
 * Where `value` is not a Sluice `Value` (runtime/record.ts): the path of the first part that is not (`undefined`, a
 * Map, a Set, an object with a prototype of its own, an invalid Date), or undefined when it is.
 */
export function notAValue(value: unknown, path = '$'): string | undefined {
  const type = typeof value;
  if (value === null || type === 'boolean' || type === 'number' || type === 'bigint' || type === 'string')
    return undefined;
  if (value instanceof Decimal || value instanceof Uint8Array) return undefined;
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? `${path} is an invalid Date` : undefined;
  if (Array.isArray(value)) {
    for (let index = 0; index < value.length; index++) {
      const found = notAValue(value[index], `${path}[${index}]`);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  if (typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    for (const [key, item] of Object.entries(value)) {
      const found = notAValue(item, `${path}.${key}`);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  return `${path} is ${typeof value === 'object' ? `a ${value.constructor?.name ?? 'prototype-less object'}` : typeof value}`;
}
