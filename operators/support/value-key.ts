import { Decimal } from '../../runtime/decimal.js';
import { stringifyJson } from '../../runtime/json.js';
import type { Value } from '../../runtime/record.js';

function part(value: Value | undefined): string {
  if (value === undefined || value === null) return 'z';
  if (typeof value === 'string') return `s${value}`;
  if (typeof value === 'number' && Number.isInteger(value)) return `n${BigInt(value).toString()}`;
  if (typeof value === 'number' || typeof value === 'bigint') return `n${value.toString()}`;
  if (value instanceof Decimal) return `n${value.text}`;
  if (typeof value === 'boolean') return value ? 'b1' : 'b0';
  if (value instanceof Date) return `d${value.getTime()}`;
  if (value instanceof Uint8Array) return `x${Buffer.from(value).toString('hex')}`;
  return `j${stringifyJson(value)}`;
}

/**
 * One string that identifies a tuple of values, for keyed state (dedup and uniqueness windows). Equal values give
 * equal keys across kinds where Sluice treats them as equal (`42` and `42n`); a missing field and null are the
 * same; `Decimal('1.50')` and `1.5` differ, as their digits do.
 */
export function valueKey(values: readonly (Value | undefined)[]): string {
  if (values.length === 1) return part(values[0]);
  return JSON.stringify(values.map(part));
}
