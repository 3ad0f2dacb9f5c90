import { BUILTINS } from './builtins.js';

/** A built-in function of the expression language, for documentation and config tooling. */
export interface ExpressionFunctionDoc {
  /** The name, as called: `lower(after.email)` or `after.email.lower()` (the value before the dot is the first argument). */
  readonly name: string;
  /** Arguments and result, e.g. `round(x, digits?) → number`. */
  readonly signature: string;
  /** What it does, with its null handling where that is not "null in, null out". */
  readonly description: string;
}

/**
 * Every built-in function of the expression language. Unless a row says otherwise, a null argument gives null,
 * and an argument of a type the function cannot take fails the evaluation (`EXPRESSION_EVAL`). Besides these:
 * `has(m.f)` (true when map m holds key f), and on lists (and map keys) `l.all(x, p)`, `l.exists(x, p)`,
 * `l.exists_one(x, p)`, `l.map(x, f)`, `l.map(x, p, f)`, `l.filter(x, p)`.
 *
 * | function | what it gives |
 * |---|---|
 * | `size(x) → int` | Characters (code points) of a string, bytes of bytes, items of a list, keys of a map. |
 * | `len(x) → int` | Same as size(x). |
 * | `lower(s) → string` | Lower-case. |
 * | `upper(s) → string` | Upper-case. |
 * | `trim(s) → string` | Without leading and trailing white space. |
 * | `contains(s, part) → bool` | True when s contains part. |
 * | `startsWith(s, prefix) → bool` | True when s starts with prefix. |
 * | `endsWith(s, suffix) → bool` | True when s ends with suffix. |
 * | `replace(s, old, new) → string` | Every occurrence of old (plain text, not a pattern) replaced by new. |
 * | `substring(s, start, end?) → string` | Code points from start (0-based) up to end (exclusive, default: the end); indexes are clamped to the string. |
 * | `split(s, separator) → list` | The parts of s between separators. |
 * | `join(list, separator?) → string` | The strings of a list joined by separator (default: none). |
 * | `matches(s, pattern) → bool` | True when the RE2-style pattern matches somewhere in s (anchor with ^ and $); a literal pattern is checked when the expression is compiled. Leading (?i), (?s), (?m) set flags; backreferences and lookaround are rejected. |
 * | `concat(a, b, ...) → string` | The texts of the arguments joined; null arguments are skipped (as in SQL concat). |
 * | `abs(x) → number` | Absolute value (exact for bigints and decimals). |
 * | `ceil(x) → int` | Smallest integer not below x (exact for decimals). |
 * | `floor(x) → int` | Largest integer not above x (exact for decimals). |
 * | `round(x, digits?) → number` | x rounded to digits (0 to 100, default 0) after the point, halves away from zero, computed on the decimal digits (round(1.005, 2) is 1.01); with digits > 0 a decimal stays a decimal. |
 * | `min(a, b, ...) or min(list) → value` | The smallest argument (or list item); nulls are skipped, null when all are null. |
 * | `max(a, b, ...) or max(list) → value` | The largest argument (or list item); nulls are skipped, null when all are null. |
 * | `int(x) → int` | A number truncated towards zero, an integer text parsed, a timestamp as seconds since the epoch; a bigint beyond 2^53. |
 * | `double(x) → double` | A number (lossy for big integers and decimals) or a numeric text as a floating-point number. |
 * | `decimal(x) → decimal` | A number or numeric text as an exact decimal (0.1 gives 0.1). |
 * | `coalesce(a, b, ...) → value` | The first argument that is not null, else null; later arguments are not evaluated. |
 * | `is_null(x) → bool` | True when x is null (a missing field is null). |
 * | `default(x, fallback) → value` | x, or fallback when x is null; fallback is evaluated only then. |
 * | `timestamp(s) → timestamp` | An RFC 3339 / ISO 8601 text as a timestamp (UTC when the text has no offset); fails on other text. |
 * | `year(t) → int` | UTC year of a timestamp or RFC 3339 text. |
 * | `month(t) → int` | UTC month, 1 to 12. |
 * | `day(t) → int` | UTC day of the month, 1 to 31. |
 * | `hour(t) → int` | UTC hour, 0 to 23. |
 * | `minute(t) → int` | UTC minute, 0 to 59. |
 * | `second(t) → int` | UTC second, 0 to 59. |
 * | `epoch_ms(t) → int` | Milliseconds since 1970-01-01T00:00:00Z. |
 * | `format_date(t, pattern?) → string` | ISO 8601 UTC text (2024-05-01T10:00:00.000Z), or the pattern with YYYY MM DD HH mm ss SSS replaced by the UTC parts. |
 * | `sha256(x) → string` | SHA-256 of a string (UTF-8), bytes or a number (its text), as lower-case hex. |
 * | `md5(x) → string` | MD5 as lower-case hex (for fingerprints, not security). |
 * | `hmac_sha256(x, key) → string` | HMAC-SHA-256 of x with key (string or bytes), as lower-case hex. |
 * | `type(x) → string` | The type name: null, bool, int, double, decimal, string, bytes, timestamp, list or map. |
 * | `string(x) → string` | The text of x: numbers with all their digits, timestamps in ISO 8601, bytes as UTF-8, lists and maps as JSON; null stays null. |
 */
export const EXPRESSION_FUNCTIONS: readonly ExpressionFunctionDoc[] = BUILTINS.map(
  ({ name, signature, description }) => ({
    name,
    signature,
    description,
  }),
);
