import { createHash, createHmac } from 'node:crypto';
import { Decimal } from '../decimal.js';
import type { Value } from '../record.js';
import { formatDate, parseTimestamp } from './dates.js';
import { fail } from './eval-failure.js';
import type { RoundingMode } from './exact-decimal.js';
import {
  exactOf,
  exactOfText,
  exactToDecimal,
  exactToValue,
  roundExact,
  wholeOfShort,
} from './exact-decimal.js';
import { compilePattern } from './regex.js';
import { compare, isNumeric, isRow, toText, typeName } from './values.js';

/** Internal: one built-in function of the expression language, with what the docs say about it. */
export interface Builtin {
  readonly name: string;
  /** Fewest and most arguments (a receiver, as in `s.lower()`, counts as the first). */
  readonly minArgs: number;
  readonly maxArgs: number;
  readonly signature: string;
  readonly description: string;
  readonly call: (...args: Value[]) => Value;
}

function text(value: Value, fn: string): string {
  return typeof value === 'string' ? value : fail(`${fn}() needs a string, got ${typeName(value)}`);
}

function integer(value: Value, fn: string): number {
  const n = typeof value === 'bigint' ? Number(value) : value;
  return typeof n === 'number' && Number.isInteger(n)
    ? n
    : fail(`${fn}() needs an int, got ${typeName(value)}`);
}

function instant(value: Value, fn: string): Date {
  if (value instanceof Date) {
    return Number.isNaN(value.getTime()) ? fail(`${fn}() got an invalid timestamp`) : value;
  }
  if (typeof value === 'string') {
    return parseTimestamp(value) ?? fail(`${fn}() needs an RFC 3339 timestamp, got ${JSON.stringify(value)}`);
  }
  return fail(`${fn}() needs a timestamp or an RFC 3339 string, got ${typeName(value)}`);
}

function hashInput(value: Value, fn: string): string | Uint8Array {
  if (typeof value === 'string' || value instanceof Uint8Array) return value;
  if (typeof value === 'number' || typeof value === 'bigint' || value instanceof Decimal)
    return String(value);
  return fail(`${fn}() needs a string, bytes or a number, got ${typeName(value)}`);
}

/** Wraps a function so that any null argument gives null without calling it. */
function nullSafe(call: (...args: Value[]) => Value): (...args: Value[]) => Value {
  return (...args) => (args.includes(null) ? null : call(...args));
}

const HAS_SURROGATES = /[\uD800-\uDFFF]/;

function codePointLength(s: string): number {
  if (!HAS_SURROGATES.test(s)) return s.length;
  let count = 0;
  for (const _ of s) count++;
  return count;
}

function size(value: Value): Value {
  if (typeof value === 'string') return codePointLength(value);
  if (Array.isArray(value) || value instanceof Uint8Array) return value.length;
  if (isRow(value)) return Object.keys(value).length;
  return fail(`size() needs a string, bytes, a list or a map, got ${typeName(value)}`);
}

function substring(s: Value, start: Value, end?: Value): Value {
  const value = text(s, 'substring');
  const points = HAS_SURROGATES.test(value) ? Array.from(value) : null;
  const length = points === null ? value.length : points.length;
  const from = Math.min(Math.max(integer(start, 'substring'), 0), length);
  const to = end === undefined ? length : Math.min(Math.max(integer(end, 'substring'), from), length);
  return points === null ? value.slice(from, to) : points.slice(from, to).join('');
}

let lastPattern: string | null = null;
let lastRegex: RegExp | null = null;

/** `matches` with a pattern known only at evaluation time (a literal one is compiled with the expression). */
function matchesDynamic(s: Value, pattern: Value): Value {
  const source = text(pattern, 'matches');
  if (source !== lastPattern || lastRegex === null) {
    try {
      lastRegex = compilePattern(source);
    } catch (error) {
      return fail(`matches() got an invalid pattern ${JSON.stringify(source)}: ${(error as Error).message}`);
    }
    lastPattern = source;
  }
  return lastRegex.test(text(s, 'matches'));
}

