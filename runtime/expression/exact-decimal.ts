import { Decimal } from '../decimal.js';
import { parseNumberText } from '../json.js';

/**
 * Internal: exact decimal arithmetic for expressions. A number is `units / 10^scale` with `scale >= 0`; numbers,
 * bigints and {@link Decimal}s convert to it without rounding (a `number` by its shortest round-trip text, so `0.1`
 * is exactly one tenth). Texts with exponents beyond {@link MAX_EXPONENT} do not convert: callers fall back to
 * floating point for them.
 */
export interface Exact {
  readonly units: bigint;
  readonly scale: number;
}

/** Larger exponents would build huge bigints (`1e1000000`); such values are compared as floating point. */
const MAX_EXPONENT = 400;
const DECIMAL_TEXT = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;

/**
 * The exact value of a number's text (`26.30`, `-1.5e-7`, also `+5`, `.5`, `5.`), or null when it is not one or
 * has no exact form here (huge exponent).
 */
export function exactOfText(text: string): Exact | null {
  const match = DECIMAL_TEXT.exec(text);
  if (match === null) return null;
  const [, sign = '', whole = '', fraction = '', exponentText] = match;
  if (whole === '' && fraction === '') return null;
  const exponent = exponentText === undefined ? 0 : Number(exponentText);
  if (Math.abs(exponent) > MAX_EXPONENT) return null;
  let units = BigInt((sign === '-' ? '-' : '') + (whole + fraction || '0'));
  let scale = fraction.length - exponent;
  if (scale < 0) {
    units *= 10n ** BigInt(-scale);
    scale = 0;
  }
  return { units, scale };
}

/** The exact value of a number, bigint or Decimal, or null (see {@link exactOfText}). */
export function exactOf(value: number | bigint | Decimal): Exact | null {
  if (typeof value === 'bigint') return { units: value, scale: 0 };
  if (typeof value === 'number') return Number.isFinite(value) ? exactOfText(String(value)) : null;
  return exactOfText(value.text);
}

function rescale(value: Exact, scale: number): bigint {
  return value.units * 10n ** BigInt(scale - value.scale);
}

/** -1, 0 or 1 as `a` is below, equal to or above `b`. */
export function compareExact(a: Exact, b: Exact): number {
  const scale = Math.max(a.scale, b.scale);
  const x = rescale(a, scale);
  const y = rescale(b, scale);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** `a + b`, exactly. */
export function addExact(a: Exact, b: Exact): Exact {
  const scale = Math.max(a.scale, b.scale);
  return { units: rescale(a, scale) + rescale(b, scale), scale };
}

/** `a - b`, exactly. */
export function subtractExact(a: Exact, b: Exact): Exact {
  const scale = Math.max(a.scale, b.scale);
  return { units: rescale(a, scale) - rescale(b, scale), scale };
}

/** `a * b`, exactly (the scales add up, as in SQL: `1.50 * 2` is `3.00`). */
export function multiplyExact(a: Exact, b: Exact): Exact {
  return { units: a.units * b.units, scale: a.scale + b.scale };
}

/** How to drop digits: to nearest with halves away from zero, towards -infinity, towards +infinity, towards zero. */
export type RoundingMode = 'half-away' | 'floor' | 'ceil' | 'truncate';

/** `value` with at most `digits` digits after the point (`digits >= 0`). */
export function roundExact(value: Exact, digits: number, mode: RoundingMode): Exact {
  if (value.scale <= digits) return value;
  const divisor = 10n ** BigInt(value.scale - digits);
  let quotient = value.units / divisor;
  const remainder = value.units % divisor;
  if (remainder !== 0n) {
    const negative = value.units < 0n;
    if (mode === 'floor' && negative) quotient -= 1n;
    else if (mode === 'ceil' && !negative) quotient += 1n;
    else if (mode === 'half-away') {
      const twice = (remainder < 0n ? -remainder : remainder) * 2n;
      if (twice >= divisor) quotient += negative ? -1n : 1n;
    }
  }
  return { units: quotient, scale: digits };
}

/** The digits of `value`, without exponent (`units 2630, scale 2` is `26.30`). */
export function exactText(value: Exact): string {
  const negative = value.units < 0n;
  const digits = (negative ? -value.units : value.units).toString();
  if (value.scale === 0) return (negative ? '-' : '') + digits;
  const padded = digits.padStart(value.scale + 1, '0');
  const point = padded.length - value.scale;
  return `${negative ? '-' : ''}${padded.slice(0, point)}.${padded.slice(point)}`;
}

/** `value` as a Sluice value: a number when a number holds it exactly, a bigint for big integers, else a Decimal. */
export function exactToValue(value: Exact): number | bigint | Decimal {
  return parseNumberText(exactText(value));
}

/** `value` as a Decimal, always (the result of `decimal(x)`). */
export function exactToDecimal(value: Exact): Decimal {
  return new Decimal(exactText(value));
}
