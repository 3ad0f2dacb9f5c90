import { Decimal } from '../../runtime/decimal.js';
import type { ChangeRecord, Value } from '../../runtime/record.js';
import type { ColumnTypeInfo } from './value-encoding.js';

const LSN = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/;
const DECIMAL = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/;

/**
 * A change's version for newer-wins writes, as exact decimal text without exponent. Versions are stored in a
 * `numeric` column (exact for every form below, compared numerically by Postgres):
 * - numbers, `bigint`, {@link Decimal} and numeric text as they are (a CockroachDB HLC
 *   `"1747243394200039000.0000000000"` keeps all its digits);
 * - a Postgres LSN `"16/B374D848"` as its 64-bit position;
 * - a `Date`, or text that parses as a date, as milliseconds since the epoch.
 * Returns undefined when the value is missing or is none of these.
 */
export function versionOf(value: Value | undefined): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'number') return Number.isFinite(value) ? plainDecimal(String(value)) : undefined;
  if (value instanceof Decimal) return plainDecimal(value.text);
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? undefined : String(value.getTime());
  if (typeof value !== 'string') return undefined;
  const lsn = LSN.exec(value);
  if (lsn) return ((BigInt(`0x${lsn[1]}`) << 32n) | BigInt(`0x${lsn[2]}`)).toString();
  if (DECIMAL.test(value)) return plainDecimal(value);
  const time = Date.parse(value);
  return Number.isNaN(time) ? undefined : String(time);
}

/** Reads a field path such as `source.lsn` or `after.updated_at` from a record. */
export function readPath(record: ChangeRecord, path: readonly string[]): Value | undefined {
  let current: unknown = record;
  for (const part of path) {
    if (
      current === null ||
      typeof current !== 'object' ||
      current instanceof Date ||
      current instanceof Decimal
    )
      return undefined;
    current = (current as Record<string, unknown>)[part];
  }
  return current as Value | undefined;
}

/** Compares two versions from {@link versionOf}: negative, zero or positive. */
export function compareVersions(a: string, b: string): number {
  const negativeA = a.startsWith('-');
  const negativeB = b.startsWith('-');
  if (negativeA !== negativeB) return negativeA ? -1 : 1;
  const magnitude = compareMagnitude(negativeA ? a.slice(1) : a, negativeB ? b.slice(1) : b);
  return negativeA ? -magnitude : magnitude;
}

/** A version as text for the version column: an LSN for `pg_lsn`, a timestamp for date/time columns, else the decimal. */
export function encodeVersion(version: string, column: ColumnTypeInfo): string {
  if (column.type === 'pg_lsn') {
    const position = BigInt(version.split('.')[0]!);
    return `${(position >> 32n).toString(16).toUpperCase()}/${(position & 0xffffffffn).toString(16).toUpperCase()}`;
  }
  if (column.category === 'D') return new Date(Number(version)).toISOString();
  return version;
}

function compareMagnitude(a: string, b: string): number {
  const [intA = '', fracA = ''] = a.split('.');
  const [intB = '', fracB = ''] = b.split('.');
  if (intA.length !== intB.length) return intA.length - intB.length;
  if (intA !== intB) return intA < intB ? -1 : 1;
  const width = Math.max(fracA.length, fracB.length);
  const paddedA = fracA.padEnd(width, '0');
  const paddedB = fracB.padEnd(width, '0');
  return paddedA === paddedB ? 0 : paddedA < paddedB ? -1 : 1;
}

/** Decimal text without exponent and without leading zeros in the integer part: `1.5e3` → `1500`. */
function plainDecimal(text: string): string | undefined {
  const match = DECIMAL.exec(text);
  if (!match) return undefined;
  const [, sign = '', integer = '', fraction = '', exponentText] = match;
  let digits = integer + fraction;
  let point = integer.length + Number(exponentText ?? 0);
  if (point <= 0) {
    digits = '0'.repeat(1 - point) + digits;
    point = 1;
  } else if (point > digits.length) digits = digits.padEnd(point, '0');
  const whole = digits.slice(0, point).replace(/^0+(?=\d)/, '');
  const rest = digits.slice(point);
  const plain = rest.length > 0 ? `${whole}.${rest}` : whole;
  return sign === '-' && /[1-9]/.test(plain) ? `-${plain}` : plain;
}
