import { SluiceError } from '../errors.js';
import { describeValue } from './describe-value.js';

const MS_PER_UNIT: Readonly<Record<string, number>> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

/** One or more `<number><unit>` parts (`200ms`, `1m30s`), or a bare number of milliseconds. */
const DURATION_TEXT = /^\s*(?:\d+(?:\.\d+)?\s*(?:ms|s|m|h)\s*)+$|^\s*\d+(?:\.\d+)?\s*$/;
const DURATION_PART = /(\d+(?:\.\d+)?)\s*(ms|s|m|h)/g;

/** The regular expression (source text) of every duration text {@link parseDuration} accepts, for JSON Schemas. */
export const DURATION_PATTERN = DURATION_TEXT.source;

/**
 * Reads a duration as whole milliseconds: a non-negative number is milliseconds already; text is one or more
 * `<number><unit>` parts with units `ms`, `s`, `m`, `h` (`200ms`, `5s`, `2m`, `1h`, `1m30s`) or a bare number of
 * milliseconds. Throws `SluiceError` `INVALID_DURATION` otherwise.
 */
export function parseDuration(value: unknown): number {
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0) return Math.round(value);
  if (typeof value === 'string' && DURATION_TEXT.test(value)) {
    const text = value.trim();
    if (/^\d+(?:\.\d+)?$/.test(text)) return Math.round(Number(text));
    let total = 0;
    for (const [, amount, unit] of text.matchAll(DURATION_PART))
      total += Number(amount) * (MS_PER_UNIT[unit!] ?? 0);
    return Math.round(total);
  }
  throw new SluiceError(
    'INVALID_DURATION',
    `expected a duration (milliseconds as a number, or text like \`200ms\`, \`5s\`, \`2m\`, \`1h\`), got ${describeValue(value)}`,
  );
}