/** `matches(s, re)` with `re` compiled at compile time. */
export function matchesCompiled(s: Value, regex: RegExp): Value {
  return s === null ? null : regex.test(text(s, 'matches'));
}

function round(value: Value, digits: Value | undefined, mode: RoundingMode, fn: string): Value {
  const places = digits === undefined ? 0 : integer(digits, fn);
  if (places < 0 || places > 100) return fail(`${fn}() needs 0 to 100 digits, got ${places}`);
  if (typeof value === 'number' && places === 0 && mode !== 'half-away') {
    const whole =
      mode === 'floor' ? Math.floor(value) : mode === 'ceil' ? Math.ceil(value) : Math.trunc(value);
    return whole === 0 ? 0 : whole;
  }
  if (!isNumeric(value)) return fail(`${fn}() needs a number, got ${typeName(value)}`);
  const whole = value instanceof Decimal && places === 0 ? wholeOfShort(value.text, mode) : undefined;
  if (whole !== undefined) return whole;
  const exact = exactOf(value);
  if (exact === null) return value;
  const rounded = roundExact(exact, places, mode);
  return value instanceof Decimal && places > 0 ? exactToDecimal(rounded) : exactToValue(rounded);
}

function extreme(args: Value[], sign: 1 | -1, fn: string): Value {
  const values = args.length === 1 && Array.isArray(args[0]) ? args[0] : args;
  let best: Value = null;
  for (const value of values) {
    if (value === null) continue;
    if (best === null || compare(value, best, `${fn}()`) * sign > 0) best = value;
  }
  return best;
}

function toInt(value: Value): Value {
  if (typeof value === 'string') {
    const trimmed = value.trim();
    if (!/^[+-]?\d+$/.test(trimmed)) return fail(`int() needs an integer text, got ${JSON.stringify(value)}`);
    return round(BigInt(trimmed), undefined, 'truncate', 'int');
  }
  if (value instanceof Date) return Math.floor(instant(value, 'int').getTime() / 1000);
  if (typeof value === 'number' && !Number.isFinite(value)) return fail(`int() cannot convert ${value}`);
  return round(value, undefined, 'truncate', 'int');
}

const FLOAT_TEXT = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

function toDouble(value: Value): Value {
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') return Number(value);
  if (value instanceof Decimal) return value.toNumber();
  if (typeof value === 'string' && FLOAT_TEXT.test(value.trim())) return Number(value);
  const shown = typeof value === 'string' ? JSON.stringify(value) : typeName(value);
  return fail(`double() needs a number or a numeric text, got ${shown}`);
}

function toDecimal(value: Value): Value {
  if (value instanceof Decimal) return value;
  const exact =
    typeof value === 'string' ? exactOfText(value.trim()) : isNumeric(value) ? exactOf(value) : null;
  if (exact === null) {
    const shown = typeof value === 'string' ? JSON.stringify(value) : typeName(value);
    return fail(`decimal() needs a finite number or a numeric text, got ${shown}`);
  }
  return exactToDecimal(exact);
}

function hash(algorithm: 'sha256' | 'md5'): (value: Value) => Value {
  return (value) => createHash(algorithm).update(hashInput(value, algorithm)).digest('hex');
}

