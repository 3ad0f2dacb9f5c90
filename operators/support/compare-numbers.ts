import { Decimal } from '../../runtime/decimal.js';
import { orderingDouble } from '../../runtime/expression/exact-decimal.js';

/** A number of any kind Sluice carries. */
export type Numeric = number | bigint | Decimal;

/** A finite number as sign × 0.digits × 10^exponent, with no leading or trailing zero digits. */
interface Scientific {
  readonly sign: -1 | 0 | 1;
  readonly digits: string;
  readonly exponent: number;
}

const NUMBER_TEXT = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/;

function scientific(text: string): Scientific {
  const match = NUMBER_TEXT.exec(text);
  if (match === null) throw new TypeError(`not a number: ${JSON.stringify(text)}`);
  const [, minus, whole = '', fraction = '', exponent = '0'] = match;
  const all = whole + fraction;
  const first = all.search(/[1-9]/);
  if (first < 0) return { sign: 0, digits: '', exponent: 0 };
  const digits = all.slice(first).replace(/0+$/, '');
  return { sign: minus === '-' ? -1 : 1, digits, exponent: Number(exponent) + whole.length - first };
}

/**
 * The digits a number stands for: whole numbers exactly (`2 ** 64` is 18446744073709551616, not its shortest
 * text 18446744073709552000), fractions by their shortest text (`0.1` is 0.1, as the text it was parsed from).
 */
function textOf(value: Numeric): string {
  if (typeof value === 'number' && Number.isInteger(value)) return BigInt(value).toString();
  return value.toString();
}

/** True for a value {@link compareNumbers} accepts. */
export function isNumeric(value: unknown): value is Numeric {
  return (
    (typeof value === 'number' && !Number.isNaN(value)) ||
    typeof value === 'bigint' ||
    value instanceof Decimal
  );
}

/**
 * Compares two numbers of any kind exactly (no rounding through `number`): `Decimal('0.10000000000000000001')` is
 * greater than `0.1`, `2n ** 64n + 1n` greater than `2 ** 64`. A fractional `number` counts as its shortest text
 * (`0.1` equals `Decimal('0.1')`). Returns -1, 0 or 1. Infinities compare as usual.
 */
export function compareNumbers(left: Numeric, right: Numeric): -1 | 0 | 1 {
  if (typeof left === 'number' && typeof right === 'number') return left < right ? -1 : left > right ? 1 : 0;
  if (typeof left === 'bigint' && typeof right === 'bigint') return left < right ? -1 : left > right ? 1 : 0;
  if (typeof left === 'number' && !Number.isFinite(left)) return left < 0 ? -1 : 1;
  if (typeof right === 'number' && !Number.isFinite(right)) return right < 0 ? 1 : -1;
  const x = orderingDouble(left);
  const y = x === undefined ? undefined : orderingDouble(right);
  if (x !== undefined && y !== undefined) return x < y ? -1 : x > y ? 1 : 0;
  const a = scientific(textOf(left));
  const b = scientific(textOf(right));
  if (a.sign !== b.sign) return a.sign < b.sign ? -1 : 1;
  if (a.sign === 0) return 0;
  let magnitude: -1 | 0 | 1 = 0;
  if (a.exponent !== b.exponent) magnitude = a.exponent < b.exponent ? -1 : 1;
  else if (a.digits !== b.digits) magnitude = a.digits < b.digits ? -1 : 1;
  if (magnitude === 0 || a.sign === 1) return magnitude;
  return magnitude === 1 ? -1 : 1;
}
