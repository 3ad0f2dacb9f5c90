import { parse as parseLossless } from 'lossless-json';
import { Decimal } from './decimal.js';
import type { Value } from './record.js';

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
 * Parses JSON without losing numeric information (see {@link parseNumberText}). The native parser reads the text;
 * number tokens it would alter (`26.30`, `1e400`, integers beyond 2^53) are first wrapped in marked strings and put
 * back exactly afterwards. Texts that hold the `\u0000` escape (which the mark could be confused with) go to
 * {@link parseJsonExact}; every path gives the same result. Throws `SyntaxError` on invalid JSON.
 */
export function parseJson(text: string): Value {
  const inexact = inexactNumberTokens(text);
  if (inexact === null) return JSON.parse(text) as Value;
  if (text.includes('\\u0000')) return parseJsonExact(text);
  let marked = '';
  let from = 0;
  for (let index = 0; index < inexact.length; index += 2) {
    const token = text.slice(inexact[index], inexact[index + 1]);
    // Wrapped, a malformed token (`01.50`) would become valid: leave it to the exact parser to refuse.
    if (!JSON_NUMBER.test(token)) return parseJsonExact(text);
    marked += `${text.slice(from, inexact[index])}"\\u0000${token}"`;
    from = inexact[index + 1]!;
  }
  return restoreMarkedNumbers(JSON.parse(marked + text.slice(from)) as Value);
}

/**
 * Parses JSON with the exact parser only (what {@link parseJson} falls back to). A repeated key keeps its last
 * value, as `JSON.parse` does, so both paths accept the same texts.
 */
export function parseJsonExact(text: string): Value {
  return parseLossless(text, null, { parseNumber: parseNumberText, onDuplicateKey: ({ newValue }) => newValue }) as Value;
}

/** A number token as JSON's grammar has it. */
const JSON_NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;

/** The mark {@link parseJson} puts before a number token it wraps in a string. */
const NUMBER_MARK = '\u0000';

/**
 * The `[start, end)` offsets, flattened, of the number tokens outside strings whose `JSON.parse` value would differ
 * from {@link parseNumberText}'s, or null when there is none. A scan of char codes: strings are skipped, integers
 * of up to 15 digits are exact without a look, other tokens are compared with their double's text.
 */
function inexactNumberTokens(text: string): number[] | null {
  let found: number[] | null = null;
  const length = text.length;
  let index = 0;
  while (index < length) {
    const code = text.charCodeAt(index);
    if (code === 0x22 /* " */) {
      let end = text.indexOf('"', index + 1);
      while (end !== -1 && escaped(text, end)) end = text.indexOf('"', end + 1);
      if (end === -1) return found;
      index = end + 1;
      continue;
    }
    if (code !== 0x2d /* - */ && (code < 0x30 || code > 0x39)) {
      index++;
      continue;
    }
    const start = index;
    let digits = 0;
    let plain = true;
    for (; index < length; index++) {
      const char = text.charCodeAt(index);
      if (char >= 0x30 && char <= 0x39) digits++;
      else if (char === 0x2e /* . */ || char === 0x65 /* e */ || char === 0x45 /* E */ || char === 0x2b /* + */)
        plain = false;
      else if (char !== 0x2d) break;
    }
    if (plain && digits <= 15) continue;
    const token = text.slice(start, index);
    const exact = plain ? Number.isSafeInteger(Number(token)) : String(Number(token)) === token;
    if (!exact) (found ??= []).push(start, index);
  }
  return found;
}

/** Whether the character at `index` follows an odd run of backslashes. */
function escaped(text: string, index: number): boolean {
  let start = index;
  while (start > 0 && text.charCodeAt(start - 1) === 0x5c /* \\ */) start--;
  return (index - start) % 2 === 1;
}

/** Replaces, in place, every marked string {@link parseJson} made with the exact value of its number token. */
function restoreMarkedNumbers(value: Value): Value {
  if (typeof value === 'string')
    return value.startsWith(NUMBER_MARK) ? parseNumberText(value.slice(NUMBER_MARK.length)) : value;
  if (Array.isArray(value)) {
    for (let index = 0; index < value.length; index++) value[index] = restoreMarkedNumbers(value[index]!);
    return value;
  }
  if (value !== null && typeof value === 'object') {
    const object = value as Record<string, Value>;
    for (const key of Object.keys(object)) {
      // A number where a key belongs (`{26.30:1}`) is invalid JSON, though wrapped it parsed.
      if (key.startsWith(NUMBER_MARK)) throw new SyntaxError(`expected a string key in JSON, got ${key.slice(1)}`);
      const item = object[key]!;
      const restored = restoreMarkedNumbers(item);
      // defineProperty, not assignment: a key named __proto__ must stay an own property.
      if (restored !== item)
        Object.defineProperty(object, key, { value: restored, writable: true, enumerable: true, configurable: true });
    }
  }
  return value;
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
