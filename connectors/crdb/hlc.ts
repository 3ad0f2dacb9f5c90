import { Decimal } from '../../runtime/decimal.js';
import { SluiceError } from '../../runtime/errors.js';

/** `<wall nanos>.<logical, 10 digits>`, optionally followed by the `?` old versions add to synthetic timestamps. */
const HLC_TEXT = /^(0|[1-9]\d{0,18})\.(\d{10})\??$/;
const MAX_WALL = 9_223_372_036_854_775_807n;
const MAX_LOGICAL = 2_147_483_647;
const NANOS_PER_MS = 1_000_000n;

/**
 * A CockroachDB hybrid-logical-clock timestamp: the version of a change (`updated`, `mvcc_timestamp`,
 * `source.ts_hlc`) or a resolved timestamp. Orders as (wall nanoseconds, logical counter). The wall part has 19
 * digits, so it is a `bigint`, never a `number`.
 *
 * The text form `1747243394200039000.0000000000` is also a decimal number that orders like the HLC itself (the
 * logical part is fixed at 10 digits and stays below 10^10), so {@link Hlc.toDecimal} can go into a Postgres
 * `numeric` version column and be compared there.
 */
export class Hlc {
  /** Wall time in nanoseconds since the Unix epoch. */
  readonly wallNanos: bigint;
  /** Logical counter, ordering events with the same wall time. */
  readonly logical: number;
  /** The canonical text, when it was parsed from it (most HLCs are only read and written back). */
  #text: string | undefined;

  /** Builds an HLC from its parts; throws `CRDB_HLC_INVALID` when either is out of CockroachDB's range. */
  constructor(wallNanos: bigint, logical: number) {
    if (wallNanos < 0n || wallNanos > MAX_WALL) {
      throw new SluiceError(
        'CRDB_HLC_INVALID',
        `expected an HLC wall time between 0 and ${MAX_WALL} nanoseconds, got ${wallNanos}`,
      );
    }
    if (!Number.isInteger(logical) || logical < 0 || logical > MAX_LOGICAL) {
      throw new SluiceError(
        'CRDB_HLC_INVALID',
        `expected an HLC logical counter between 0 and ${MAX_LOGICAL}, got ${logical}`,
      );
    }
    this.wallNanos = wallNanos;
    this.logical = logical;
  }

  /** Whether `value` is an HLC in text form (what {@link Hlc.parse} accepts). */
  static isText(value: unknown): value is string {
    return typeof value === 'string' && HLC_TEXT.test(value);
  }

  /**
   * Parses the text form `"<wall nanos>.<logical, 10 digits>"`; a trailing `?` (synthetic timestamp, old versions)
   * is accepted and dropped. Throws a `SluiceError` with code `CRDB_HLC_INVALID` on anything else.
   */
  static parse(text: string): Hlc {
    const match = HLC_TEXT.exec(text);
    if (!match) {
      const shown = text.length > 60 ? `${text.slice(0, 60)}…` : text;
      throw new SluiceError(
        'CRDB_HLC_INVALID',
        `expected an HLC timestamp "<wall nanos>.<10-digit logical>" such as "1747243394200039000.0000000000", got ${JSON.stringify(shown)}`,
      );
    }
    const hlc = new Hlc(BigInt(match[1]!), Number(match[2]!));
    if (!text.endsWith('?')) hlc.#text = text;
    return hlc;
  }

  /** Orders two HLCs by wall time, then logical counter: negative, zero or positive, for `Array.prototype.sort`. */
  static compare(this: void, a: Hlc, b: Hlc): -1 | 0 | 1 {
    if (a.wallNanos !== b.wallNanos) return a.wallNanos < b.wallNanos ? -1 : 1;
    if (a.logical !== b.logical) return a.logical < b.logical ? -1 : 1;
    return 0;
  }

  /** This HLC compared with `other` (see {@link Hlc.compare}). */
  compareTo(other: Hlc): -1 | 0 | 1 {
    return Hlc.compare(this, other);
  }

  /** True when both name the same instant. */
  equals(other: unknown): boolean {
    return other instanceof Hlc && Hlc.compare(this, other) === 0;
  }

  /** Wall time in milliseconds since the epoch (truncated), the record's `sourceTimeMs`. */
  get wallTimeMs(): number {
    return Number(this.wallNanos / NANOS_PER_MS);
  }

  /** The canonical text form, exactly as CockroachDB writes it (without any `?`). */
  toString(): string {
    return (this.#text ??= `${this.wallNanos}.${String(this.logical).padStart(10, '0')}`);
  }

  /** Serialises as the canonical text form. */
  toJSON(): string {
    return this.toString();
  }

  /** The same digits as an exact decimal, for `numeric` version columns: numeric order equals HLC order. */
  toDecimal(): Decimal {
    return new Decimal(this.toString());
  }
}
