import { Decimal } from '../../runtime/decimal.js';
import type { Value } from '../../runtime/record.js';

const RANGES: Record<string, readonly [bigint, bigint]> = {
  smallint: [-(2n ** 15n), 2n ** 15n - 1n],
  integer: [-(2n ** 31n), 2n ** 31n - 1n],
  bigint: [-(2n ** 63n), 2n ** 63n - 1n],
};

/**
 * The wider type an existing column needs to hold `value` without loss, or null when it holds it already (or
 * when no compatible widening exists: then Postgres refuses the value and the record is isolated).
 * Widenings: `smallint`/`integer` → `bigint` → `numeric` by the value's magnitude and fraction, `real` →
 * `double precision` when a number has more precision than a float4 keeps, `real`/`double precision` → `numeric`
 * for a {@link Decimal} (exact digits a float would round, such as `26.30`).
 */
export function widenedType(columnType: string, value: Value): string | null {
  if ((columnType === 'real' || columnType === 'double precision') && value instanceof Decimal)
    return 'numeric';
  const range = RANGES[columnType];
  if (range) {
    const integer = integerOf(value);
    if (integer === undefined) return null;
    if (integer === null) return 'numeric';
    if (integer >= range[0] && integer <= range[1]) return null;
    return integer >= RANGES.bigint![0] && integer <= RANGES.bigint![1] ? 'bigint' : 'numeric';
  }
  if (
    columnType === 'real' &&
    typeof value === 'number' &&
    Math.fround(value) !== value &&
    Number.isFinite(value)
  )
    return 'double precision';
  return null;
}

/** The integer a numeric value holds; null for a numeric value with a fraction; undefined for a non-number. */
function integerOf(value: Value): bigint | null | undefined {
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number')
    return Number.isInteger(value) ? BigInt(value) : Number.isFinite(value) ? null : undefined;
  if (value instanceof Decimal) return /^-?\d+$/.test(value.text) ? BigInt(value.text) : null;
  return undefined;
}
