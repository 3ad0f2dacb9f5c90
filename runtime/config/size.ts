import { SluiceError } from '../errors.js';
import { describeValue } from './describe-value.js';

const BYTES_PER_UNIT: Readonly<Record<string, number>> = {
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
  tib: 1024 ** 4,
};

const SIZE_TEXT = /^\s*(\d+(?:\.\d+)?)\s*([kKmMgGtT]i?[bB]|[bB])?\s*$/;

/** The regular expression (source text) of every size text {@link parseSize} accepts, for JSON Schemas. */
export const SIZE_PATTERN = SIZE_TEXT.source;

/**
 * Reads a size as whole bytes: a non-negative number is bytes already; text is a number with an optional unit,
 * decimal (`B`, `KB`, `MB`, `GB`, `TB`: powers of 1000) or binary (`KiB`, `MiB`, `GiB`, `TiB`: powers of 1024),
 * such as `512KiB`, `8MiB`, `10MB`. Throws `SluiceError` `INVALID_SIZE` otherwise.
 */
export function parseSize(value: unknown): number {
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0) return Math.round(value);
  const match = typeof value === 'string' ? SIZE_TEXT.exec(value) : null;
  if (match) return Math.round(Number(match[1]) * (BYTES_PER_UNIT[(match[2] ?? 'b').toLowerCase()] ?? 1));
  throw new SluiceError(
    'INVALID_SIZE',
    `expected a size (bytes as a number, or text like \`512KiB\`, \`8MiB\`, \`1GiB\`, \`10MB\`), got ${describeValue(value)}`,
  );
}
