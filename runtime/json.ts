import { parse as parseLossless } from 'lossless-json';
import { Decimal } from './decimal.js';
import type { Value } from './record.js';

/**
 * Number texts that `JSON.parse` could change: 16 or more digits in a row (beyond 2^53, or more digits than a
 * double keeps), an exponent, a fraction ending in zero (`26.30`), or a fraction starting with six zeros (which a
 * double prints in exponent form). Matching inside a string is harmless: it only selects the slower exact parser.
 */
const NEEDS_EXACT_PARSE = /[\d.]{16}|\d[eE]|\.\d*0(?!\d)|\.0{6}/;

/**
 * The value of a JSON number's text with no loss: a `number` when it holds the text exactly, a `bigint` for
 * integers beyond 2^53, a {@link Decimal} for every other text (`26.30`, `1e400`).
 */
export function parseNumberText(text: string): number | bigint | Decimal {
  const number = Number(text);
  if (/^-?\d+$/.test(text)) return Number.isSafeInteger(number) ? number : BigInt(text);
  return String(number) === text ? number : new Decimal(text);
}

/**
 * Parses JSON without losing numeric information (see {@link parseNumberText}). Takes the native parser when the
 * text holds no number it could alter, the exact parser otherwise; both give the same result.
 * Throws `SyntaxError` on invalid JSON.
 */
export function parseJson(text: string): Value {
  if (!NEEDS_EXACT_PARSE.test(text)) return JSON.parse(text) as Value;
  return parseJsonExact(text);
}

/**
 * Parses JSON with the exact parser only (what {@link parseJson} falls back to). A repeated key keeps its last
 * value, as `JSON.parse` does, so both paths accept the same texts.
 */
export function parseJsonExact(text: string): Value {
  return parseLossless(text, null, { parseNumber: parseNumberText, onDuplicateKey: ({ newValue }) => newValue }) as Value;
}

/** Marks a raw JSON token inside a string made by `JSON.stringify`, so it can be unquoted afterwards. */
const RAW = '\u0000';
const RAW_TOKEN = /"\\u0000([^"\\]*)\\u0000"/g;

/**
 * Writes a value as JSON with no loss: `bigint` and {@link Decimal} as bare numbers with their exact digits,
 * `Date` as ISO-8601 text, `Uint8Array` as base64 text. Throws on values JSON cannot hold (NaN, Infinity).
 */
export function stringifyJson(value: Value): string {
  let raw = false;
  const text = JSON.stringify(value, function (this: Record<string, unknown>, key: string, current: unknown) {
    const original = this[key];
    if (typeof current === 'bigint') {
      raw = true;
      return `${RAW}${current.toString()}${RAW}`;
    }
    if (original instanceof Decimal) {
      raw = true;
      return `${RAW}${original.text}${RAW}`;
    }
    if (original instanceof Uint8Array) return Buffer.from(original).toString('base64');
    if (typeof current === 'number' && !Number.isFinite(current)) {
      throw new TypeError(`JSON cannot hold the number ${current} (at "${key}")`);
    }
    return current;
  });
  return raw ? text.replace(RAW_TOKEN, '$1') : text;
}
