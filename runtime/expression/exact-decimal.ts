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

/** The text of `units / 10^scale` from the digits of `|units|`. */
function pointText(negative: boolean, digits: string, scale: number): string {
  if (scale === 0) return (negative ? '-' : '') + digits;
  const padded = digits.padStart(scale + 1, '0');
  const point = padded.length - scale;
  return `${negative ? '-' : ''}${padded.slice(0, point)}.${padded.slice(point)}`;
}

/** The digits of `value`, without exponent (`units 2630, scale 2` is `26.30`). */
export function exactText(value: Exact): string {
  const negative = value.units < 0n;
  return pointText(negative, (negative ? -value.units : value.units).toString(), value.scale);
}

/** `value` as a Sluice value: a number when a number holds it exactly, a bigint for big integers, else a Decimal. */
export function exactToValue(value: Exact): number | bigint | Decimal {
  return parseNumberText(exactText(value));
}

/** `value` as a Decimal, always (the result of `decimal(x)`). */
export function exactToDecimal(value: Exact): Decimal {
  return new Decimal(exactText(value));
}

/** Longest number text whose digits a double holds exactly (15 digits at most, whatever the sign and point). */
const SHORT_TEXT_LENGTH = 15;
/** 10^0 to 10^15, exact as doubles. */
const POWERS_OF_TEN: readonly number[] = Array.from({ length: SHORT_TEXT_LENGTH + 1 }, (_, i) => 10 ** i);

/**
 * True for a number text without exponent and of at most 15 characters. Such a text has at most 15 significant
 * digits, so `Number(text)` is the only double nearest to it: distinct short texts give distinct doubles, in the
 * same order, and every integer with at most 15 digits is exact. Fast paths rely on that.
 */
export function isShortText(text: string): boolean {
  if (text.length > SHORT_TEXT_LENGTH) return false;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code === 101 || code === 69) return false;
  }
  return true;
}

/**
 * `Decimal(text) * factor` as {@link exactToValue} gives it, computed in doubles: for a short text (see
 * {@link isShortText}) and a safe-integer factor whose product stays a safe integer; else undefined (the caller
 * takes the exact path).
 */
export function multiplyShort(text: string, factor: number): number | bigint | Decimal | undefined {
  if (!Number.isSafeInteger(factor) || !isShortText(text)) return undefined;
  const point = text.indexOf('.');
  const scale = point < 0 ? 0 : text.length - point - 1;
  // The text's units are below 10^15, so the rounding error of Number(text) * 10^scale stays far below one half.
  const product = Math.round(Number(text) * POWERS_OF_TEN[scale]!) * factor;
  if (!Number.isSafeInteger(product)) return undefined;
  if (scale === 0) return product === 0 ? 0 : product;
  const negative = product < 0;
  const digits = pointText(negative, String(negative ? -product : product), scale);
  // As parseNumberText(digits) decides: a number when its shortest text is `digits` (never with a trailing zero).
  if (product % 10 !== 0) {
    const value = product / POWERS_OF_TEN[scale]!;
    if (String(value) === digits) return value;
  }
  return new Decimal(digits);
}

/**
 * A short number text (see {@link isShortText}) rounded to a whole number towards -infinity (`floor`), +infinity
 * (`ceil`) or zero (`truncate`), as a number; undefined for other texts or modes (the caller takes the exact path).
 */
export function wholeOfShort(text: string, mode: RoundingMode): number | undefined {
  if (mode === 'half-away' || !isShortText(text)) return undefined;
  const value = Number(text);
  const whole = mode === 'floor' ? Math.floor(value) : mode === 'ceil' ? Math.ceil(value) : Math.trunc(value);
  return whole === 0 ? 0 : whole;
}

/**
 * The double that orders exactly as a number, bigint or Decimal does against any other value this returns: a short
 * Decimal text's double (see {@link isShortText}), an integer number below 10^15 in magnitude, a fractional number
 * whose shortest text is short; undefined otherwise (compare exactly).
 */
export function orderingDouble(value: number | bigint | Decimal): number | undefined {
  if (typeof value === 'number') {
    if (Number.isInteger(value)) return Math.abs(value) < 1e15 ? value : undefined;
    return Number.isFinite(value) && isShortText(String(value)) ? value : undefined;
  }
  if (typeof value === 'bigint') return undefined;
  return isShortText(value.text) ? Number(value.text) : undefined;
}
