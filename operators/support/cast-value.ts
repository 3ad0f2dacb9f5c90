import { Decimal } from '../../runtime/decimal.js';
import { SluiceError } from '../../runtime/errors.js';
import { parseJson, parseNumberText, stringifyJson } from '../../runtime/json.js';
import type { Value } from '../../runtime/record.js';
import { describeValue } from './describe-value.js';

/** The types `transform`'s `cast` converts to. */
export const CAST_TYPES = ['string', 'integer', 'number', 'decimal', 'boolean', 'timestamp', 'json'] as const;

/** A type `transform`'s `cast` converts to. */
export type CastType = (typeof CAST_TYPES)[number];

const NUMBER_TEXT = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/;
/** Digits an integer cast will write out from exponent form (`1e400` is refused rather than expanded). */
const MAX_INTEGER_DIGITS = 400;
const TRUE_TEXT = new Set(['true', 't', 'yes', 'y', 'on', '1']);
const FALSE_TEXT = new Set(['false', 'f', 'no', 'n', 'off', '0']);
/** More than three fraction digits in the seconds: a `Date` would drop them. */
const SUB_MILLISECOND = /:\d\d\.\d{4,}/;

function refuse(value: Value, type: CastType, why = ''): never {
  throw new SluiceError(
    'CAST_FAILED',
    `expected a value convertible to ${type}${why}, got ${describeValue(value)}`,
  );
}

/** The integer a number text denotes, or null when it has a non-zero fraction. */
function integerOfText(text: string): number | bigint | null {
  const match = NUMBER_TEXT.exec(text);
  if (match === null) return null;
  const [, minus = '', whole = '', fraction = '', exponent = '0'] = match;
  const digits = whole + fraction;
  const point = whole.length + Number(exponent);
  if (point > MAX_INTEGER_DIGITS) return null;
  if (point <= 0) return /^0*$/.test(digits) ? 0 : null;
  if (!/^0*$/.test(digits.slice(point))) return null;
  const integer = digits
    .slice(0, point)
    .padEnd(point, '0')
    .replace(/^0+(?=\d)/, '');
  const result = parseNumberText(integer === '0' ? integer : minus + integer);
  return result instanceof Decimal ? null : result;
}

function toInteger(value: Value): Value {
  if (typeof value === 'bigint') return Number.isSafeInteger(Number(value)) ? Number(value) : value;
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) refuse(value, 'integer', ' without a fraction');
    return Number.isSafeInteger(value) ? value : BigInt(value);
  }
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (typeof value === 'string' || value instanceof Decimal) {
    const integer = integerOfText(value.toString().trim());
    if (integer === null) refuse(value, 'integer', ' (whole number text)');
    return integer;
  }
  return refuse(value, 'integer');
}

function toNumber(value: Value): Value {
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint' || value instanceof Decimal) return Number(value.toString());
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (typeof value === 'string' && NUMBER_TEXT.test(value.trim())) return Number(value.trim());
  return refuse(value, 'number');
}

function toDecimal(value: Value): Value {
  if (value instanceof Decimal) return value;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) refuse(value, 'decimal', ' (a finite number)');
    return new Decimal(String(value));
  }
  if (typeof value === 'bigint') return new Decimal(value.toString());
  if (typeof value === 'string' && NUMBER_TEXT.test(value.trim())) return new Decimal(value.trim());
  return refuse(value, 'decimal');
}

function toBoolean(value: Value): Value {
  if (typeof value === 'boolean') return value;
  if (
    (typeof value === 'number' || typeof value === 'bigint') &&
    (Number(value) === 0 || Number(value) === 1)
  ) {
    return Number(value) === 1;
  }
  if (typeof value === 'string') {
    const text = value.trim().toLowerCase();
    if (TRUE_TEXT.has(text)) return true;
    if (FALSE_TEXT.has(text)) return false;
  }
  return refuse(value, 'boolean', ' (true/false, t/f, yes/no, y/n, on/off, 1/0)');
}

function toTimestamp(value: Value): Value {
  let result: Date | null = null;
  if (value instanceof Date) result = value;
  else if (typeof value === 'number' || typeof value === 'bigint' || value instanceof Decimal) {
    result = new Date(Number(value.toString()));
  } else if (typeof value === 'string') {
    const text = value.trim();
    result = /^-?\d+$/.test(text) ? new Date(Number(text)) : new Date(text);
    // Keep text with sub-millisecond digits as it came (validated), as a Date would drop them.
    if (!Number.isNaN(result.getTime()) && SUB_MILLISECOND.test(text)) return text;
  }
  if (result === null || Number.isNaN(result.getTime())) {
    refuse(value, 'timestamp', ' (ISO-8601 text, epoch milliseconds or a date)');
  }
  return result;
}

function toJson(value: Value): Value {
  if (typeof value !== 'string') return value;
  try {
    return parseJson(value);
  } catch {
    return refuse(value, 'json', ' (JSON text)');
  }
}

function toText(value: Value): Value {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint')
    return String(value);
  if (value instanceof Decimal) return value.text;
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) refuse(value, 'string', ' (a valid date)');
    return value.toISOString();
  }
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  try {
    return stringifyJson(value);
  } catch {
    return refuse(value, 'string', ' (JSON-representable)');
  }
}

const CONVERTERS: Record<CastType, (value: Value) => Value> = {
  string: toText,
  integer: toInteger,
  number: toNumber,
  decimal: toDecimal,
  boolean: toBoolean,
  timestamp: toTimestamp,
  json: toJson,
};

/**
 * Converts a value to `type` without silent loss where Sluice can avoid it: `"26.30"` to decimal stays `26.30`;
 * integer refuses a fraction; timestamp keeps text whose sub-millisecond digits a `Date` would drop (after
 * checking it parses); json parses text losslessly and leaves structured values alone; string writes dates as
 * ISO-8601, bytes as base64, objects as JSON. `number` is the one lossy cast, by request. Null stays null.
 *
 * Throws a `SluiceError` with code `CAST_FAILED` when the value cannot be converted.
 */
export function castValue(value: Value, type: CastType): Value {
  if (value === null) return null;
  return CONVERTERS[type](value);
}