/** Every built-in function, in the order the docs list them. */
export const BUILTINS: readonly Builtin[] = [
  {
    name: 'size',
    minArgs: 1,
    maxArgs: 1,
    signature: 'size(x) → int',
    description: 'Characters (code points) of a string, bytes of bytes, items of a list, keys of a map.',
    call: nullSafe(size),
  },
  {
    name: 'len',
    minArgs: 1,
    maxArgs: 1,
    signature: 'len(x) → int',
    description: 'Same as size(x).',
    call: nullSafe(size),
  },
  {
    name: 'lower',
    minArgs: 1,
    maxArgs: 1,
    signature: 'lower(s) → string',
    description: 'Lower-case.',
    call: nullSafe((s) => text(s, 'lower').toLowerCase()),
  },
  {
    name: 'upper',
    minArgs: 1,
    maxArgs: 1,
    signature: 'upper(s) → string',
    description: 'Upper-case.',
    call: nullSafe((s) => text(s, 'upper').toUpperCase()),
  },
  {
    name: 'trim',
    minArgs: 1,
    maxArgs: 1,
    signature: 'trim(s) → string',
    description: 'Without leading and trailing white space.',
    call: nullSafe((s) => text(s, 'trim').trim()),
  },
  {
    name: 'contains',
    minArgs: 2,
    maxArgs: 2,
    signature: 'contains(s, part) → bool',
    description: 'True when s contains part.',
    call: nullSafe((s, p) => text(s, 'contains').includes(text(p, 'contains'))),
  },
  {
    name: 'startsWith',
    minArgs: 2,
    maxArgs: 2,
    signature: 'startsWith(s, prefix) → bool',
    description: 'True when s starts with prefix.',
    call: nullSafe((s, p) => text(s, 'startsWith').startsWith(text(p, 'startsWith'))),
  },
  {
    name: 'endsWith',
    minArgs: 2,
    maxArgs: 2,
    signature: 'endsWith(s, suffix) → bool',
    description: 'True when s ends with suffix.',
    call: nullSafe((s, p) => text(s, 'endsWith').endsWith(text(p, 'endsWith'))),
  },
  {
    name: 'replace',
    minArgs: 3,
    maxArgs: 3,
    signature: 'replace(s, old, new) → string',
    description: 'Every occurrence of old (plain text, not a pattern) replaced by new.',
    call: nullSafe((s, o, n) => text(s, 'replace').replaceAll(text(o, 'replace'), text(n, 'replace'))),
  },
  {
    name: 'substring',
    minArgs: 2,
    maxArgs: 3,
    signature: 'substring(s, start, end?) → string',
    description:
      'Code points from start (0-based) up to end (exclusive, default: the end); indexes are clamped to the string.',
    call: nullSafe(substring),
  },
  {
    name: 'split',
    minArgs: 2,
    maxArgs: 2,
    signature: 'split(s, separator) → list',
    description: 'The parts of s between separators.',
    call: nullSafe((s, sep) => text(s, 'split').split(text(sep, 'split'))),
  },
  {
    name: 'join',
    minArgs: 1,
    maxArgs: 2,
    signature: 'join(list, separator?) → string',
    description: 'The strings of a list joined by separator (default: none).',
    call: nullSafe((list, sep) => {
      if (!Array.isArray(list)) return fail(`join() needs a list, got ${typeName(list)}`);
      return list.map((item) => text(item, 'join')).join(sep === undefined ? '' : text(sep, 'join'));
    }),
  },
  {
    name: 'matches',
    minArgs: 2,
    maxArgs: 2,
    signature: 'matches(s, pattern) → bool',
    description:
      'True when the RE2-style pattern matches somewhere in s (anchor with ^ and $); a literal pattern is checked when the expression is compiled. Leading (?i), (?s), (?m) set flags; backreferences and lookaround are rejected.',
    call: nullSafe(matchesDynamic),
  },
  {
    name: 'concat',
    minArgs: 1,
    maxArgs: 32,
    signature: 'concat(a, b, ...) → string',
    description: 'The texts of the arguments joined; null arguments are skipped (as in SQL concat).',
    call: (...args) =>
      args
        .map(toText)
        .filter((t) => t !== null)
        .join(''),
  },
  {
    name: 'abs',
    minArgs: 1,
    maxArgs: 1,
    signature: 'abs(x) → number',
    description: 'Absolute value (exact for bigints and decimals).',
    call: nullSafe((x) => {
      if (typeof x === 'number') return Math.abs(x);
      if (typeof x === 'bigint') return x < 0n ? -x : x;
      if (x instanceof Decimal) return new Decimal(x.text.replace(/^-/, ''));
      return fail(`abs() needs a number, got ${typeName(x)}`);
    }),
  },
  {
    name: 'ceil',
    minArgs: 1,
    maxArgs: 1,
    signature: 'ceil(x) → int',
    description: 'Smallest integer not below x (exact for decimals).',
    call: nullSafe((x) => round(x, undefined, 'ceil', 'ceil')),
  },
  {
    name: 'floor',
    minArgs: 1,
    maxArgs: 1,
    signature: 'floor(x) → int',
    description: 'Largest integer not above x (exact for decimals).',
    call: nullSafe((x) => round(x, undefined, 'floor', 'floor')),
  },
  {
    name: 'round',
    minArgs: 1,
    maxArgs: 2,
    signature: 'round(x, digits?) → number',
    description:
      'x rounded to digits (0 to 100, default 0) after the point, halves away from zero, computed on the decimal digits (round(1.005, 2) is 1.01); with digits > 0 a decimal stays a decimal.',
    call: nullSafe((x, d) => round(x, d, 'half-away', 'round')),
  },
  {
    name: 'min',
    minArgs: 1,
    maxArgs: 32,
    signature: 'min(a, b, ...) or min(list) → value',
    description: 'The smallest argument (or list item); nulls are skipped, null when all are null.',
    call: (...args) => extreme(args, -1, 'min'),
  },
  {
    name: 'max',
    minArgs: 1,
    maxArgs: 32,
    signature: 'max(a, b, ...) or max(list) → value',
    description: 'The largest argument (or list item); nulls are skipped, null when all are null.',
    call: (...args) => extreme(args, 1, 'max'),
  },
  {
    name: 'int',
    minArgs: 1,
    maxArgs: 1,
    signature: 'int(x) → int',
    description:
      'A number truncated towards zero, an integer text parsed, a timestamp as seconds since the epoch; a bigint beyond 2^53.',
    call: nullSafe(toInt),
  },
  {
    name: 'double',
    minArgs: 1,
    maxArgs: 1,
    signature: 'double(x) → double',
    description:
      'A number (lossy for big integers and decimals) or a numeric text as a floating-point number.',
    call: nullSafe(toDouble),
  },
  {
    name: 'decimal',
    minArgs: 1,
    maxArgs: 1,
    signature: 'decimal(x) → decimal',
    description: 'A number or numeric text as an exact decimal (0.1 gives 0.1).',
    call: nullSafe(toDecimal),
  },
  {
    name: 'coalesce',
    minArgs: 1,
    maxArgs: 32,
    signature: 'coalesce(a, b, ...) → value',
    description: 'The first argument that is not null, else null; later arguments are not evaluated.',
    call: (...args) => args.find((a) => a !== null) ?? null,
  },
  {
    name: 'is_null',
    minArgs: 1,
    maxArgs: 1,
    signature: 'is_null(x) → bool',
    description: 'True when x is null (a missing field is null).',
    call: (x) => x === null,
  },
  {
    name: 'default',
    minArgs: 2,
    maxArgs: 2,
    signature: 'default(x, fallback) → value',
    description: 'x, or fallback when x is null; fallback is evaluated only then.',
    call: (x, d) => x ?? d ?? null,
  },
  {
    name: 'timestamp',
    minArgs: 1,
    maxArgs: 1,
    signature: 'timestamp(s) → timestamp',
    description:
      'An RFC 3339 / ISO 8601 text as a timestamp (UTC when the text has no offset); fails on other text.',
    call: nullSafe((s) => instant(s, 'timestamp')),
  },
  {
    name: 'year',
    minArgs: 1,
    maxArgs: 1,
    signature: 'year(t) → int',
    description: 'UTC year of a timestamp or RFC 3339 text.',
    call: nullSafe((t) => instant(t, 'year').getUTCFullYear()),
  },
  {
    name: 'month',
    minArgs: 1,
    maxArgs: 1,
    signature: 'month(t) → int',
    description: 'UTC month, 1 to 12.',
    call: nullSafe((t) => instant(t, 'month').getUTCMonth() + 1),
  },
  {
    name: 'day',
    minArgs: 1,
    maxArgs: 1,
    signature: 'day(t) → int',
    description: 'UTC day of the month, 1 to 31.',
    call: nullSafe((t) => instant(t, 'day').getUTCDate()),
  },
  {
    name: 'hour',
    minArgs: 1,
    maxArgs: 1,
    signature: 'hour(t) → int',
    description: 'UTC hour, 0 to 23.',
    call: nullSafe((t) => instant(t, 'hour').getUTCHours()),
  },
  {
    name: 'minute',
    minArgs: 1,
    maxArgs: 1,
    signature: 'minute(t) → int',
    description: 'UTC minute, 0 to 59.',
    call: nullSafe((t) => instant(t, 'minute').getUTCMinutes()),
  },
  {
    name: 'second',
    minArgs: 1,
    maxArgs: 1,
    signature: 'second(t) → int',
    description: 'UTC second, 0 to 59.',
    call: nullSafe((t) => instant(t, 'second').getUTCSeconds()),
  },
  {
    name: 'epoch_ms',
    minArgs: 1,
    maxArgs: 1,
    signature: 'epoch_ms(t) → int',
    description: 'Milliseconds since 1970-01-01T00:00:00Z.',
    call: nullSafe((t) => instant(t, 'epoch_ms').getTime()),
  },
  {
    name: 'format_date',
    minArgs: 1,
    maxArgs: 2,
    signature: 'format_date(t, pattern?) → string',
    description:
      'ISO 8601 UTC text (2024-05-01T10:00:00.000Z), or the pattern with YYYY MM DD HH mm ss SSS replaced by the UTC parts.',
    call: nullSafe((t, p) =>
      formatDate(instant(t, 'format_date'), p === undefined ? undefined : text(p, 'format_date')),
    ),
  },
  {
    name: 'sha256',
    minArgs: 1,
    maxArgs: 1,
    signature: 'sha256(x) → string',
    description: 'SHA-256 of a string (UTF-8), bytes or a number (its text), as lower-case hex.',
    call: nullSafe(hash('sha256')),
  },
  {
    name: 'md5',
    minArgs: 1,
    maxArgs: 1,
    signature: 'md5(x) → string',
    description: 'MD5 as lower-case hex (for fingerprints, not security).',
    call: nullSafe(hash('md5')),
  },
  {
    name: 'hmac_sha256',
    minArgs: 2,
    maxArgs: 2,
    signature: 'hmac_sha256(x, key) → string',
    description: 'HMAC-SHA-256 of x with key (string or bytes), as lower-case hex.',
    call: nullSafe((x, key) => {
      const secret =
        typeof key === 'string' || key instanceof Uint8Array
          ? key
          : fail(`hmac_sha256() needs a string or bytes key, got ${typeName(key)}`);
      return createHmac('sha256', secret).update(hashInput(x, 'hmac_sha256')).digest('hex');
    }),
  },
  {
    name: 'type',
    minArgs: 1,
    maxArgs: 1,
    signature: 'type(x) → string',
    description: 'The type name: null, bool, int, double, decimal, string, bytes, timestamp, list or map.',
    call: (x) => typeName(x),
  },
  {
    name: 'string',
    minArgs: 1,
    maxArgs: 1,
    signature: 'string(x) → string',
    description:
      'The text of x: numbers with all their digits, timestamps in ISO 8601, bytes as UTF-8, lists and maps as JSON; null stays null.',
    call: toText,
  },
];
